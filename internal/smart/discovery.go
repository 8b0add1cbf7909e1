package smart

import (
	"encoding/json"
	"net/http"
)

// scopesSupported is what discovery advertises: the non-resource scopes
// and the resource scope forms.
var scopesSupported = append(append([]string{}, nonResource...),
	"patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read", "user/*.read", "system/*.read")

// smartConfiguration serves SMART's discovery document
// (SMART App Launch 2.0, conformance.html, "Using .well-known"). It is
// relative to the FHIR base, so it is served both there and at the root.
func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	b := s.cfg.BaseURL
	doc := map[string]any{
		"issuer":                                b,
		"jwks_uri":                              b + "/oauth/jwks",
		"authorization_endpoint":                b + "/oauth/authorize",
		"token_endpoint":                        b + "/oauth/token",
		"introspection_endpoint":                b + "/oauth/introspect",
		"revocation_endpoint":                   b + "/oauth/revoke",
		"userinfo_endpoint":                     b + "/oauth/userinfo",
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"scopes_supported":                 scopesSupported,
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities": []string{
			"launch-ehr", "launch-standalone", "authorize-post",
			"client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
			"sso-openid-connect", "context-banner", "context-ehr-patient", "context-ehr-encounter",
			"context-standalone-patient", "permission-offline", "permission-online",
			"permission-patient", "permission-user", "permission-v1", "permission-v2",
		},
	}
	writeJSONCached(w, doc)
}

// openIDConfiguration serves OpenID Connect discovery for the id tokens
// (OpenID Connect Discovery 1.0 §3).
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	b := s.cfg.BaseURL
	writeJSONCached(w, map[string]any{
		"issuer":                                b,
		"authorization_endpoint":                b + "/oauth/authorize",
		"token_endpoint":                        b + "/oauth/token",
		"jwks_uri":                              b + "/oauth/jwks",
		"userinfo_endpoint":                     b + "/oauth/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"scopes_supported":                      []string{"openid", "fhirUser", "profile", "offline_access"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", "name", "preferred_username"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

// writeJSONCached writes a public JSON document that may be cached briefly.
func writeJSONCached(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	json.NewEncoder(w).Encode(v)
}
