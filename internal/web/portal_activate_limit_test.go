package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/openchart/openchart/internal/auth"
)

// TestPortalActivationLimit: refused activations count per username
// (whatever the address) and per address (whatever the username); at
// either limit the page answers 429 with a readable message, even to
// the right details.
func TestPortalActivationLimit(t *testing.T) {
	onStores(t, func(t *testing.T, o envOptions) {
		o.proxies = 1
		e := newEnv(t, o)
		e.patients()
		e.user("alice", auth.RolePhysician)
		doc := e.browser()
		doc.login("alice")
		code := portalInvite(t, doc, "zoe", "zoe.m", "")
		from := func(addr string) *browser {
			b := e.browser()
			b.header = http.Header{"X-Forwarded-For": {addr}}
			b.get("/portal/activate")
			return b
		}
		form := func(username, birth string) url.Values {
			return url.Values{"username": {username}, "code": {code}, "birthdate": {birth},
				"password": {testPassword}, "confirm": {testPassword}}
		}
		limited := func(r response) {
			t.Helper()
			wantStatus(t, r, http.StatusTooManyRequests)
			wantBody(t, r, "Too many attempts to activate", `name="username"`)
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 || s > 15*60 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}
		// The username's limit (10 in 15 minutes), from ten addresses.
		for i := range 10 {
			r := from("10.0.1."+strconv.Itoa(i)).post("/portal/activate", form("Zoe.M", "1984-03-28"))
			wantStatus(t, r, http.StatusBadRequest)
			wantBody(t, r, "does not match our records")
		}
		limited(from("10.0.2.1").post("/portal/activate", form("zoe.m", "1984-03-27")))
		// The address's limit (20 in 15 minutes), across usernames.
		b := from("10.0.3.1")
		for i := range 20 {
			wantStatus(t, b.post("/portal/activate", form("nobody"+strconv.Itoa(i), "1984-03-27")), http.StatusBadRequest)
		}
		limited(b.post("/portal/activate", form("somebody", "1984-03-27")))
		// An X-Forwarded-For of the client's own before the proxy's entry
		// does not make it another address.
		limited(from("192.0.2.77, 10.0.3.1").post("/portal/activate", form("somebody", "1984-03-27")))
		// Other addresses and usernames are not affected.
		r := from("10.0.4.1").post("/portal/activate", form("somebody", "1984-03-27"))
		wantStatus(t, r, http.StatusBadRequest)
		// A form with field errors counts as refused too, and is shown.
		r = from("10.0.4.1").post("/portal/activate", url.Values{"username": {"somebody"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="code-error"`)
	})
}
