package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/store"
)

// all reads every current resource of a type through the Repository.
func (e *env) all(typ string) []map[string]any {
	e.t.Helper()
	res, err := e.app.Repo.Search(operator(), &store.Query{Types: []string{typ}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, rec := range res.Records {
		if rec.Deleted || rec.Type != typ {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// jsonText is a resource as JSON text, for checking its fields.
func jsonText(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantJSON(t *testing.T, m map[string]any, parts ...string) {
	t.Helper()
	s := jsonText(t, m)
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("the resource lacks %s:\n%s", p, s)
		}
	}
}

func TestChartActionsAllergy(t *testing.T) {
	for _, db := range []string{"embedded", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			o := envOptions{}
			if db == "postgres" {
				o.db = pgURL(t)
			}
			e := newEnv(t, o)
			e.patients()
			e.user("drjones", auth.RolePhysician)
			e.user("desk", auth.RoleFrontDesk)
			b := e.browser()
			b.login("drjones")

			// No allergies recorded: the page offers "No known allergies".
			r := b.get("/patients/zoe/allergies")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `href="/patients/zoe/allergies/new"`, `action="/patients/zoe/allergies/none"`)
			r = b.post("/patients/zoe/allergies/none", url.Values{})
			wantStatus(t, r, http.StatusSeeOther)
			nka := e.all("AllergyIntolerance")
			if len(nka) != 1 {
				t.Fatalf("%d allergies after no known allergies", len(nka))
			}
			wantJSON(t, nka[0], `"code":"716186003"`, `"system":"http://snomed.info/sct"`, `"reference":"Patient/zoe"`)
			r = b.get("/patients/zoe/allergies")
			wantText(t, r, "No known allergies")

			// The form; finding a substance lists RxNorm ingredients.
			r = b.get("/patients/zoe/allergies/new")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `name="substance"`, `name="severity"`, `name="criticality"`, `name="verification"`)
			r = b.post("/patients/zoe/allergies/new", url.Values{"action": {"find"}, "substance": {"penicillin"}})
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `name="substance-code"`, `value="7980"`)

			// Bad input: refused next to the fields, nothing stored.
			future := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
			r = b.post("/patients/zoe/allergies/new", url.Values{"action": {"save"}, "substance": {" "},
				"severity": {"severe"}, "verification": {"confirmed"}, "onset": {future}})
			wantStatus(t, r, http.StatusBadRequest)
			wantBody(t, r, `id="substance-error"`, `id="onset-error"`, `id="reaction-error"`, `aria-invalid="true"`,
				"Enter the substance", "cannot be in the future", "Nothing was saved")
			if n := len(e.all("AllergyIntolerance")); n != 1 {
				t.Fatalf("%d allergies after a refused form", n)
			}

			// A front-desk user is refused, nothing stored.
			d := e.browser()
			d.login("desk")
			wantStatus(t, d.get("/patients/zoe/allergies/new"), http.StatusForbidden)
			d.get("/patients/zoe/allergies")
			r = d.post("/patients/zoe/allergies/new", url.Values{"action": {"save"}, "substance": {"latex"}, "verification": {"confirmed"}})
			wantStatus(t, r, http.StatusForbidden)
			if n := len(e.all("AllergyIntolerance")); n != 1 {
				t.Fatalf("%d allergies after a front-desk post", n)
			}

			// Recorded: coded in RxNorm, the earlier "no known allergies"
			// ended in the same transaction.
			b.get("/patients/zoe/allergies/new")
			r = b.post("/patients/zoe/allergies/new", url.Values{"action": {"save"}, "substance": {"penicillin"}, "substance-code": {"7980"},
				"reaction": {"Hives"}, "severity": {"moderate"}, "criticality": {"high"}, "verification": {"confirmed"}, "onset": {"2010-06-01"}})
			wantStatus(t, r, http.StatusSeeOther)
			if r.location() != "/patients/zoe/allergies" {
				t.Errorf("redirected to %q", r.location())
			}
			var got map[string]any
			for _, a := range e.all("AllergyIntolerance") {
				if strings.Contains(jsonText(t, a), "716186003") {
					wantJSON(t, a, `"code":"inactive"`)
				} else {
					got = a
				}
			}
			if got == nil {
				t.Fatal("the allergy was not stored")
			}
			wantJSON(t, got, `"code":"7980"`, `"system":"http://www.nlm.nih.gov/research/umls/rxnorm"`, `"text":"penicillin"`,
				`"clinicalStatus":{"coding":[{"code":"active"`, `"verificationStatus":{"coding":[{"code":"confirmed"`,
				`"criticality":"high"`, `"severity":"moderate"`, `"text":"Hives"`, `"onsetDateTime":"2010-06-01"`,
				`"patient":{"reference":"Patient/zoe"}`, `"recorder":{"display":"Drjones Test"}`, `"recordedDate":`)
			r = b.get("/patients/zoe/allergies")
			wantText(t, r, "Allergy recorded: penicillin.", "penicillin", "Hives (moderate)")
			if strings.Contains(r.body, `action="/patients/zoe/allergies/none"`) {
				t.Error("no known allergies is offered with an allergy recorded")
			}
		})
	}
}

func TestChartActions(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.user("nurse", auth.RoleNurse)
	e.user("desk", auth.RoleFrontDesk)
	b := e.browser()
	b.login("nurse")
	future := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	d := e.browser()
	d.login("desk")
	d.get("/patients/zoe/medications")

	t.Run("immunization", func(t *testing.T) {
		before := len(e.all("Immunization"))
		r := b.get("/patients/zoe/immunizations")
		wantBody(t, r, `href="/patients/zoe/immunizations/new"`)
		r = b.get("/patients/zoe/immunizations/new")
		wantStatus(t, r, http.StatusOK)
		r = b.post("/patients/zoe/immunizations/new", url.Values{"action": {"find"}, "vaccine": {"zoster recombinant"}})
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `name="cvx"`, `value="187"`)

		// Unknown CVX and a future date: refused next to the fields.
		r = b.post("/patients/zoe/immunizations/new", url.Values{"action": {"save"}, "cvx": {"99999"}, "date": {future}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="vaccine-error"`, `id="date-error"`, "not a known CVX vaccine", "cannot be in the future")
		r = b.post("/patients/zoe/immunizations/new", url.Values{"action": {"save"}, "vaccine": {""}, "date": {"2024-13-01"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, "Find the vaccine and choose it", "YYYY-MM-DD")
		// The front desk may not.
		r = d.post("/patients/zoe/immunizations/new", url.Values{"action": {"save"}, "cvx": {"187"}, "date": {"2024-01-10"}})
		wantStatus(t, r, http.StatusForbidden)
		if n := len(e.all("Immunization")); n != before {
			t.Fatalf("%d immunizations after refused forms, want %d", n, before)
		}

		r = b.post("/patients/zoe/immunizations/new", url.Values{"action": {"save"}, "cvx": {"187"}, "date": {"2024-01-10"},
			"lot": {"LOT-42"}, "site": {"Left deltoid"}})
		wantStatus(t, r, http.StatusSeeOther)
		var got map[string]any
		for _, im := range e.all("Immunization") {
			if strings.Contains(jsonText(t, im), "LOT-42") {
				got = im
			}
		}
		if got == nil {
			t.Fatal("the immunization was not stored")
		}
		wantJSON(t, got, `"status":"completed"`, `"code":"187"`, `"system":"http://hl7.org/fhir/sid/cvx"`,
			`"occurrenceDateTime":"2024-01-10"`, `"primarySource":true`, `"lotNumber":"LOT-42"`, `"site":{"text":"Left deltoid"}`,
			`"patient":{"reference":"Patient/zoe"}`)
		r = b.get("/patients/zoe/immunizations")
		wantText(t, r, "Immunization recorded", "2024-01-10")
	})

	t.Run("problem", func(t *testing.T) {
		r := b.get("/patients/zoe/problems")
		wantBody(t, r, `action="/patients/zoe/problems/htn/resolve"`, `name="abatement-htn"`)
		// A date before the onset, and a future date: refused, unchanged.
		r = b.post("/patients/zoe/problems/htn/resolve", url.Values{"abatement-htn": {"2010-01-01"}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="abatement-htn-error"`, "before its onset")
		r = b.post("/patients/zoe/problems/htn/resolve", url.Values{"abatement-htn": {future}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="abatement-htn-error"`)
		r = d.post("/patients/zoe/problems/htn/resolve", url.Values{"abatement-htn": {"2024-06-01"}})
		wantStatus(t, r, http.StatusForbidden)
		rec, _ := e.app.Repo.Read(operator(), "Condition", "htn")
		if strings.Contains(string(rec.JSON), "abatement") {
			t.Fatalf("the problem changed after refused forms: %s", rec.JSON)
		}

		r = b.post("/patients/zoe/problems/htn/resolve", url.Values{"abatement-htn": {"2024-06-01"}})
		wantStatus(t, r, http.StatusSeeOther)
		rec, _ = e.app.Repo.Read(operator(), "Condition", "htn")
		if s := string(rec.JSON); !strings.Contains(s, `"abatementDateTime":"2024-06-01"`) || !strings.Contains(s, `"code":"resolved"`) {
			t.Errorf("the problem is not resolved: %s", s)
		}
		r = b.get("/patients/zoe/problems")
		wantText(t, r, "Resolved: Essential hypertension.")
		active, inactive, _ := strings.Cut(r.body, "Inactive / resolved problems")
		if strings.Contains(active, "<th scope=\"row\">Essential hypertension") {
			t.Error("the resolved problem is still listed as active")
		}
		if !strings.Contains(visible(inactive), "Essential hypertension 2015-04-01 2024-06-01 Resolved") {
			t.Errorf("the resolved problem is not in the inactive list:\n%s", visible(inactive))
		}
	})

	t.Run("medication", func(t *testing.T) {
		r := b.get("/patients/zoe/medications")
		wantText(t, r, "Not reconciled yet.")
		wantBody(t, r, `action="/patients/zoe/medications/lisinopril/stop"`, `action="/patients/zoe/medications/reconciled"`)

		// Reconciled: a List of the active medications.
		r = d.post("/patients/zoe/medications/reconciled", url.Values{})
		wantStatus(t, r, http.StatusForbidden)
		if n := len(e.all("List")); n != 0 {
			t.Fatalf("%d Lists after a front-desk post", n)
		}
		r = b.post("/patients/zoe/medications/reconciled", url.Values{})
		wantStatus(t, r, http.StatusSeeOther)
		lists := e.all("List")
		if len(lists) != 1 {
			t.Fatalf("%d Lists after reconciling", len(lists))
		}
		wantJSON(t, lists[0], `"code":"10160-0"`, `"mode":"snapshot"`, `"status":"current"`, `"reference":"MedicationRequest/lisinopril"`,
			`"subject":{"reference":"Patient/zoe"}`, `"source":{"display":"Nurse Test"}`, `"date":`)
		r = b.get("/patients/zoe/medications")
		wantText(t, r, "Medications marked reconciled.", "Last reconciled", "by Nurse Test")

		// Stopping needs a reason.
		r = b.post("/patients/zoe/medications/lisinopril/stop", url.Values{"reason-lisinopril": {"  "}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="reason-lisinopril-error"`, "Give the reason")
		r = d.post("/patients/zoe/medications/lisinopril/stop", url.Values{"reason-lisinopril": {"cough"}})
		wantStatus(t, r, http.StatusForbidden)
		rec, _ := e.app.Repo.Read(operator(), "MedicationRequest", "lisinopril")
		if !strings.Contains(string(rec.JSON), `"status":"active"`) {
			t.Fatalf("the medication changed after refused forms: %s", rec.JSON)
		}
		r = b.post("/patients/zoe/medications/lisinopril/stop", url.Values{"reason-lisinopril": {"Dry cough"}})
		wantStatus(t, r, http.StatusSeeOther)
		rec, _ = e.app.Repo.Read(operator(), "MedicationRequest", "lisinopril")
		if s := string(rec.JSON); !strings.Contains(s, `"status":"stopped"`) || !strings.Contains(s, `"statusReason":{"text":"Dry cough"}`) {
			t.Errorf("the medication is not stopped: %s", s)
		}
		r = b.get("/patients/zoe/medications")
		wantText(t, r, "Stopped: lisinopril 10 MG Oral Tablet.")
		// Stopping it again is refused next to nothing changed.
		r = b.post("/patients/zoe/medications/lisinopril/stop", url.Values{"reason-lisinopril": {"again"}})
		wantStatus(t, r, http.StatusBadRequest)
	})

	t.Run("other patient", func(t *testing.T) {
		// A patient of another organization answers the chart's 404.
		for _, id := range []string{"zara", "nobody"} {
			r := b.post("/patients/"+id+"/immunizations/new", url.Values{"action": {"save"}, "cvx": {"187"}, "date": {"2024-01-10"}})
			wantStatus(t, r, http.StatusNotFound)
			wantText(t, r, "Chart not found")
			wantStatus(t, b.get("/patients/"+id+"/allergies/new"), http.StatusNotFound)
		}
		for _, im := range e.all("Immunization") {
			if strings.Contains(jsonText(t, im), "Patient/zara") {
				t.Error("an immunization was stored for a patient the user may not see")
			}
		}
	})
}

func TestRecentPatients(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	e.user("drjones", auth.RolePhysician)
	e.user("drsmith", auth.RolePhysician)
	b := e.browser()
	b.login("drjones")
	r := b.get("/")
	if strings.Contains(r.body, "Recent patients") {
		t.Error("recent patients before any chart was opened")
	}
	wantStatus(t, b.get("/patients/zoe"), http.StatusOK)
	wantStatus(t, b.get("/patients/omar"), http.StatusOK)
	wantStatus(t, b.get("/patients/zoe/allergies"), http.StatusOK)
	wantStatus(t, b.get("/patients/zara"), http.StatusNotFound)
	r = b.get("/")
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "Recent patients")
	zoe, omar := strings.Index(r.body, `href="/patients/zoe"`), strings.Index(r.body, `href="/patients/omar"`)
	if zoe < 0 || omar < 0 || zoe > omar {
		t.Errorf("recent patients not newest first (zoe at %d, omar at %d):\n%s", zoe, omar, visible(r.body))
	}
	if strings.Count(r.body, `href="/patients/zoe"`) != 1 || strings.Contains(r.body, `href="/patients/zara"`) {
		t.Errorf("recent patients repeat a patient or show a hidden one:\n%s", visible(r.body))
	}
	// Another user's list is their own.
	o := e.browser()
	o.login("drsmith")
	if r := o.get("/"); strings.Contains(r.body, "Recent patients") {
		t.Error("another user's recent patients are shown")
	}
}
