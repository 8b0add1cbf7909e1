package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/smart"
)

// deskShot saves a screenshot into test-output/web/desk/.
func deskShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(outputDir(t), "desk"), 0o755); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join("desk", name))
}

// postFHIR creates a resource through the FHIR API with a bearer token
// (typ "Observation/id" puts it with that id).
func (e *env) postFHIR(tok, typ, body string) {
	e.t.Helper()
	method := "POST"
	if strings.Contains(typ, "/") {
		method = "PUT"
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/fhir/"+typ, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("POST %s: %d", typ, resp.StatusCode)
	}
}

func potassium(id, when, value, interp, extra string) string {
	s := `{"resourceType":"Observation","id":"` + id + `","status":"final",` + extra +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium [Moles/volume] in Serum or Plasma"}],"text":"Potassium"},
		"subject":{"reference":"Patient/zoe"},"effectiveDateTime":"` + when + `","issued":"` + when + `",
		"valueQuantity":{"value":` + value + `,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},
		"referenceRange":[{"low":{"value":3.5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"high":{"value":5.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}]`
	if interp != "" {
		s += `,"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"` + interp + `"}]}]`
	}
	return s + `}`
}

// TestBrowserInboxSignOff is the acceptance test of the results inbox: a
// lab result arrives through the FHIR API, shows in the physician's inbox
// as abnormal and first, the physician opens it, sees its trend, and signs
// it off; it leaves the queue and the count drops.
func TestBrowserInboxSignOff(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	deskClinic(e)

	// The laboratory's interface posts the results with a token of its own.
	tok, _, err := e.doors.SMART.IssueToken(operator(), smart.TokenSpec{Scopes: []string{"system/*.cruds"}})
	if err != nil {
		t.Fatal(err)
	}
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format(time.RFC3339) }
	reviewed := `"meta":{"tag":[{"system":"http://openchart.org/fhir/CodeSystem/review-status","code":"reviewed"}]},`
	// Earlier potassium values, reviewed long ago: the trend's history.
	e.postFHIR(tok, "Observation/k1", potassium("k1", day(-90), "4.2", "", reviewed))
	e.postFHIR(tok, "Observation/k2", potassium("k2", day(-30), "4.9", "", reviewed))
	// Today's panel: potassium 6.1 (high) in a report, and a normal sodium
	// that came later.
	e.postFHIR(tok, "Observation/k3", potassium("k3", day(0), "6.1", "H", ""))
	e.postFHIR(tok, "DiagnosticReport", `{"resourceType":"DiagnosticReport","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"51990-0"}],"text":"Basic metabolic panel"},
		"subject":{"reference":"Patient/zoe"},"effectiveDateTime":"`+day(0)+`","issued":"`+day(0)+`",
		"result":[{"reference":"Observation/k3"}]}`)
	e.postFHIR(tok, "Observation", `{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2951-2"}],"text":"Sodium"},
		"subject":{"reference":"Patient/zoe"},"effectiveDateTime":"`+time.Now().UTC().Format(time.RFC3339)+`",
		"valueQuantity":{"value":140,"unit":"mmol/L"},
		"referenceRange":[{"low":{"value":135,"unit":"mmol/L"},"high":{"value":145,"unit":"mmol/L"}}]}`)

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login?next=/inbox"))
	signIn(t, ctx, "phil", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.desk-tabs`)))
	if nav := text(t, ctx, `.nav a[href="/inbox"]`); !strings.HasPrefix(nav, "Inbox (3)") {
		t.Errorf("navigation: %q, want Inbox (3)", nav)
	}
	first := text(t, ctx, `main table tbody tr:first-child`)
	if !strings.Contains(first, "Abnormal") || strings.Contains(first, "Sodium") {
		t.Errorf("the first result is %q, want an abnormal one", first)
	}
	if last := text(t, ctx, `main table tbody tr:last-child`); !strings.Contains(last, "Sodium") || !strings.Contains(last, "Normal") {
		t.Errorf("the last result is %q, want the normal sodium", last)
	}
	checkA11y(t, ctx, "inbox")
	deskShot(t, ctx, "inbox")

	// Open the report: its value, range and flag, and the trend.
	click(t, ctx, `main a[href="/inbox/results/DiagnosticReport/`+reportID(t, ctx)+`"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.desk-chart svg`)))
	values := text(t, ctx, `main table`)
	for _, want := range []string{"6.1 mmol/L", "3.5–5.1 mmol/L", "▲ High"} {
		if !strings.Contains(values, want) {
			t.Errorf("the result lacks %q: %s", want, values)
		}
	}
	points, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("details tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	if points != 3 {
		t.Errorf("the trend has %d points, want 3", points)
	}
	checkA11y(t, ctx, "result")
	deskShot(t, ctx, "inbox-result")

	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#note`), "Repeat potassium tomorrow; call the patient."))
	click(t, ctx, `form[action$="/signoff"] button[type=submit]`)
	if got := text(t, ctx, `.flash`); !strings.Contains(got, "Signed off") {
		t.Errorf("after sign-off: %q", got)
	}
	if nav := text(t, ctx, `.nav a[href="/inbox"]`); !strings.HasPrefix(nav, "Inbox (1)") {
		t.Errorf("navigation after sign-off: %q, want Inbox (1)", nav)
	}
	rest := text(t, ctx, `main table tbody`)
	if strings.Contains(rest, "Potassium") || strings.Contains(rest, "metabolic") || !strings.Contains(rest, "Sodium") {
		t.Errorf("the queue after sign-off: %q", rest)
	}
	// The sign-off is a Task the API can answer with, with the note.
	tasks := e.find("Task", url.Values{"focus": {"DiagnosticReport/" + reportID0}})
	if len(tasks) != 1 || !strings.Contains(string(tasks[0].JSON), "Repeat potassium tomorrow") {
		t.Errorf("review tasks: %d", len(tasks))
	}
}

// reportID0 is the id of the report of the last reportID call.
var reportID0 string

// reportID reads the report's id from the inbox's links.
func reportID(t *testing.T, ctx context.Context) string {
	t.Helper()
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main a[href^="/inbox/results/DiagnosticReport/"]').getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	reportID0 = strings.TrimPrefix(href, "/inbox/results/DiagnosticReport/")
	return reportID0
}

// TestBrowserDeskPages checks the registration, calendars, booking and
// appointment pages with axe-core, and saves their screenshots.
func TestBrowserDeskPages(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	deskClinic(e)
	b := e.browser()
	b.login("fran")
	b.get("/schedule/setup")
	wantStatus(t, b.post("/schedule/setup", url.Values{"practitioner": {"doc"}, "location": {"room1"}, "timezone": {"UTC"},
		"slot_minutes": {"30"}, "days": {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "start": {"09:00"}, "end": {"12:00"},
		"weeks": {"1"}}), http.StatusSeeOther)

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login?next=/patients/new"))
	signIn(t, ctx, "fran", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#family`)))
	checkA11y(t, ctx, "registration")
	deskShot(t, ctx, "register")
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#family`), "Muller"),
		chromedp.SetValue(chromedp.CSS(`#given`), "Zoe"),
		chromedp.SetValue(chromedp.CSS(`#birthdate`), "1984-03-27"),
		chromedp.SetValue(chromedp.CSS(`#sex`), "female"),
		chromedp.SetValue(chromedp.CSS(`#email`), "zoe@"),
	)
	click(t, ctx, `form.desk-form button[type=submit]`)
	if got := text(t, ctx, `#email-error`); got == "" {
		t.Error("no message next to the bad email")
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#email`), "zoe@example.org"))
	click(t, ctx, `form.desk-form button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#duplicate_ok`)))
	checkA11y(t, ctx, "registration: duplicates")
	deskShot(t, ctx, "register-duplicates")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#duplicate_ok`)))
	click(t, ctx, `form.desk-form button[type=submit]`)
	if got := text(t, ctx, `.flash`); !strings.Contains(got, "Registered Zoe Muller, MRN") {
		t.Fatalf("after registering: %q", got)
	}
	checkA11y(t, ctx, "demographics")

	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/schedule?practitioner=doc&date="+tomorrow), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	checkA11y(t, ctx, "day calendar")
	deskShot(t, ctx, "schedule-day")
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/schedule?view=week&practitioner=doc&date="+tomorrow), chromedp.WaitVisible(chromedp.CSS(`.desk-week`)))
	checkA11y(t, ctx, "week calendar")
	deskShot(t, ctx, "schedule-week")

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/schedule?practitioner=doc&date="+tomorrow), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	click(t, ctx, `main tbody a[href^="/schedule/slots/"]`)
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#q`), "Haddad"))
	click(t, ctx, `form[role=search] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#patient-omar`)))
	checkA11y(t, ctx, "booking")
	deskShot(t, ctx, "book")
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#reason`), "Knee pain"), chromedp.Click(chromedp.CSS(`#virtual`)))
	click(t, ctx, `form.desk-form button[type=submit]`)
	if got := text(t, ctx, `.flash`); !strings.Contains(got, "Booked Omar Haddad") {
		t.Fatalf("after booking: %q", got)
	}
	checkA11y(t, ctx, "appointment")
	deskShot(t, ctx, "appointment")
	click(t, ctx, `form[action$="/checkin"] button[type=submit]`)
	if l := location(ctx); !strings.Contains(l, "/patients/omar/visits/") {
		t.Errorf("check-in went to %s", l)
	}
}
