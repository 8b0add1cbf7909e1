package smart

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

const maxFormBytes = 64 << 10

// form parses an application/x-www-form-urlencoded POST body.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, oerr("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, oerr("invalid_request", "the body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			// RFC 6749 §3.1: parameters must not be repeated.
			return nil, oerr("invalid_request", "parameter "+k+" is repeated")
		}
	}
	return r.PostForm, nil
}

// token is the token endpoint (RFC 6749 §3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err == nil {
		var resp map[string]any
		switch gt := f.Get("grant_type"); gt {
		case "authorization_code":
			resp, err = s.exchangeCode(r, f)
		case "refresh_token":
			resp, err = s.refresh(r, f)
		case "client_credentials":
			resp, err = s.clientCredentials(r, f)
		case "":
			err = oerr("invalid_request", "grant_type is missing")
		default:
			err = oerr("unsupported_grant_type", "")
		}
		if err == nil {
			writeJSON(w, http.StatusOK, resp)
			return
		}
	}
	s.writeError(w, r, err)
}

// codeDoc is an authorization code: oauth-code/<sha256>, living 60 s. It
// is bound to the client, the redirect URI and the PKCE challenge, and is
// marked used at its first exchange.
type codeDoc struct {
	GrantID     string `json:"grantId"`
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri"`
	Challenge   string `json:"challenge"`
	Used        bool   `json:"used,omitempty"`
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (s *Server) exchangeCode(r *http.Request, f url.Values) (map[string]any, error) {
	ctx := r.Context()
	c, err := s.authenticateClient(ctx, r, f, true)
	if err != nil {
		return nil, err
	}
	code, verifier := f.Get("code"), f.Get("code_verifier")
	if code == "" || f.Get("redirect_uri") == "" || verifier == "" {
		return nil, oerr("invalid_request", "code, redirect_uri and code_verifier are required")
	}
	return s.redeem(ctx, "authorization_code", func(tx store.Tx) (redemption, error) {
		var cd codeDoc
		it, err := getDoc(ctx, tx, kindCode, hashToken(code), &cd)
		if errs.KindOf(err) == errs.NotFound {
			return redemption{refused: oerr("invalid_grant", "the code is invalid or expired")}, nil
		} else if err != nil {
			return redemption{}, err
		}
		if cd.ClientID != c.ID {
			return redemption{refused: oerr("invalid_grant", "the code is invalid or expired")}, nil
		}
		if cd.Used {
			// RFC 6749 §4.1.2: a code used twice revokes what it issued.
			return redemption{refused: oerr("invalid_grant", "the code was already used"), revoked: cd.GrantID},
				s.revokeGrantTx(ctx, tx, cd.GrantID, "authorization code reused: grant revoked")
		}
		cd.Used = true
		if err := putDoc(ctx, tx, kindCode, it.Key, "", it.Version, it.Expires, cd); err != nil {
			return redemption{}, err
		}
		// A refused code stays used: one guess per code.
		switch {
		case f.Get("redirect_uri") != cd.RedirectURI:
			return redemption{refused: oerr("invalid_grant", "redirect_uri does not match the authorization request")}, nil
		case !pkceMatches(verifier, cd.Challenge):
			return redemption{refused: oerr("invalid_grant", "code_verifier does not match the code challenge")}, nil
		}
		var g grantDoc
		git, err := getDoc(ctx, tx, kindGrant, cd.GrantID, &g)
		if errs.KindOf(err) == errs.NotFound {
			return redemption{refused: oerr("invalid_grant", "the code is invalid or expired")}, nil
		} else if err != nil {
			return redemption{}, err
		}
		return redemption{grant: &g, version: git.Version, idToken: true}, nil
	})
}

// redemption is what checking a presented code or refresh token in a
// transaction decided: the grant to issue tokens for (at its stored
// version), or a refusal, and a grant the check revoked.
type redemption struct {
	grant   *grantDoc
	version int64
	idToken bool // sign an id token too (the code exchange of an openid grant)
	refused *oauthError
	revoked string
}

// redeem runs one exchange of the token endpoint in a transaction: check
// decides, and unless it refused, tokens are issued for the grant and the
// issue is audited as "OAuth tokens issued (grantType)". A refusal commits
// what check wrote (a code marked used, a grant revoked) and is returned
// after the commit; the cached tokens of a revoked grant are forgotten
// once it is committed.
func (s *Server) redeem(ctx context.Context, grantType string, check func(tx store.Tx) (redemption, error)) (map[string]any, error) {
	var resp map[string]any
	var dec redemption
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		resp = nil
		var err error
		if dec, err = check(tx); err != nil || dec.refused != nil {
			return err
		}
		is, err := s.issueTokens(ctx, tx, dec.grant, dec.version, dec.idToken)
		if err != nil {
			return err
		}
		resp = s.tokenResponse(dec.grant, is)
		return tx.AppendAudit(ctx, tokenEntry(dec.grant, audit.InteractionLogin, "OAuth tokens issued ("+grantType+")"))
	})
	if err != nil {
		return nil, err
	}
	s.dropRevoked(dec.revoked)
	if dec.refused != nil {
		return nil, dec.refused
	}
	return resp, nil
}

// dropRevoked forgets the cached tokens of a grant revoked by a committed
// transaction (the transaction dropped them too, but a lookup may have
// cached them again before it committed).
func (s *Server) dropRevoked(grantID string) {
	if grantID != "" {
		s.dropCached(func(t *tokenDoc) bool { return t.GrantID == grantID })
	}
}

// pkceMatches checks a code verifier against an S256 challenge (RFC 7636
// §4.1 for the verifier's form, §4.6 for the comparison).
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// revokeGrantTx revokes a grant in tx and records it.
func (s *Server) revokeGrantTx(ctx context.Context, tx store.Tx, grantID, why string) error {
	var g grantDoc
	_, err := getDoc(ctx, tx, kindGrant, grantID, &g)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	if err := deleteGrant(ctx, tx, grantID); err != nil {
		return err
	}
	s.dropCached(func(t *tokenDoc) bool { return t.GrantID == grantID })
	return tx.AppendAudit(ctx, tokenEntry(&g, audit.InteractionLogout, why))
}

// refresh redeems a refresh token for new tokens (RFC 6749 §6). Refresh
// tokens rotate: each use stores a new one and marks the old one used; a
// used one presented again means it was stolen or replayed, and the whole
// grant is revoked (OAuth 2.0 Security BCP, refresh token rotation).
func (s *Server) refresh(r *http.Request, f url.Values) (map[string]any, error) {
	ctx := r.Context()
	c, err := s.authenticateClient(ctx, r, f, true)
	if err != nil {
		return nil, err
	}
	rt := f.Get("refresh_token")
	if rt == "" {
		return nil, oerr("invalid_request", "refresh_token is required")
	}
	var narrowTo []string
	if sc := f.Get("scope"); sc != "" {
		narrowTo = splitScopes(sc)
	}
	return s.redeem(ctx, "refresh_token", func(tx store.Tx) (redemption, error) {
		var rd refreshDoc
		it, err := getDoc(ctx, tx, kindRefresh, hashToken(rt), &rd)
		if errs.KindOf(err) == errs.NotFound {
			return redemption{refused: oerr("invalid_grant", "the refresh token is invalid, expired or revoked")}, nil
		} else if err != nil {
			return redemption{}, err
		}
		var g grantDoc
		git, err := getDoc(ctx, tx, kindGrant, rd.GrantID, &g)
		if errs.KindOf(err) == errs.NotFound || (err == nil && g.ClientID != c.ID) {
			return redemption{refused: oerr("invalid_grant", "the refresh token is invalid, expired or revoked")}, nil
		} else if err != nil {
			return redemption{}, err
		}
		if rd.Used {
			return redemption{refused: oerr("invalid_grant", "the refresh token is invalid, expired or revoked"), revoked: g.ID},
				s.revokeGrantTx(ctx, tx, g.ID, "rotated refresh token reused: grant revoked")
		}
		if ok, err := s.userStillAllowed(ctx, &g); err != nil {
			return redemption{}, err
		} else if !ok {
			return redemption{refused: oerr("invalid_grant", "the user's session or account has ended"), revoked: g.ID},
				s.revokeGrantTx(ctx, tx, g.ID, "refresh refused: session or account ended")
		}
		for _, sc := range narrowTo {
			if !slices.Contains(g.Scopes, sc) {
				return redemption{refused: oerr("invalid_scope", "a refresh may only narrow the granted scopes")}, nil
			}
		}
		if narrowTo != nil {
			g.Scopes = narrowTo
		}
		rd.Used = true
		if err := putDoc(ctx, tx, kindRefresh, it.Key, g.ID, it.Version, it.Expires, rd); err != nil {
			return redemption{}, err
		}
		return redemption{grant: &g, version: git.Version}, nil
	})
}

// userStillAllowed checks, at refresh, that the user still exists and is
// enabled, and for online_access that the session the grant was made in
// still lives.
func (s *Server) userStillAllowed(ctx context.Context, g *grantDoc) (bool, error) {
	if g.UserID == "" {
		return true, nil
	}
	u, err := s.cfg.Auth.GetUser(ctx, g.UserID)
	if errs.KindOf(err) == errs.NotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if u.Disabled {
		return false, nil
	}
	if !g.online() {
		return true, nil
	}
	sessions, err := s.cfg.Auth.ListSessions(ctx, g.UserID)
	if err != nil {
		return false, err
	}
	now := s.now()
	for _, se := range sessions {
		if se.ID == g.SessionID && now.Before(se.Expires) {
			return true, nil
		}
	}
	return false, nil
}

// clientCredentials issues a token to a backend service (SMART Backend
// Services, client_credentials with a JWT assertion; RFC 6749 §4.4).
func (s *Server) clientCredentials(r *http.Request, f url.Values) (map[string]any, error) {
	ctx := r.Context()
	if f.Get("client_assertion_type") == "" {
		return nil, oerr("invalid_client", "backend services authenticate with a signed JWT (client_assertion)")
	}
	c, err := s.authenticateClient(ctx, r, f, false)
	if err != nil {
		return nil, err
	}
	requested, err := parseScopes(splitScopes(f.Get("scope")))
	if err != nil {
		return nil, oerr("invalid_scope", err.Error())
	}
	if len(requested) == 0 {
		return nil, oerr("invalid_scope", "scope is required")
	}
	for _, sc := range requested {
		if sc.Res == nil || sc.Res.Context != "system" {
			return nil, oerr("invalid_scope", "backend services may request system/ scopes only")
		}
	}
	registered, err := parseScopes(c.Scopes)
	if err != nil {
		return nil, err
	}
	granted := grantable(requested, registered, func(scope) bool { return true })
	if len(granted) == 0 {
		return nil, oerr("invalid_scope", "none of the requested scopes is allowed to this client")
	}
	g := &grantDoc{ID: randomID(), ClientID: c.ID, Scopes: granted, Created: s.now().UTC(),
		Principal: access.Principal{Kind: access.Client, ClientID: c.ID}}
	var resp map[string]any
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		is, err := s.issueTokens(ctx, tx, g, 0, false)
		if err != nil {
			return err
		}
		resp = s.tokenResponse(g, is)
		return tx.AppendAudit(ctx, tokenEntry(g, audit.InteractionLogin, "OAuth token issued (client_credentials)"))
	})
	return resp, err
}

// authenticateClient authenticates the client of a token, introspection or
// revocation request (RFC 6749 §2.3): a JWT assertion (RFC 7523,
// private_key_jwt), a secret (HTTP Basic or client_secret in the body), or,
// when allowPublic, a public client naming itself with client_id.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, f url.Values, allowPublic bool) (*Client, error) {
	bad := oerr("invalid_client", "client authentication failed")
	if at := f.Get("client_assertion_type"); at != "" {
		if at != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, bad
		}
		c, err := s.verifyAssertion(ctx, f.Get("client_assertion"))
		if err != nil {
			return nil, err
		}
		if id := f.Get("client_id"); id != "" && id != c.ID {
			return nil, bad
		}
		return c, nil
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id == "" {
		return nil, bad
	}
	c, err := s.GetClient(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	switch {
	case secret != "":
		if !c.secretMatches(secret) {
			s.auditClientFailure(ctx, c.ID, "wrong client secret")
			return nil, bad
		}
	case !(allowPublic && c.Public):
		return nil, bad
	}
	return c, nil
}

// introspect is the introspection endpoint (RFC 7662) for confidential
// clients and resource servers.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := s.authenticateClient(ctx, r, f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok := f.Get("token")
	if tok == "" {
		s.writeError(w, r, oerr("invalid_request", "token is required"))
		return
	}
	inactive := map[string]any{"active": false}
	if t, err := s.lookupToken(ctx, tok); err == nil {
		writeJSON(w, http.StatusOK, introspection(t.Principal, t.ClientID, t.Scopes, t.Issued, t.Expires, s.FHIRBase()))
		return
	} else if err != errInvalidToken {
		s.writeError(w, r, err)
		return
	}
	var rd refreshDoc
	if _, err := getDoc(ctx, s.cfg.Store, kindRefresh, hashToken(tok), &rd); err == nil && !rd.Used {
		var g grantDoc
		if _, err := getDoc(ctx, s.cfg.Store, kindGrant, rd.GrantID, &g); err == nil {
			resp := introspection(g.Principal, g.ClientID, g.Scopes, rd.Issued, rd.Expires, s.FHIRBase())
			resp["token_type"] = "refresh_token"
			if g.Patient != "" {
				resp["patient"] = g.Patient
			}
			writeJSON(w, http.StatusOK, resp)
			return
		}
	}
	writeJSON(w, http.StatusOK, inactive)
}

func introspection(p access.Principal, clientID string, scopes []string, iat, exp time.Time, fhirBase string) map[string]any {
	resp := map[string]any{
		"active":     true,
		"scope":      strings.Join(scopes, " "),
		"client_id":  clientID,
		"token_type": "Bearer",
		"iat":        iat.Unix(),
		"exp":        exp.Unix(),
	}
	if p.UserID != "" {
		resp["sub"] = p.UserID
		resp["username"] = p.Username
	} else {
		resp["sub"] = clientID
	}
	if p.Patient != "" {
		resp["patient"] = p.Patient
	}
	if p.FHIRUser != "" {
		resp["fhirUser"] = fhirBase + "/" + p.FHIRUser
	}
	return resp
}

// revoke is the revocation endpoint (RFC 7009). Revoking either token of a
// grant revokes the grant: its access and refresh tokens all stop working.
// Unknown tokens, and tokens of other clients, are answered 200 too (§2.2).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.authenticateClient(ctx, r, f, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tok := f.Get("token")
	if tok == "" {
		s.writeError(w, r, oerr("invalid_request", "token is required"))
		return
	}
	var revoked string
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		revoked = ""
		key := hashToken(tok)
		var t tokenDoc
		_, err := getDoc(ctx, tx, kindToken, key, &t)
		if err == nil {
			if t.ClientID != c.ID {
				return nil
			}
			revoked = t.GrantID
			return s.revokeGrantTx(ctx, tx, t.GrantID, "OAuth grant revoked by its client")
		} else if errs.KindOf(err) != errs.NotFound {
			return err
		}
		var rd refreshDoc
		_, err = getDoc(ctx, tx, kindRefresh, key, &rd)
		if err == nil {
			var g grantDoc
			if _, err := getDoc(ctx, tx, kindGrant, rd.GrantID, &g); err != nil || g.ClientID != c.ID {
				return nil
			}
			revoked = rd.GrantID
			return s.revokeGrantTx(ctx, tx, rd.GrantID, "OAuth grant revoked by its client")
		} else if errs.KindOf(err) != errs.NotFound {
			return err
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.dropRevoked(revoked)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// userinfo answers who the token's user is (OpenID Connect Core §5.3) when
// openid was granted.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	p, err := s.Authenticate(r)
	if err != nil || p == nil || !has(p.Scopes, access.ScopeOpenID) || p.UserID == "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, oerr("invalid_token", "an access token with the openid scope is required"))
		return
	}
	info := map[string]any{"sub": p.UserID}
	if has(p.Scopes, access.ScopeFHIRUser) && p.FHIRUser != "" {
		info["fhirUser"] = s.FHIRBase() + "/" + p.FHIRUser
	}
	if has(p.Scopes, access.ScopeProfile) {
		info["preferred_username"] = p.Username
	}
	writeJSON(w, http.StatusOK, info)
}
