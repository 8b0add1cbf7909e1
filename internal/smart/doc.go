// Package smart is OpenChart's OAuth 2.0 authorization server for SMART
// App Launch 2.0 (https://hl7.org/fhir/smart-app-launch/): discovery, the
// authorization code flow with PKCE (RFC 7636), the patient picker and the
// consent screen, EHR and standalone launch, refresh tokens rotated on every
// use, token introspection (RFC 7662) and revocation (RFC 7009), and SMART
// Backend Services (client_credentials with a JWT client assertion, RFC
// 7523). It also authenticates the bearer tokens of the FHIR API
// (Server.Authenticate).
//
// Everything it keeps (clients, signing keys, pending requests, codes,
// grants, tokens, used assertion ids) is server state in the store
// (store.Item), so any node of a cluster can serve any step. Tokens are
// opaque random strings; the store keeps their SHA-256 hashes only. JWS,
// JWK and JWT handling (id tokens, client assertions, the JWKS) is
// go-jose's. docs/SMART.md describes the endpoints and flows.
package smart
