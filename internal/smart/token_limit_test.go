package smart_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/smart"
)

// TestTokenLimit: failed client authentications and refused grants from
// one address count; malformed requests and successes do not; at the
// limit every request from the address gets 429 invalid_request with
// Retry-After.
func TestTokenLimit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		rs, secret := e.register(smart.ClientSpec{Name: "Resource server", Scopes: []string{"user/*.rs"}})
		forwarded := "" // X-Forwarded-For, as a proxy in front would set it
		post := func(v url.Values, user, pass string) (int, map[string]any, http.Header) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, e.url+"/oauth/token", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if forwarded != "" {
				req.Header.Set("X-Forwarded-For", forwarded)
			}
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			st, out := resp.StatusCode, map[string]any{}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return st, out, resp.Header
		}
		malformed := url.Values{"client_id": {c.ID}}
		badRefresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}, "client_id": {c.ID}}
		badClient := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}
		for range smart.TokenLimit.Max + 5 {
			if st, out, _ := post(malformed, "", ""); st != http.StatusBadRequest || out["error"] != "invalid_request" {
				t.Fatalf("malformed request: %d %v", st, out)
			}
		}
		fails := 0
		for fails+2 < smart.TokenLimit.Max {
			if st, out, _ := post(badRefresh, "", ""); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("failure %d (refresh): %d %v", fails, st, out)
			}
			fails++
			if st, out, _ := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, rs.ID, "wrong secret"); st != http.StatusUnauthorized || out["error"] != "invalid_client" {
				t.Fatalf("failure %d (client): %d %v", fails, st, out)
			}
			fails++
		}
		// A success does not count.
		b := e.browser("ada")
		verifier, challenge := pkce("lim")
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient openid fhirUser patient/*.rs", challenge), "")
		if st, tok := e.exchange(c.ID, back.Query().Get("code"), verifier); st != http.StatusOK || tok["access_token"] == nil {
			t.Fatalf("exchange below the limit: %d %v", st, tok)
		}
		for fails < smart.TokenLimit.Max {
			if st, out, _ := post(badRefresh, "", ""); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("failure %d: %d %v", fails, st, out)
			}
			fails++
		}
		for _, v := range []url.Values{badRefresh, badClient, malformed} {
			st, out, h := post(v, rs.ID, secret)
			if st != http.StatusTooManyRequests || out["error"] != "invalid_request" {
				t.Fatalf("at the limit: %d %v", st, out)
			}
			secs, err := strconv.Atoi(h.Get("Retry-After"))
			if err != nil || secs <= 0 || secs > int(smart.TokenLimit.Window.Seconds()) {
				t.Fatalf("Retry-After %q", h.Get("Retry-After"))
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
		}
		// Another client behind the same proxy is not limited; the limited
		// one, naming another address before the proxy's entry, still is.
		forwarded = "203.0.113.9"
		if st, out, _ := post(badRefresh, "", ""); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("another client behind the proxy: %d %v", st, out)
		}
		forwarded = "203.0.113.9, 127.0.0.1"
		if st, _, _ := post(badRefresh, "", ""); st != http.StatusTooManyRequests {
			t.Errorf("the limited client with an X-Forwarded-For of its own: %d, want 429", st)
		}
	})
}
