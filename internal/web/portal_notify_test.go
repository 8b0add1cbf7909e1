package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/notify"
)

// TestPortalNotifications: the account page's notifications form shows
// what is saved and that the clinic has not set up email; a bad address
// or choices without agreeing show the message by the field and save
// nothing; a good one is saved; a forged form and staff change nothing.
func TestPortalNotifications(t *testing.T) { onStores(t, testPortalNotifications) }

func testPortalNotifications(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.patients()
	e.user("alice", auth.RolePhysician)
	doc := e.browser()
	doc.login("alice")
	p := portalActivate(t, e, "zoe.m", portalInvite(t, doc, "zoe", "zoe.m", ""), "1984-03-27")
	zoe, err := e.auth.UserByName(operator(), "zoe.m")
	if err != nil {
		t.Fatal(err)
	}
	saved := func() *notify.Prefs {
		t.Helper()
		pr, err := e.doors.Notify.Prefs(operator(), zoe.ID)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}

	r := p.get("/portal/account")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<h2 id="h-notif">Notifications</h2>`, "The clinic has not set up email yet",
		"Email notifications are <strong>off</strong>", `<label for="email">Email address</label>`,
		`<label for="ev-message">A new message from my care team</label>`, `<label for="ev-result">A new test result</label>`,
		`<label for="consent">I agree to receive these emails at this address.</label>`, "never include test names")
	if strings.Contains(r.body, `name="events" value="message" checked`) {
		t.Error("a choice is ticked before the user made any")
	}

	// A bad address: the form again, the message by the field, nothing saved.
	r = p.post("/portal/account/notifications", url.Values{"email": {"zoe at example"}, "consent": {"yes"}, "events": {"message", "result"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Your notification choices were not saved", `id="email-error">Enter an email address such as name@example.org.`,
		`aria-invalid="true"`, `value="zoe at example"`, `id="ev-result" name="events" value="result" checked`)
	if pr := saved(); pr.Email != "" || pr.Active() {
		t.Fatalf("a refused form saved %+v", pr)
	}
	// Choices without agreeing.
	r = p.post("/portal/account/notifications", url.Values{"email": {"zoe@example.org"}, "events": {"result"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="consent-error">Tick the box to agree to notification emails`)
	if saved().Active() {
		t.Fatal("saved without consent")
	}

	// A good one.
	r = p.post("/portal/account/notifications", url.Values{"email": {" zoe@example.org "}, "consent": {"yes"}, "events": {"message", "reminder"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.location() != "/portal/account#h-notif" {
		t.Errorf("redirect to %q", r.location())
	}
	pr := saved()
	if pr.Email != "zoe@example.org" || !pr.Wants(notify.EventMessage) || !pr.Wants(notify.EventReminder) || pr.Wants(notify.EventResult) {
		t.Fatalf("saved %+v", pr)
	}
	r = p.get("/portal/account")
	wantBody(t, r, html.EscapeString("Your notification choices are saved. The clinic has not set up email yet"),
		"Email notifications are <strong>on</strong>", `value="zoe@example.org"`,
		`id="ev-message" name="events" value="message" checked`, `id="consent" name="consent" value="yes" checked`)
	if strings.Contains(r.body, `value="result" checked`) {
		t.Error("an unchosen event is ticked")
	}

	// A form from elsewhere (no valid CSRF token) changes nothing.
	r = p.post("/portal/account/notifications", url.Values{"csrf": {"forged"}, "email": {"eve@example.org"}, "consent": {"yes"}, "events": {"message"}})
	wantStatus(t, r, http.StatusForbidden)
	if saved().Email != "zoe@example.org" {
		t.Fatal("a forged form changed the address")
	}
	// Staff have no portal preferences.
	doc.get("/")
	wantStatus(t, doc.post("/portal/account/notifications", url.Values{"email": {"alice@example.org"}, "consent": {"yes"}}), http.StatusForbidden)

	// Everything off.
	r = p.post("/portal/account/notifications", url.Values{"email": {""}})
	wantStatus(t, r, http.StatusSeeOther)
	if pr := saved(); pr.Active() || pr.Email != "" {
		t.Fatalf("after turning off: %+v", pr)
	}
	wantBody(t, p.get("/portal/account"), "Email notifications are <strong>off</strong>")
}
