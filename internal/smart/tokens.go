package smart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// grantDoc is what a user (or, for backend services, an administrator's
// registration) granted a client: the item oauth-grant/<id>, owned by the
// user id (the client id for system grants). Its id is the family of every
// token issued under it, so reuse of a rotated refresh token revokes them
// all at once (DeleteOwned).
type grantDoc struct {
	ID        string           `json:"id"`
	ClientID  string           `json:"clientId"`
	UserID    string           `json:"userId,omitempty"`
	SessionID string           `json:"sessionId,omitempty"` // online_access: the session it lives with
	Principal access.Principal `json:"principal"`
	Scopes    []string         `json:"scopes"`
	Patient   string           `json:"patient,omitempty"`
	Encounter string           `json:"encounter,omitempty"`
	// NeedBanner is SMART's need_patient_banner: false when the EHR shows
	// the patient around the app (EHR launch), true otherwise.
	NeedBanner bool      `json:"needBanner,omitempty"`
	Nonce      string    `json:"nonce,omitempty"`
	AuthTime   time.Time `json:"authTime,omitzero"`
	Created    time.Time `json:"created"`
}

// offline reports whether the grant carries offline_access, online whether
// it carries online_access (refresh tokens live with the user's session).
func (g *grantDoc) offline() bool { return has(g.Scopes, "offline_access") }
func (g *grantDoc) online() bool  { return !g.offline() && has(g.Scopes, "online_access") }

// tokenDoc is an access token: the item oauth-token/<sha256 of the token>,
// owned by its grant. It carries the principal so that authenticating a
// request is one lookup.
type tokenDoc struct {
	GrantID   string           `json:"grantId"`
	ClientID  string           `json:"clientId"`
	Principal access.Principal `json:"principal"`
	Scopes    []string         `json:"scopes"`
	Issued    time.Time        `json:"issued"`
	Expires   time.Time        `json:"expires"`
}

// refreshDoc is a refresh token: oauth-refresh/<sha256>, owned by its
// grant. A used one is kept (Used) until it expires, to recognise reuse.
type refreshDoc struct {
	GrantID string    `json:"grantId"`
	Used    bool      `json:"used,omitempty"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

var errInvalidToken = errors.New("the access token is invalid, expired or revoked")

// Authenticate finds the principal of a FHIR API request from its bearer
// token (RFC 6750): nil, nil without an Authorization header; an error for
// a header that is not a valid, unexpired, unrevoked bearer token. Plug it
// into fhirhttp.Options.Authenticate.
func (s *Server) Authenticate(r *http.Request) (*access.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, errors.New("the Authorization header must be: Bearer <access token>")
	}
	t, err := s.lookupToken(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	return clonePrincipal(t.Principal), nil
}

func clonePrincipal(p access.Principal) *access.Principal {
	p.Roles = slices.Clone(p.Roles)
	p.Patients = slices.Clone(p.Patients)
	p.Scopes = slices.Clone(p.Scopes)
	p.BreakGlass = nil
	return &p
}

// lookupToken returns an access token's document, from the cache when it
// was read less than CacheTTL ago. Revocations through this Server drop
// their entries; a revocation on another node is seen here within CacheTTL.
func (s *Server) lookupToken(ctx context.Context, tok string) (*tokenDoc, error) {
	key := hashToken(tok)
	now := s.now()
	if s.cfg.CacheTTL > 0 {
		s.mu.Lock()
		c, ok := s.cache[key]
		s.mu.Unlock()
		if ok && now.Sub(c.fetched) < s.cfg.CacheTTL && now.Before(c.tok.Expires) {
			return c.tok, nil
		}
	}
	var t tokenDoc
	if _, err := getDoc(ctx, s.cfg.Store, kindToken, key, &t); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, errInvalidToken
		}
		return nil, err
	}
	if !now.Before(t.Expires) {
		return nil, errInvalidToken
	}
	if s.cfg.CacheTTL > 0 {
		s.mu.Lock()
		if len(s.cache) > 50000 {
			clear(s.cache)
		}
		s.cache[key] = cached{tok: &t, fetched: now}
		s.mu.Unlock()
	}
	return &t, nil
}

// dropCached forgets cached tokens matching pred.
func (s *Server) dropCached(pred func(*tokenDoc) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.cache {
		if pred(c.tok) {
			delete(s.cache, k)
		}
	}
}

// deleteGrant revokes a grant and every token issued under it.
func deleteGrant(ctx context.Context, tx store.Tx, grantID string) error {
	if _, err := tx.DeleteOwned(ctx, kindToken, grantID); err != nil {
		return err
	}
	if _, err := tx.DeleteOwned(ctx, kindRefresh, grantID); err != nil {
		return err
	}
	return tx.DeleteItem(ctx, kindGrant, grantID)
}

// issued is what issueTokens created, for the token response.
type issued struct {
	access, refresh, idToken string
	expires                  time.Time
}

// issueTokens stores a new access token (and a refresh token when the grant
// allows one) for g in tx, and signs an id token when asked. It also
// stores g itself (gVersion 0 for a new grant), with the expiry of its
// longest-lived token.
func (s *Server) issueTokens(ctx context.Context, tx store.Tx, g *grantDoc, gVersion int64, withIDToken bool) (*issued, error) {
	return s.issueTokensTTL(ctx, tx, g, gVersion, withIDToken, s.cfg.AccessTTL)
}

func (s *Server) issueTokensTTL(ctx context.Context, tx store.Tx, g *grantDoc, gVersion int64, withIDToken bool, ttl time.Duration) (*issued, error) {
	now := s.now().UTC()
	out := &issued{access: randomToken(), expires: now.Add(ttl)}
	p := g.Principal
	p.ClientID, p.Scopes, p.Patient, p.Source = g.ClientID, g.Scopes, g.Patient, ""
	t := tokenDoc{GrantID: g.ID, ClientID: g.ClientID, Principal: p, Scopes: g.Scopes, Issued: now, Expires: out.expires}
	if err := putDoc(ctx, tx, kindToken, hashToken(out.access), g.ID, 0, t.Expires, t); err != nil {
		return nil, err
	}
	grantExpires := out.expires
	if g.UserID != "" && (g.offline() || g.online()) {
		out.refresh = randomToken()
		exp := now.Add(s.cfg.RefreshTTL)
		if g.online() {
			exp = now.Add(min(s.cfg.RefreshTTL, 12*time.Hour))
		}
		rd := refreshDoc{GrantID: g.ID, Issued: now, Expires: exp}
		if err := putDoc(ctx, tx, kindRefresh, hashToken(out.refresh), g.ID, 0, exp, rd); err != nil {
			return nil, err
		}
		grantExpires = exp
	}
	if err := putDoc(ctx, tx, kindGrant, g.ID, grantOwner(g), gVersion, grantExpires, g); err != nil {
		return nil, err
	}
	if withIDToken && has(g.Scopes, access.ScopeOpenID) && g.UserID != "" {
		var err error
		if out.idToken, err = s.idToken(g, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func grantOwner(g *grantDoc) string {
	if g.UserID != "" {
		return g.UserID
	}
	return g.ClientID
}

// tokenResponse is the body of a successful token response (RFC 6749 §5.1
// with SMART's launch context, scopes-and-launch-context.html).
func (s *Server) tokenResponse(g *grantDoc, is *issued) map[string]any {
	resp := map[string]any{
		"access_token": is.access,
		"token_type":   "Bearer",
		"expires_in":   int(is.expires.Sub(s.now()).Round(time.Second) / time.Second),
		"scope":        strings.Join(g.Scopes, " "),
	}
	if is.refresh != "" {
		resp["refresh_token"] = is.refresh
	}
	if is.idToken != "" {
		resp["id_token"] = is.idToken
	}
	if g.Patient != "" {
		resp["patient"] = g.Patient
		resp["need_patient_banner"] = g.NeedBanner
	}
	if g.Encounter != "" {
		resp["encounter"] = g.Encounter
	}
	if s.cfg.StyleURL != "" && g.UserID != "" {
		resp["smart_style_url"] = s.cfg.StyleURL
	}
	return resp
}

// idToken signs an OpenID Connect id token for the grant's user
// (OpenID Connect Core §2; SMART's fhirUser claim, an absolute URL).
func (s *Server) idToken(g *grantDoc, now time.Time) (string, error) {
	claims := map[string]any{
		"iss": s.cfg.BaseURL,
		"sub": g.UserID,
		"aud": g.ClientID,
		"iat": now.Unix(),
		"exp": now.Add(s.cfg.AccessTTL).Unix(),
	}
	if !g.AuthTime.IsZero() {
		claims["auth_time"] = g.AuthTime.Unix()
	}
	if g.Nonce != "" {
		claims["nonce"] = g.Nonce
	}
	if has(g.Scopes, access.ScopeFHIRUser) && g.Principal.FHIRUser != "" {
		claims["fhirUser"] = s.FHIRBase() + "/" + g.Principal.FHIRUser
	}
	if has(g.Scopes, access.ScopeProfile) {
		claims["preferred_username"] = g.Principal.Username
	}
	return s.keys.sign(claims)
}

// tokenEntry is the audit entry of tokens issued or revoked under a grant:
// a login (or logout) of the grant's principal through its client.
func tokenEntry(g *grantDoc, interaction, desc string) []*audit.Entry {
	p := g.Principal
	p.ClientID, p.Patient = g.ClientID, g.Patient
	e := &audit.Entry{Action: audit.ActionOf(interaction), Interaction: interaction, Agent: audit.AgentOf(&p), OutcomeDesc: desc}
	if g.Patient != "" {
		e.Patients = []string{g.Patient}
	}
	return []*audit.Entry{e}
}

// securityEntry is an audit entry of an administrative action by the
// principal of ctx (an operator command, an administrator).
func (s *Server) securityEntry(ctx context.Context, interaction, desc, patient string) []*audit.Entry {
	e := &audit.Entry{Action: audit.ActionOf(interaction), Interaction: interaction,
		Agent: audit.AgentOf(access.From(ctx)), OutcomeDesc: desc}
	if patient != "" {
		e.Patients = []string{patient}
	}
	return []*audit.Entry{e}
}

const auditPermissionChange = audit.InteractionPermissionChange

// RevokeUser revokes every grant of a user, and so every token the user's
// apps hold: for an administrator disabling an account, or signing a user
// out everywhere. It reports how many grants there were. Recorded as a
// logout by the principal of ctx.
func (s *Server) RevokeUser(ctx context.Context, userID string) (int, error) {
	var ids []string
	after := ""
	for {
		items, err := s.cfg.Store.ListItems(ctx, store.ItemQuery{Kind: kindGrant, Owner: userID, After: after, Limit: 100})
		if err != nil {
			return 0, err
		}
		for _, it := range items {
			ids = append(ids, it.Key)
		}
		if len(items) < 100 {
			break
		}
		after = items[len(items)-1].Key
	}
	if len(ids) == 0 {
		return 0, nil
	}
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if err := deleteGrant(ctx, tx, id); err != nil {
				return err
			}
		}
		e := s.securityEntry(ctx, audit.InteractionLogout, fmt.Sprintf("OAuth grants of user %s revoked: %d", userID, len(ids)), "")
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return 0, err
	}
	s.dropCached(func(t *tokenDoc) bool { return t.Principal.UserID == userID })
	return len(ids), nil
}
