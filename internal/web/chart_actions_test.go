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
