package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/schedule"
)

// portalViewport sets the tab's size: a phone (390×844, mobile) or a desktop.
type portalViewport struct {
	w, h   int64
	mobile bool
}

var (
	portalPhone   = portalViewport{390, 844, true}
	portalDesktop = portalViewport{1280, 900, false}
)

func (v portalViewport) Do(ctx context.Context) error {
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: v.w, Height: v.h, DeviceScaleFactor: 1, Mobile: v.mobile})
	return err
}

// portalShots checks the current page with axe-core and saves it on a
// phone and on a desktop into test-output/web/portal/.
func portalShots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join(outputDir(t), "portal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		suffix string
		vp     portalViewport
	}{{"phone", portalPhone}, {"desktop", portalDesktop}} {
		if _, err := chromedp.Run(ctx, chromedp.Legacy(v.vp)); err != nil {
			t.Fatal(err)
		}
		checkA11y(t, ctx, "portal "+name+" ("+v.suffix+")")
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func portalGo(t *testing.T, ctx context.Context, url, sel string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
}

func portalEval(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](js+";0")); err != nil {
		t.Fatalf("script: %v", err)
	}
}

func portalSet(t *testing.T, ctx context.Context, sel, v string) {
	t.Helper()
	do(t, ctx, chromedp.SetValue(chromedp.CSS(sel), v))
}

func TestBrowserPortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.portalData()
	sc, _ := e.portalServices()
	e.user("alice", auth.RolePhysician)
	base := e.srv.URL

	// The clinician invites Zoë.
	doc := chrome(t)
	portalGo(t, doc, base+"/patients/zoe/invite", "#username")
	signIn(t, doc, "alice", testPassword)
	do(t, doc, chromedp.WaitVisible(chromedp.CSS(`form[action="/patients/zoe/invite"]`)))
	portalSet(t, doc, "#username", "zoe.m")
	portalShots(t, doc, "invite")
	click(t, doc, `form[action="/patients/zoe/invite"] button`)
	code := strings.TrimSpace(text(t, doc, "#invite-code"))
	portalShots(t, doc, "invited")

	// Zoë activates her account and signs in.
	ctx := chrome(t)
	base2 := base
	portalGo(t, ctx, base2+"/portal", "#username")
	if l := location(ctx); !strings.Contains(l, "/login?next=%2Fportal") {
		t.Errorf("the portal signed out went to %s", l)
	}
	portalGo(t, ctx, base+"/portal/activate", "#code")
	portalSet(t, ctx, "#username", "zoe.m")
	portalSet(t, ctx, "#code", code)
	portalSet(t, ctx, "#birthdate", "1984-03-02") // wrong
	portalSet(t, ctx, "#password", testPassword)
	portalSet(t, ctx, "#confirm", testPassword)
	click(t, ctx, `form[action="/portal/activate"] button`)
	if msg := text(t, ctx, "#form-error"); !strings.Contains(msg, "does not match") {
		t.Errorf("a wrong birth date: %q", msg)
	}
	portalShots(t, ctx, "activate-error")
	portalSet(t, ctx, "#birthdate", "1984-03-27")
	portalSet(t, ctx, "#password", testPassword)
	portalSet(t, ctx, "#confirm", testPassword)
	click(t, ctx, `form[action="/portal/activate"] button`)
	signIn(t, ctx, "zoe.m", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.pcards`)))
	if l := location(ctx); l != base+"/portal" {
		t.Errorf("after sign-in the patient is at %s", l)
	}
	portalShots(t, ctx, "home")

	// A lab result with its explanation and trend chart.
	portalGo(t, ctx, base+"/portal/results", "table")
	portalShots(t, ctx, "results")
	click(t, ctx, `a[href="/portal/results/glu3"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`figure.ptrend svg`)))
	if m := text(t, ctx, "#meaning"); !strings.HasPrefix(m, "Higher than the usual range.") {
		t.Errorf("meaning %q", m)
	}
	portalShots(t, ctx, "result")
	portalGo(t, ctx, base+"/portal/health", "#h-problems")
	portalShots(t, ctx, "health")

	// A message to the care team; the clinic replies; the reply shows.
	portalGo(t, ctx, base+"/portal/messages", "#topic")
	portalShots(t, ctx, "messages")
	portalSet(t, ctx, "#topic", "My glucose")
	portalSet(t, ctx, "#text", "Is 130 a worry?")
	click(t, ctx, `form[action="/portal/messages"] button`)
	thread := strings.TrimPrefix(location(ctx), base+"/portal/messages/")
	// The clinician finds it on the inbox's Messages tab and replies.
	portalGo(t, doc, base+"/inbox?tab=messages", `a[href="/inbox/messages/`+thread+`"]`)
	if s := text(t, doc, "main table"); !strings.Contains(s, "My glucose") || !strings.Contains(s, "1 unread") {
		t.Errorf("the clinic's messages: %q", s)
	}
	click(t, doc, `a[href="/inbox/messages/`+thread+`"]`)
	if s := text(t, doc, "main"); !strings.Contains(s, "Is 130 a worry?") {
		t.Errorf("the clinician's thread: %q", s)
	}
	portalSet(t, doc, "#text", "A little high; let us recheck it next week.")
	click(t, doc, `form[action="/inbox/messages/`+thread+`/reply"] button`)
	if l := location(doc); l != base+"/inbox/messages/"+thread {
		t.Errorf("after the reply the clinician is at %s", l)
	}
	if s := text(t, doc, "main"); !strings.Contains(s, "Your reply was sent.") || !strings.Contains(s, "let us recheck it next week") {
		t.Errorf("the thread after the reply: %q", s)
	}
	portalGo(t, ctx, base+"/portal/messages", ".pthreads")
	if s := text(t, ctx, ".pthreads"); !strings.Contains(s, "1 unread") {
		t.Errorf("threads: %q", s)
	}
	click(t, ctx, `a[href="/portal/messages/`+thread+`"]`)
	if s := text(t, ctx, ".pmessages"); !strings.Contains(s, "let us recheck it next week") {
		t.Errorf("thread: %q", s)
	}
	portalShots(t, ctx, "thread")

	// Booking an open slot puts it on the practitioner's day.
	portalGo(t, ctx, base+"/portal/appointments", "#slot")
	var slotID string
	portalEval(t, ctx, `document.querySelector("#slot").selectedIndex = 1`)
	slotID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#slot").value`))
	if err != nil || slotID == "" {
		t.Fatalf("no slot: %v", err)
	}
	portalSet(t, ctx, "#reason", "Recheck glucose")
	click(t, ctx, `form[action="/portal/appointments"] button`)
	portalShots(t, ctx, "appointments")
	slot, err := sc.GetSlot(operator(), slotID)
	if err != nil {
		t.Fatal(err)
	}
	day, err := sc.Day(operator(), schedule.CalendarFilter{Practitioner: "Practitioner/doc"}, slot.Start)
	if err != nil {
		t.Fatal(err)
	}
	booked := false
	for _, en := range day.Entries {
		if en.Appointment != nil && en.Appointment.Patient == "Patient/zoe" && en.Start.Equal(slot.Start) {
			booked = true
		}
	}
	if !booked {
		t.Errorf("the booking is not on the practitioner's day: %+v", day.Entries)
	}

	// The download is a Bundle that passes $validate.
	portalGo(t, ctx, base+"/portal/data", `a[href="/portal/data/record.json"]`)
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/portal/data/record.json").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	resp := e.app.API.Handle(operator(), &fhirapi.Request{Method: "POST", Type: "Bundle", Operation: "validate",
		Body: []byte(body), ContentType: "application/fhir+json", Base: base + "/fhir"})
	var oo struct {
		Issue []struct{ Severity, Diagnostics string }
	}
	json.Unmarshal(resp.Body, &oo)
	for _, is := range oo.Issue {
		if is.Severity == "error" || is.Severity == "fatal" {
			t.Errorf("$validate: %s", is.Diagnostics)
		}
	}
	if resp.Status != 200 || !strings.Contains(body, `"Observation"`) {
		t.Errorf("$validate status %d; download %.200s", resp.Status, body)
	}

	// Sharing with the other organization, then revoking: the other
	// organization's physician opens the chart only in between.
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: "bob", DisplayName: "Bob Other",
		Memberships: []auth.Membership{{Organization: "Organization/other", Roles: []string{auth.RolePhysician}}}}, testPassword); err != nil {
		t.Fatal(err)
	}
	// (A fresh tab for Zoë: each tab has a time budget of its own.)
	ctx = chrome(t)
	portalGo(t, ctx, base+"/portal/data", "#username")
	signIn(t, ctx, "zoe.m", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#organization`)))
	other := access.With(context.Background(), &access.Principal{Kind: access.User, Username: "bob", Organization: "Organization/other",
		Roles: []string{auth.RolePhysician}})
	if _, err := e.app.Repo.Read(other, "Observation", "glu3"); err == nil {
		t.Fatal("the other organization reads the record before the share")
	}
	portalSet(t, ctx, "#organization", "other")
	click(t, ctx, `form[action="/portal/data/shares"] button`)
	bob := chrome(t)
	portalGo(t, bob, base+"/patients/zoe", "#username")
	signIn(t, bob, "bob", testPassword)
	// The chart as the physician's browser gets it: status and page.
	chart := func(when string) (int, string) {
		t.Helper()
		do(t, bob, chromedp.Navigate(base+"/patients/zoe"), chromedp.WaitReady(chromedp.CSS("body")))
		got, err := chromedp.Run(bob, chromedp.Evaluate[string](`fetch("/patients/zoe").then(async r => r.status + "\n" + await r.text())`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("the chart %s: %v", when, err)
		}
		st, body, _ := strings.Cut(got, "\n")
		n, _ := strconv.Atoi(st)
		return n, body
	}
	if st, body := chart("after the share"); st != 200 || !strings.Contains(body, "Zoë") || !strings.Contains(body, "Müller") {
		t.Errorf("the other organization's chart after the share: %d %.300s", st, body)
	}
	portalShots(t, ctx, "data")
	click(t, ctx, `form[action$="/revoke"] button`)
	if st, body := chart("after the revocation"); st != 404 || !strings.Contains(body, "<h1>Chart not found</h1>") || strings.Contains(body, "Zoë") {
		t.Errorf("the other organization's chart after the revocation: %d %.300s", st, body)
	}
	portalGo(t, ctx, base+"/portal/data/summary", "h1")
	portalShots(t, ctx, "summary")

	// Who viewed my record: the clinician, and an emergency access flagged.
	erin := access.With(context.Background(), &access.Principal{Kind: access.User, Username: "erin", Organization: "Organization/other",
		Roles: []string{auth.RolePhysician}, BreakGlass: []access.BreakGlass{{Patient: "zoe",
			Reason: "Unconscious in the emergency room", Until: time.Now().Add(time.Hour)}}})
	if _, err := e.app.Repo.Read(erin, "Patient", "zoe"); err != nil {
		t.Fatal(err)
	}
	portalGo(t, ctx, base+"/portal/access", "ol.paccess")
	if s := text(t, ctx, "ol.paccess"); !strings.Contains(s, "alice") || !strings.Contains(s, "erin") {
		t.Errorf("access report: %q", s)
	}
	if s := text(t, ctx, ".pbreak"); !strings.Contains(s, "erin") || !strings.Contains(s, "Unconscious") {
		t.Errorf("emergency access: %q", s)
	}
	portalShots(t, ctx, "access")
	portalGo(t, ctx, base+"/portal/account", "#h-sess")
	portalShots(t, ctx, "account")

	// URL tampering: other patients' ids in URLs and in form fields.
	for _, path := range []string{"/portal/results/omar-glu", "/portal/messages/omar", "/portal/results/kid-asthma"} {
		portalGo(t, ctx, base+path, "h1")
		if h := text(t, ctx, "h1"); h != "Not found" {
			t.Errorf("%s: %q", path, h)
		}
	}
	portalShots(t, ctx, "not-found")
	portalGo(t, ctx, base+"/portal/appointments", `form[action="/portal/appointments"]`)
	portalEval(t, ctx, `(() => { const s = document.querySelector("#slot");
		s.add(new Option("forged", "no-such-slot")); s.value = "no-such-slot"; })()`)
	click(t, ctx, `form[action="/portal/appointments"] button`)
	if s := text(t, ctx, "#slot-error"); !strings.Contains(s, "cannot be booked") {
		t.Errorf("a forged slot: %q", s)
	}
	// A forged patient in the proxy's switch form.
	portalEval(t, ctx, `(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/portal/patient";
		f.innerHTML = '<input name="csrf" value="' + document.querySelector('input[name=csrf]').value + '"><input name="patient" value="omar">';
		document.body.append(f); f.submit(); })()`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`h1`)))
	time.Sleep(200 * time.Millisecond)
	if h := text(t, ctx, "h1"); h != "Not found" {
		t.Errorf("a forged patient switch: %q", h)
	}

	// A parent acting for a child: the record without the confidential item.
	docB := e.browser()
	docB.login("alice")
	code = portalInvite(t, docB, "kid", "anna.m", "parent")
	pctx := chrome(t)
	portalGo(t, pctx, base+"/portal/activate", "#code")
	portalSet(t, pctx, "#username", "anna.m")
	portalSet(t, pctx, "#code", code)
	portalSet(t, pctx, "#birthdate", "2011-05-05")
	portalSet(t, pctx, "#password", testPassword)
	portalSet(t, pctx, "#confirm", testPassword)
	click(t, pctx, `form[action="/portal/activate"] button`)
	signIn(t, pctx, "anna.m", testPassword)
	portalGo(t, pctx, base+"/portal/health", "#h-problems")
	s := text(t, pctx, "main")
	if !strings.Contains(s, "Asthma") || strings.Contains(s, "Confidential counselling") {
		t.Errorf("the proxy's view: %q", s)
	}
	portalShots(t, pctx, "proxy-health")
}
