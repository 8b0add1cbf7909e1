package smart_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

// auditDescs returns the outcome texts of the entries of an interaction
// recorded for a client, in the order of recording.
func (e *env) auditDescs(interaction, clientID string) []string {
	e.t.Helper()
	page, err := e.app.Store.AuditRange(context.Background(), store.AuditQuery{Interactions: []string{interaction}, Count: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range page.Rows {
		en, err := r.Entry()
		if err != nil {
			e.t.Fatal(err)
		}
		if en.Agent.ClientID == clientID {
			out = append(out, en.OutcomeDesc)
		}
	}
	return out
}

// TestTokenExchangesAudited follows both exchanges of a grant through the
// token endpoint: each issue is audited under its grant type, a refused
// exchange issues nothing, and what a refusal wrote (a code marked used, a
// grant revoked) stays.
func TestTokenExchangesAudited(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		verifier, challenge := pkce("aud")
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient openid fhirUser offline_access patient/*.rs", challenge), "")
		st, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
		if st != http.StatusOK || tok["id_token"] == nil || tok["refresh_token"] == nil {
			t.Fatalf("code exchange: %d %v", st, tok)
		}
		st, tok2 := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {tok["refresh_token"].(string)}, "client_id": {c.ID}}, "", "")
		if st != http.StatusOK || tok2["access_token"] == nil {
			t.Fatalf("refresh: %d %v", st, tok2)
		}
		if tok2["id_token"] != nil {
			t.Errorf("a refresh signed an id token: %v", tok2)
		}
		issued := []string{"OAuth tokens issued (authorization_code)", "OAuth tokens issued (refresh_token)"}
		if got := e.auditDescs(audit.InteractionLogin, c.ID); len(got) != 2 || got[0] != issued[0] || got[1] != issued[1] {
			t.Fatalf("login entries = %q, want %q", got, issued)
		}

		// A wrong verifier is refused and uses the code up: the right one
		// presented next is a reuse, which revokes the grant.
		verifier, challenge = pkce("two")
		back = b.authorize(e.authorizeParams(c.ID, "launch/patient offline_access patient/*.rs", challenge), "")
		code := back.Query().Get("code")
		wrong, _ := pkce("xyz")
		if st, out := e.exchange(c.ID, code, wrong); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %v", st, out)
		}
		if st, out := e.exchange(c.ID, code, verifier); st != http.StatusBadRequest || out["error"] != "invalid_grant" ||
			out["error_description"] != "the code was already used" {
			t.Fatalf("the code after a refusal: %d %v", st, out)
		}
		if got := e.auditDescs(audit.InteractionLogin, c.ID); len(got) != 2 {
			t.Errorf("refused exchanges issued tokens: login entries %q", got)
		}
		if got := e.auditDescs(audit.InteractionLogout, c.ID); len(got) != 1 || got[0] != "authorization code reused: grant revoked" {
			t.Errorf("logout entries = %q, want the reused code's revocation", got)
		}
		// The first grant is untouched by the second one's revocation.
		if st, _ := e.fhirGet(tok2["access_token"].(string), "Patient/p1"); st != http.StatusOK {
			t.Errorf("the refreshed token of the other grant: %d, want 200", st)
		}
	})
}
