package chart

import (
	"slices"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// historyRecord is a patient whose problems and medications are in every
// state the history pages distinguish.
func historyRecord() []string {
	pat := `"subject":{"reference":"Patient/h"}`
	cond := func(id, status, extra string) string {
		cs := ""
		if status != "" {
			cs = `"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"` + status + `"}]},`
		}
		return `{"resourceType":"Condition","id":"` + id + `",` + pat + `,` + cs + `
		  "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}]` + extra + `}`
	}
	verif := func(code string) string {
		return `,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"` + code + `"}]}`
	}
	req := func(id, status, extra string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"order",` + pat + extra + `}`
	}
	return []string{
		`{"resourceType":"Organization","id":"home","name":"Home clinic"}`,
		`{"resourceType":"Patient","id":"h","managingOrganization":{"reference":"Organization/home"},"name":[{"family":"History","given":["Hana"]}]}`,
		`{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361","display":"Amlodipine 5 MG Oral Tablet"}]}}`,
		cond("active", "active", `,"code":{"text":"Asthma"},"onsetDateTime":"2010-01-01"`),
		cond("resolved", "resolved", `,"code":{"text":"Pneumonia"},"onsetDateTime":"2023-01-05","abatementDateTime":"2023-02-01"`),
		cond("remission", "remission", `,"code":{"text":"Depression"},"onsetDateTime":"2015-03-01","abatementPeriod":{"start":"2023-06-01","end":"2024-01-10"}`),
		cond("inactive", "inactive", `,"code":{"text":"Back pain"},"onsetDateTime":"2019-04-01"`),
		cond("eie", "", `,"code":{"text":"Diabetes"}`+verif("entered-in-error")),
		cond("refuted", "resolved", `,"code":{"text":"Myocardial infarction"},"abatementDateTime":"2024-03-01"`+verif("refuted")),
		`{"resourceType":"Condition","id":"concern",` + pat + `,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},
		  "category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/condition-category","code":"health-concern"}]}],"code":{"text":"Worried about weight"},"abatementDateTime":"2024-02-01"}`,
		req("mr-active", "active", `,"medicationCodeableConcept":{"text":"Salbutamol inhaler"},"authoredOn":"2020-01-01"`),
		req("mr-stopped", "stopped", `,"medicationCodeableConcept":{"text":"Lisinopril 10 mg"},"authoredOn":"2022-05-01","statusReason":{"text":"Cough"}`),
		req("mr-completed", "completed", `,"medicationReference":{"reference":"Medication/med1"},"authoredOn":"2021-01-01"`),
		req("mr-cancelled", "cancelled", `,"medicationCodeableConcept":{"text":"Amoxicillin 500 mg"},"authoredOn":"2023-09-01"`),
		req("mr-eie", "entered-in-error", `,"medicationCodeableConcept":{"text":"Warfarin"}`),
		`{"resourceType":"MedicationRequest","id":"mr-proposal","status":"cancelled","intent":"proposal","medicationCodeableConcept":{"text":"Proposed drug"},` + pat + `}`,
		`{"resourceType":"MedicationStatement","id":"ms-stopped","status":"stopped","medicationCodeableConcept":{"text":"Ibuprofen 200 mg"},` + pat + `,
		  "effectivePeriod":{"start":"2024-01-01","end":"2024-04-15"},"statusReason":[{"text":"Stomach upset"}]}`,
		`{"resourceType":"MedicationStatement","id":"ms-eie","status":"entered-in-error","medicationCodeableConcept":{"text":"Metformin"},` + pat + `}`,
	}
}

func TestHistory(t *testing.T) {
	for _, name := range storeConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := openStack(t, name)
			ctx := operator()
			for _, js := range historyRecord() {
				res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
				if err != nil {
					t.Fatalf("%v: %s", err, js)
				}
				if _, err := a.Repo.Update(ctx, fhir.TypeOf(res), fhir.IDOf(res), res, repo.UpdateOptions{}); err != nil {
					t.Fatalf("storing %s/%s: %v", fhir.TypeOf(res), fhir.IDOf(res), err)
				}
			}
			c := newChart(t, a, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))

			ph, err := c.ProblemHistory(ctx, "h")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ph.Inactive {
				got = append(got, p.ID+" "+p.Status+" "+p.Onset.Text+" "+p.Abatement.Text)
			}
			want := []string{"remission remission 2015-03-01 2024-01-10", "resolved resolved 2023-01-05 2023-02-01", "inactive inactive 2019-04-01 "}
			if !slices.Equal(got, want) {
				t.Errorf("inactive problems\n got %q\nwant %q", got, want)
			}
			if ph.EnteredInError != 1 {
				t.Errorf("problems entered in error: %d, want 1", ph.EnteredInError)
			}

			mh, err := c.MedicationHistory(ctx, "h")
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, m := range mh.Inactive {
				got = append(got, m.ID+"|"+m.Name+"|"+m.Status+"|"+m.Ended.Text+"|"+m.StatusReason)
				if m.Type == "MedicationRequest" && m.Changed.IsZero() {
					t.Errorf("%s: no time of the last change", m.ID)
				}
			}
			// The requests record no end: they count from the day they were
			// last changed (today, after the statement's recorded end on
			// 2024-04-15), and among them by start, newest first.
			want = []string{
				"mr-cancelled|Amoxicillin 500 mg|cancelled||",
				"mr-stopped|Lisinopril 10 mg|stopped||Cough",
				"mr-completed|Amlodipine 5 MG Oral Tablet|completed||",
				"ms-stopped|Ibuprofen 200 mg|stopped|2024-04-15|Stomach upset",
			}
			if !slices.Equal(got, want) {
				t.Errorf("inactive medications\n got %q\nwant %q", got, want)
			}
			if mh.EnteredInError != 2 {
				t.Errorf("medications entered in error: %d, want 2", mh.EnteredInError)
			}

			// The summary's active lists are unchanged by the history.
			s, err := c.Summary(ctx, "h")
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Problems) != 1 || s.Problems[0].ID != "active" || len(s.Medications) != 1 || s.Medications[0].ID != "mr-active" {
				t.Errorf("summary: problems %+v, medications %+v", s.Problems, s.Medications)
			}

			// The same errors as the other views.
			if _, err := c.ProblemHistory(ctx, "no such"); errs.KindOf(err) != errs.Invalid {
				t.Errorf("bad id: %v, want invalid", err)
			}
			if _, err := c.MedicationHistory(ctx, "missing"); errs.KindOf(err) != errs.NotFound {
				t.Errorf("unknown patient: %v, want not found", err)
			}
			if _, err := c.ProblemHistory(t.Context(), "h"); errs.KindOf(err) != errs.Unauthenticated {
				t.Errorf("no principal: %v, want unauthenticated", err)
			}
		})
	}
}
