package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
)

// TestChartActionsFormOpening covers what the maintenance forms share
// before saving: the ids of the path and the Find button without words or
// without a match.
func TestChartActionsFormOpening(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.user("drjones", auth.RolePhysician)
	b := e.browser()
	b.login("drjones")
	b.get("/patients/zoe/allergies/new")
	before := len(e.all("AllergyIntolerance")) + len(e.all("Immunization"))

	for _, c := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"allergy, no words", "/patients/zoe/allergies/new", url.Values{"action": {"find"}, "substance": {"  "}},
			"Type a substance to find (for example penicillin)."},
		{"allergy, no match", "/patients/zoe/allergies/new", url.Values{"action": {"find"}, "substance": {"qqxqqzz"}},
			"No RxNorm ingredient matches these words"},
		{"immunization, no words", "/patients/zoe/immunizations/new", url.Values{"action": {"find"}},
			"Type a vaccine name or CVX code to find."},
		{"immunization, no match", "/patients/zoe/immunizations/new", url.Values{"action": {"find"}, "vaccine": {"qqxqqzz"}},
			"No CVX vaccine matches these words: change them."},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := b.post(c.path, c.form)
			wantStatus(t, r, http.StatusBadRequest)
			wantText(t, r, c.want)
		})
	}

	long := strings.Repeat("x", 65)
	for name, path := range map[string]string{
		"allergy, patient":      "/patients/" + long + "/allergies/new",
		"immunization, patient": "/patients/" + long + "/immunizations/new",
		"problem":               "/patients/zoe/problems/" + long + "/resolve",
		"medication":            "/patients/zoe/medications/" + long + "/stop",
	} {
		t.Run("bad id, "+name, func(t *testing.T) {
			r := b.post(path, url.Values{"action": {"save"}, "substance": {"latex"}, "verification": {"confirmed"},
				"cvx": {"187"}, "date": {"2024-01-10"}})
			wantStatus(t, r, http.StatusNotFound)
			wantText(t, r, "Chart not found")
		})
	}
	if after := len(e.all("AllergyIntolerance")) + len(e.all("Immunization")); after != before {
		t.Errorf("%d allergies and immunizations, %d before the forms", after, before)
	}
}
