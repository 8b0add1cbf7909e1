package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
)

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// formVersion is the version field of the last form on a page.
func formVersion(t *testing.T, r response) string {
	t.Helper()
	m := versionRE.FindAllStringSubmatch(r.body, -1)
	if m == nil {
		t.Fatalf("no version field:\n%s", r.body)
	}
	return m[len(m)-1][1]
}

// TestChartRelease: a physician withholds a result and a signed note from
// the patient and releases the result again; the chart marks what is
// withheld; the portal shows nothing of it and says nothing about it;
// front desk may not withhold; bad forms, stale versions and other
// patients' items are refused.
func TestChartRelease(t *testing.T) { onStores(t, testChartRelease) }

func testChartRelease(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.portalData()
	e.chartRecord() // signed notes note1 (verifies) and note2 (does not)
	e.user("alice", auth.RolePhysician)
	e.user("fred", auth.RoleFrontDesk)
	doc := e.browser()
	doc.login("alice")
	desk := e.browser()
	desk.login("fred")
	code := portalInvite(t, doc, "zoe", "zoe.m", "")
	p := portalActivate(t, e, "zoe.m", code, "1984-03-27")
	wantBody(t, p.get("/portal/results"), "/portal/results/glu3")
	wantBody(t, p.get("/portal/data/record.json"), `"Progress note note1"`, `"glu3"`)

	// The results page offers the action to clinicians.
	r := doc.get("/patients/zoe/results")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `href="/patients/zoe/release/result/glu3"`, "Withhold from patient")
	if strings.Contains(r.body, "Withheld from patient portal") {
		t.Fatal("nothing is withheld yet")
	}
	// Front desk: refused.
	wantStatus(t, desk.get("/patients/zoe/release/result/glu3"), http.StatusForbidden)
	wantStatus(t, desk.post("/patients/zoe/release/result/glu3/withhold", url.Values{"exception": {"preventing-harm"}, "reason": {"x"}, "version": {"1"}}), http.StatusForbidden)

	// The form, its field errors, CSRF.
	r = doc.get("/patients/zoe/release/result/glu3")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Withhold from the patient: Glucose", "Preventing harm", `name="reason"`)
	v := formVersion(t, r)
	r = doc.post("/patients/zoe/release/result/glu3/withhold", url.Values{"exception": {"because"}, "reason": {" "}, "version": {v}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="exception-error"`, `id="reason-error"`, "Nothing was saved")
	wantStatus(t, doc.post("/patients/zoe/release/result/glu3/withhold", url.Values{"exception": {"preventing-harm"}, "reason": {"x"}, "version": {v}, "csrf": {"forged"}}), http.StatusForbidden)
	// Another patient's result through this chart: not found.
	wantStatus(t, doc.get("/patients/omar/release/result/glu3"), http.StatusNotFound)
	wantStatus(t, doc.get("/patients/zoe/release/patient/zoe"), http.StatusNotFound)

	reason := "Discuss the result at the visit on Friday."
	r = doc.post("/patients/zoe/release/result/glu3/withhold", url.Values{"exception": {"preventing-harm"}, "reason": {reason}, "version": {v}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.location() != "/patients/zoe/results" {
		t.Fatalf("after withholding: %s", r.location())
	}
	r = doc.get("/patients/zoe/results")
	wantBody(t, r, "Withheld from patient portal", reason, "Alice Test", "Release to patient")
	// A stale form: refused, nothing changed.
	r = doc.post("/patients/zoe/release/result/glu3/withhold", url.Values{"exception": {"patient-request"}, "reason": {"other"}, "version": {v}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "changed since this form was shown")
	wantBody(t, doc.get("/patients/zoe/results"), reason)

	// The signed note, from the documents page.
	r = doc.get("/patients/zoe/documents")
	wantBody(t, r, `href="/patients/zoe/release/note/note1"`)
	r = doc.get("/patients/zoe/release/note/note1")
	wantStatus(t, r, http.StatusOK)
	r = doc.post("/patients/zoe/release/note/note1/withhold", url.Values{"exception": {"third-party-privacy"}, "reason": {"Names the partner."}, "version": {formVersion(t, r)}})
	wantStatus(t, r, http.StatusSeeOther)
	r = doc.get("/patients/zoe/documents")
	wantBody(t, r, "Withheld from patient portal", "Names the partner.")
	// The signature still speaks for the note: only the label changed.
	wantText(t, r, "✔ Signed by Dr. Ana Lee on 2024-05-01 09:40; the signature matches this note.",
		"✖ Signed by Dr. Ana Lee on 2024-05-01 09:40. The note does not match its signature")

	// The portal: gone, and not a word about it.
	r = p.get("/portal/results")
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, "/portal/results/glu3") {
		t.Error("the portal lists the withheld result")
	}
	wantStatus(t, p.get("/portal/results/glu3"), http.StatusNotFound)
	for _, path := range []string{"/portal", "/portal/results", "/portal/health", "/portal/data/summary", "/portal/data/record.json"} {
		b := p.get(path).body
		if strings.Contains(strings.ToLower(b), "withheld") || strings.Contains(b, "Progress note note1") || strings.Contains(b, reason) || strings.Contains(b, `"glu3"`) {
			t.Errorf("%s tells of what is withheld", path)
		}
	}

	// Release: the portal shows the result again.
	r = doc.get("/patients/zoe/results")
	r = doc.post("/patients/zoe/release/result/glu3/release", url.Values{"version": {formVersion(t, r)}})
	wantStatus(t, r, http.StatusSeeOther)
	r = doc.get("/patients/zoe/results")
	if strings.Contains(r.body, reason) {
		t.Error("the released result is still marked")
	}
	wantBody(t, r, "Released to the patient portal: Glucose.")
	wantBody(t, p.get("/portal/results"), "/portal/results/glu3")
	r = p.get("/portal/data/record.json")
	wantBody(t, r, `"glu3"`)
	if strings.Contains(r.body, "Progress note note1") {
		t.Error("releasing the result released the note")
	}
}
