package chart

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
)

// TestInferno loads the US Core reference patients and checks the summary
// against a scan of their Bundles: problems (health concerns excluded),
// allergies (inactive ones excluded), immunizations (not-done excluded),
// social history and vitals.
func TestInferno(t *testing.T) {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, name := range storeConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := openStack(t, name)
			all := loadInferno(t, a)
			c := newChart(t, a, now)
			for _, id := range []string{"85", "355"} {
				res := byType(ofPatient(all, id))
				s, err := c.Summary(operator(), id)
				if err != nil {
					t.Fatalf("Summary %s: %v", id, err)
				}
				pat := res["Patient"][0]
				if want := mrn(objs(pat, "identifier")); s.Banner.MRN == "" || s.Banner.MRN != want {
					t.Errorf("%s: MRN %q, want %q", id, s.Banner.MRN, want)
				}
				// Patient 85 (born 29 March 1940) died on 14 July 1977, at
				// 37; patient 355 (born 5 September 1940) is 83 in January 2024.
				wantAge, wantDead := map[string]int{"85": 37, "355": 83}[id], id == "85"
				if s.Banner.AgeYears != wantAge || s.Banner.Age != itoa(wantAge)+" y" || s.Banner.Deceased != wantDead {
					t.Errorf("%s: age %d %q deceased %v, want %d, %v", id, s.Banner.AgeYears, s.Banner.Age, s.Banner.Deceased, wantAge, wantDead)
				}

				wantProblems := map[string]bool{}
				for _, r := range res["Condition"] {
					cats := string(fhir.Marshal(r["category"]))
					if firstCode(r, "clinicalStatus") == "active" && (contains(cats, "encounter-diagnosis") || contains(cats, "problem-list-item")) {
						wantProblems[fhir.IDOf(r)] = true
					}
				}
				if diff := cmp.Diff(sortedKeys(wantProblems), ids(s.Problems, func(p Problem) string { return p.ID })); diff != "" {
					t.Errorf("%s: problems (-bundle +summary):\n%s", id, diff)
				}
				for _, p := range s.Problems {
					if p.Code.Text == "Fear of becoming fat" {
						t.Errorf("%s: a health concern is listed as a problem", id)
					}
				}

				wantAllergies := map[string]bool{}
				for _, r := range res["AllergyIntolerance"] {
					if firstCode(r, "clinicalStatus") == "active" {
						wantAllergies[fhir.IDOf(r)] = true
					}
				}
				if diff := cmp.Diff(sortedKeys(wantAllergies), ids(s.Allergies, func(a Allergy) string { return a.ID })); diff != "" {
					t.Errorf("%s: allergies (-bundle +summary):\n%s", id, diff)
				}
				wantStatus := AllergiesNotRecorded
				if len(wantAllergies) > 0 {
					wantStatus = AllergiesRecorded
				}
				if s.Banner.AllergyStatus != wantStatus {
					t.Errorf("%s: allergy status %q, want %q", id, s.Banner.AllergyStatus, wantStatus)
				}

				wantVaccines := map[string]string{}
				for _, r := range res["Immunization"] {
					if fhir.Str(r["status"]) != "completed" {
						continue
					}
					cvx := concept(fhir.Obj(r["vaccineCode"])).Code(CVX)
					if d := fhir.Str(r["occurrenceDateTime"]); d > wantVaccines[cvx] {
						wantVaccines[cvx] = d
					}
				}
				gotVaccines := map[string]string{}
				for _, im := range s.Immunizations {
					gotVaccines[im.CVX] = im.Date.Text
				}
				if diff := cmp.Diff(wantVaccines, gotVaccines); diff != "" {
					t.Errorf("%s: latest dose per vaccine (-bundle +summary):\n%s", id, diff)
				}
				// Nothing is due for the deceased patient; patient 355 is
				// over 50 without a recombinant zoster dose, and his last
				// Td (CVX 113) is older than 10 years.
				if wantDead && len(s.Due) > 0 {
					t.Errorf("%s: immunizations due after death: %+v", id, s.Due)
				}
				if !wantDead && (!hasDue(s.Due, zosterRecombinant.name) || !hasDue(s.Due, tetanus.name) != (wantVaccines["113"] > "2014-01-15")) {
					t.Errorf("%s: due %+v (last Td %s)", id, s.Due, wantVaccines["113"])
				}

				wantMeds := map[string]bool{}
				for _, r := range res["MedicationRequest"] {
					if fhir.Str(r["status"]) == "active" {
						wantMeds[fhir.IDOf(r)] = true
					}
				}
				if diff := cmp.Diff(sortedKeys(wantMeds), ids(s.Medications, func(m Medication) string { return m.ID })); diff != "" {
					t.Errorf("%s: medications (-bundle +summary):\n%s", id, diff)
				}

				// Social history: the newest observation of each code of
				// category social-history.
				social := map[string]string{}
				for _, r := range res["Observation"] {
					if !contains(string(fhir.Marshal(r["category"])), `"social-history"`) {
						continue
					}
					k := codeKey(concept(fhir.Obj(r["code"])))
					if d := effective(r); social[k] == "" || d.Time.After(parseDate(social[k]).Time) {
						social[k] = d.Text
					}
				}
				gotSocial := map[string]string{}
				for _, o := range s.Social {
					if o.hasCategory("social-history") {
						gotSocial[codeKey(o.Code)] = o.Effective.Text
					}
				}
				if diff := cmp.Diff(social, gotSocial); diff != "" {
					t.Errorf("%s: social history (-bundle +summary):\n%s", id, diff)
				}
				if len(s.Vitals) == 0 {
					t.Errorf("%s: no vitals", id)
				}
			}
		})
	}
}

func hasDue(ds []Due, vaccine string) bool {
	for _, d := range ds {
		if d.Vaccine == vaccine {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func itoa(n int) string { return strconv.Itoa(n) }
