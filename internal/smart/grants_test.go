package smart_test

import (
	"net/http"
	"testing"

	"github.com/openchart/openchart/internal/errs"
)

func TestListAndRevokeGrant(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		var tokens []string
		for _, seed := range []string{"g1", "g2"} {
			verifier, challenge := pkce(seed)
			back := b.authorize(e.authorizeParams(c.ID, "launch/patient offline_access patient/*.rs", challenge), "")
			_, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
			tokens = append(tokens, tok["access_token"].(string))
		}
		u, err := e.auth.UserByName(operator(), "ada")
		if err != nil {
			t.Fatal(err)
		}
		gs, err := e.srv.ListGrants(operator(), u.ID)
		if err != nil || len(gs) != 2 {
			t.Fatalf("ListGrants = %d, %v; want 2", len(gs), err)
		}
		g := gs[0]
		if g.ClientID != c.ID || g.ClientName != c.Name || !g.Offline || g.Authorized.IsZero() || g.LastUsed.IsZero() {
			t.Errorf("grant = %+v", g)
		}
		if len(g.Described) != len(g.Scopes) || g.Described[0] == "" {
			t.Errorf("described = %q for %q", g.Described, g.Scopes)
		}
		if err := e.srv.RevokeGrant(operator(), "someone-else", g.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("RevokeGrant of another user's grant = %v, want not found", err)
		}
		if err := e.srv.RevokeGrant(operator(), u.ID, "no-such-grant"); !errs.Is(err, errs.NotFound) {
			t.Errorf("RevokeGrant of an unknown grant = %v, want not found", err)
		}
		if err := e.srv.RevokeGrant(operator(), u.ID, g.ID); err != nil {
			t.Fatalf("RevokeGrant: %v", err)
		}
		left, err := e.srv.ListGrants(operator(), u.ID)
		if err != nil || len(left) != 1 || left[0].ID == g.ID {
			t.Fatalf("after revoke: %+v, %v", left, err)
		}
		var revoked, kept int
		for _, at := range tokens {
			switch st, _ := e.fhirGet(at, "Patient/p1"); st {
			case http.StatusUnauthorized:
				revoked++
			case http.StatusOK:
				kept++
			default:
				t.Errorf("status %d", st)
			}
		}
		if revoked != 1 || kept != 1 {
			t.Errorf("revoked %d, kept %d tokens; want 1 and 1", revoked, kept)
		}
	})
}
