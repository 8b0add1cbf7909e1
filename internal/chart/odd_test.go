package chart

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// oddNow is the time the odd record is charted at.
var oddNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// oddRecord is a record written to exercise missing and odd data: no
// birth date, a name that ended, "no known allergies", values that are
// strings, a blood pressure given only as components, results flagged by
// range only, entered-in-error and cancelled resources, mixed units, and
// data from another organization.
func oddRecord() []string {
	loinc := func(code, display string) string {
		return `{"coding":[{"system":"http://loinc.org","code":"` + code + `","display":"` + display + `"}]}`
	}
	lab := `"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}]`
	vital := `"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}]`
	pat := `"subject":{"reference":"Patient/odd"}`
	qty := func(v, unit string) string {
		return `{"value":` + v + `,"unit":"` + unit + `","system":"http://unitsofmeasure.org","code":"` + unit + `"}`
	}
	potassium := loinc("2823-3", "Potassium")
	return []string{
		`{"resourceType":"Organization","id":"home","name":"Home clinic"}`,
		`{"resourceType":"Organization","id":"other","name":"Other hospital"}`,
		`{"resourceType":"Patient","id":"odd","gender":"unknown","managingOrganization":{"reference":"Organization/home"},
		  "name":[{"use":"official","family":"Old","given":["Name"],"period":{"end":"2020-01-01"}},{"use":"usual","family":"Current","given":["Alex"]}]}`,
		`{"resourceType":"Patient","id":"kid","birthDate":"2021-03-01","name":[{"family":"Young","given":["Kim"]}]}`,
		`{"resourceType":"Condition","id":"c1",` + pat + `,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		  "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		  "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"J45.909","display":"Unspecified asthma, uncomplicated"},{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}],"text":"Asthma"},
		  "onsetString":"childhood"}`,
		// Recorded by mistake: without a clinical status (ait-2), which the
		// allergy rule would otherwise read as current.
		`{"resourceType":"AllergyIntolerance","id":"eie","patient":{"reference":"Patient/odd"},"code":{"text":"Peanut"},
		  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]}}`,
		`{"resourceType":"Condition","id":"c3",` + pat + `,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		  "category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/condition-category","code":"health-concern"}]}],"code":{"text":"Worried about weight"}}`,
		`{"resourceType":"AllergyIntolerance","id":"nka","patient":{"reference":"Patient/odd"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"716186003","display":"No known allergy"}]}}`,
		`{"resourceType":"Observation","id":"o1","status":"final",` + lab + `,"code":` + loinc("5778-6", "Color of Urine") + `,` + pat + `,"effectiveDateTime":"2024-01-02","valueString":"amber"}`,
		`{"resourceType":"Observation","id":"o2","status":"final",` + lab + `,"code":` + potassium + `,` + pat + `,"effectiveDateTime":"2024-01-02T09:00:00Z","valueQuantity":` + qty("6.1", "mmol/L") + `,
		  "referenceRange":[{"low":` + qty("3.5", "mmol/L") + `,"high":` + qty("5.1", "mmol/L") + `}]}`,
		`{"resourceType":"Observation","id":"o3","status":"final",` + lab + `,"code":` + loinc("2951-2", "Sodium") + `,` + pat + `,"effectiveDateTime":"2024-01-02T09:00:00Z","valueQuantity":` + qty("120", "mmol/L") + `,
		  "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"LL"}]}]}`,
		`{"resourceType":"Observation","id":"o4","status":"entered-in-error",` + lab + `,"code":` + potassium + `,` + pat + `,"effectiveDateTime":"2024-03-01T09:00:00Z","valueQuantity":` + qty("9.9", "mmol/L") + `}`,
		`{"resourceType":"Observation","id":"o5","status":"final",` + lab + `,"code":` + potassium + `,` + pat + `,"effectiveDateTime":"2022-06-01T09:00:00Z","valueQuantity":` + qty("4.2", "mmol/L") + `}`,
		`{"resourceType":"Observation","id":"o6","status":"final",` + lab + `,"code":` + potassium + `,` + pat + `,"effectiveDateTime":"2021-06-01T09:00:00Z","valueQuantity":` + qty("16", "mg/dL") + `}`,
		`{"resourceType":"Observation","id":"bp","status":"final",` + vital + `,"code":` + loinc("85354-9", "Blood pressure panel") + `,` + pat + `,"effectiveDateTime":"2024-05-01T10:00:00Z",
		  "component":[{"code":` + loinc("8480-6", "Systolic blood pressure") + `,"valueQuantity":` + qty("150", "mm[Hg]") + `,
		    "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}]},
		   {"code":` + loinc("8462-4", "Diastolic blood pressure") + `,"valueQuantity":` + qty("95", "mm[Hg]") + `}]}`,
		`{"resourceType":"Observation","id":"hr","status":"cancelled",` + vital + `,"code":` + loinc("8867-4", "Heart rate") + `,` + pat + `,"effectiveDateTime":"2024-05-01T10:00:00Z","valueQuantity":` + qty("72", "/min") + `}`,
		`{"resourceType":"Flag","id":"f1","status":"active","code":{"text":"Fall risk"},` + pat + `}`,
		`{"resourceType":"Flag","id":"f2","status":"inactive","code":{"text":"Old alert"},` + pat + `}`,
		`{"resourceType":"Appointment","id":"a1","status":"booked","start":"2024-06-08T09:00:00Z","end":"2024-06-08T09:20:00Z","description":"Asthma review",
		  "participant":[{"actor":{"reference":"Patient/odd"},"status":"accepted"},{"actor":{"display":"Dr. Lee"},"status":"accepted"}]}`,
		`{"resourceType":"Appointment","id":"a2","status":"booked","start":"2024-05-08T09:00:00Z","end":"2024-05-08T09:20:00Z","participant":[{"actor":{"reference":"Patient/odd"},"status":"accepted"}]}`,
		`{"resourceType":"Appointment","id":"a3","status":"cancelled","start":"2024-06-09T09:00:00Z","end":"2024-06-09T09:20:00Z","participant":[{"actor":{"reference":"Patient/odd"},"status":"accepted"}]}`,
		`{"resourceType":"MedicationStatement","id":"ms1","status":"active","medicationCodeableConcept":{"text":"Aspirin 81 mg"},` + pat + `,"dosage":[{"text":"one daily"}]}`,
		`{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","medicationCodeableConcept":{"text":"Salbutamol inhaler"},` + pat + `,
		  "dosageInstruction":[{"timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d"}},"asNeededBoolean":true,"doseAndRate":[{"doseQuantity":{"value":2,"unit":"puff"}}]}]}`,
		`{"resourceType":"MedicationRequest","id":"mr2","status":"active","intent":"proposal","medicationCodeableConcept":{"text":"Proposed drug"},` + pat + `}`,
		`{"resourceType":"Encounter","id":"e1","meta":{"source":"http://other.example.org/fhir"},"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER"},` + pat + `,
		  "period":{"start":"2024-05-01T09:30:00Z"},"serviceProvider":{"reference":"Organization/other","display":"Other hospital"}}`,
		`{"resourceType":"Encounter","id":"e2","status":"cancelled","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` + pat + `,"period":{"start":"2024-05-20T09:30:00Z"}}`,
		`{"resourceType":"Immunization","id":"i1","status":"not-done","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},"patient":{"reference":"Patient/kid"},"occurrenceDateTime":"2023-10-01"}`,
	}
}

func loadOdd(t *testing.T, a *stack) {
	ctx := operator()
	for _, js := range oddRecord() {
		res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
		if err != nil {
			t.Fatalf("%v: %s", err, js)
		}
		if _, err := a.Repo.Update(ctx, fhir.TypeOf(res), fhir.IDOf(res), res, repo.UpdateOptions{}); err != nil {
			t.Fatalf("storing %s/%s: %v", fhir.TypeOf(res), fhir.IDOf(res), err)
		}
	}
}

func TestOddData(t *testing.T) {
	for _, name := range storeConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := openStack(t, name)
			loadOdd(t, a)
			c := newChart(t, a, oddNow)
			ctx := operator()
			s, err := c.Summary(ctx, "odd")
			if err != nil {
				t.Fatal(err)
			}
			b := s.Banner
			if b.Name != "Alex Current" || b.Age != "" || b.AgeYears != -1 || b.MRN != "" || b.Deceased {
				t.Errorf("banner %+v", b)
			}
			if b.AllergyStatus != NoKnownAllergies || len(s.Allergies) != 0 {
				t.Errorf("allergy status %q, %d allergies; want no known allergies", b.AllergyStatus, len(s.Allergies))
			}
			if len(b.Alerts) != 2 || b.Alerts[0].Text != "Fall risk" || b.Alerts[1].Text != "No known allergies" {
				t.Errorf("alerts %+v, want the active flag and no known allergies", b.Alerts)
			}
			if len(s.Problems) != 1 || s.Problems[0].ID != "c1" || len(s.Problems[0].ICD10CM) != 1 || len(s.Problems[0].SNOMED) != 1 || s.Problems[0].Onset.Text != "childhood" {
				t.Errorf("problems %+v, want asthma only, with both codings", s.Problems)
			}
			doses := map[string]string{}
			for _, m := range s.Medications {
				doses[m.ID] = m.Dose
			}
			if len(doses) != 2 || doses["ms1"] != "one daily" || doses["mr1"] != "2 puff, twice a day, as needed" {
				t.Errorf("medications %v", doses)
			}
			results := map[string]Observation{}
			for _, r := range s.Results {
				results[r.ID] = r
			}
			if len(results) != 3 || results["o1"].Value.Text != "amber" || results["o2"].Flag != FlagHigh || results["o3"].Flag != FlagCriticalLow {
				t.Errorf("latest results %+v", s.Results)
			}
			if len(s.Vitals) != 1 || s.Vitals[0].Value.Text != "150/95 mm[Hg]" || s.Vitals[0].Flag != FlagHigh {
				t.Errorf("vitals %+v, want the blood pressure from components only (the heart rate was cancelled)", s.Vitals)
			}
			if len(s.Appointments) != 1 || s.Appointments[0].ID != "a1" || strings.Join(s.Appointments[0].Participants, ",") != "Dr. Lee" {
				t.Errorf("appointments %+v", s.Appointments)
			}
			if len(s.Due) != 0 {
				t.Errorf("due without a birth date: %+v", s.Due)
			}
			if len(s.Encounters) != 1 {
				t.Fatalf("encounters %+v, want the finished one", s.Encounters)
			}
			if src := s.Encounters[0].Source; !src.External || src.System != "http://other.example.org/fhir" || src.Organization.Display != "Other hospital" {
				t.Errorf("encounter source %+v, want external from Other hospital", src)
			}

			// Trends: entered-in-error left out, other units counted apart.
			tr, err := c.Trend(ctx, "odd", "2823-3")
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Points) != 2 || tr.Points[0].ObservationID != "o5" || tr.Points[1].Flag != FlagHigh || tr.OtherUnits["mg/dL"] != 1 || tr.Unit != "mmol/L" {
				t.Errorf("potassium trend %+v", tr)
			}
			if tr, err := c.Trend(ctx, "odd", "http://loinc.org|8480-6"); err != nil || len(tr.Points) != 1 || tr.Points[0].Value != 150 {
				t.Errorf("systolic trend from a component: %+v, %v", tr, err)
			}

			// Results: abnormal only, and the day tables.
			r, err := c.Results(ctx, "odd", ResultFilter{AbnormalOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var abn []string
			for _, g := range r.Groups {
				for _, o := range g.Rows {
					abn = append(abn, o.ID)
				}
			}
			if strings.Join(abn, ",") != "o2,o3" {
				t.Errorf("abnormal results %v, want o2,o3", abn)
			}
			tl, err := c.Timeline(ctx, "odd", Page{})
			if err != nil || tl.Total != 1 || len(tl.Encounters) != 1 || tl.Encounters[0].Class != "emergency" {
				t.Errorf("timeline %+v, %v", tl, err)
			}

			// The immunization rules: a 3-year-old without a flu dose this
			// season (the not-done one does not count) is due for it, and
			// for nothing of the adult rules.
			kid, err := c.Summary(ctx, "kid")
			if err != nil {
				t.Fatal(err)
			}
			if len(kid.Due) != 1 || kid.Due[0].Vaccine != influenza.name || len(kid.Immunizations) != 0 || kid.Banner.Age != "3 y" {
				t.Errorf("kid: due %+v, given %+v, age %q", kid.Due, kid.Immunizations, kid.Banner.Age)
			}

			// The access policy applies: a front desk user sees the
			// appointments and encounters, not the clinical record; a
			// client whose scopes restrict observations to laboratory
			// results sees those (each type is then searched alone); a
			// user without a role sees nothing.
			desk := access.With(context.Background(), &access.Principal{Kind: access.User, Username: "desk", Organization: "Organization/home", Roles: []string{"frontdesk"}})
			ds, err := c.Summary(desk, "odd")
			if err != nil {
				t.Fatalf("front desk: %v", err)
			}
			if len(ds.Appointments) != 1 || len(ds.Encounters) != 1 || len(ds.Problems)+len(ds.Medications)+len(ds.Results)+len(ds.Vitals) != 0 {
				t.Errorf("front desk summary: %d appointments, %d encounters, %d problems, %d medications, %d results, %d vitals",
					len(ds.Appointments), len(ds.Encounters), len(ds.Problems), len(ds.Medications), len(ds.Results), len(ds.Vitals))
			}
			app := access.With(context.Background(), &access.Principal{Kind: access.Client, ClientID: "labs", Scopes: []string{"system/Patient.rs", "system/Condition.rs",
				"system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}})
			as, err := c.Summary(app, "odd")
			if err != nil {
				t.Fatalf("restricted client: %v", err)
			}
			if len(as.Results) != 3 || len(as.Vitals) != 0 || len(as.Problems) != 1 || len(as.Medications) != 0 {
				t.Errorf("restricted client summary: %d results, %d vitals, %d problems, %d medications", len(as.Results), len(as.Vitals), len(as.Problems), len(as.Medications))
			}
			if _, err := c.Timeline(app, "odd", Page{}); !errs.Is(err, errs.Permission) {
				t.Errorf("timeline for a client that may not read encounters: %v, want a permission error", err)
			}
			app2 := access.With(context.Background(), &access.Principal{Kind: access.Client, ClientID: "labs", Scopes: []string{"system/Patient.rs", "system/Encounter.rs",
				"system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}})
			if tl, err := c.Timeline(app2, "odd", Page{}); err != nil || len(tl.Encounters) != 1 || !tl.Encounters[0].Source.External {
				t.Errorf("timeline for a client with restricted observations: %+v, %v", tl, err)
			}
			nobody := access.With(context.Background(), &access.Principal{Kind: access.User, Username: "nobody"})
			if _, err := c.Summary(nobody, "odd"); !errs.Is(err, errs.Permission) {
				t.Errorf("a user without a role: %v, want a permission error", err)
			}

			// Bad input and missing data are errors of their kinds.
			for _, e := range []struct {
				name string
				err  error
				kind errs.Kind
			}{
				{"no principal", second(c.Summary(context.Background(), "odd")), errs.Unauthenticated},
				{"unknown patient", second(c.Summary(ctx, "nobody")), errs.NotFound},
				{"invalid id", second(c.Summary(ctx, "../x")), errs.Invalid},
				{"timeline of an unknown patient", second(c.Timeline(ctx, "nobody", Page{})), errs.NotFound},
				{"negative page", second(c.Timeline(ctx, "odd", Page{Count: -1})), errs.Invalid},
				{"empty code", second(c.Trend(ctx, "odd", " ")), errs.Invalid},
				{"code with a space", second(c.Trend(ctx, "odd", "85 354")), errs.Invalid},
				{"system without code", second(c.Trend(ctx, "odd", "http://loinc.org|")), errs.Invalid},
				{"grouping", second(c.Results(ctx, "odd", ResultFilter{GroupBy: "week"})), errs.Invalid},
				{"period", second(c.Results(ctx, "odd", ResultFilter{Since: oddNow, Until: oddNow.AddDate(0, 0, -1)})), errs.Invalid},
			} {
				if !errs.Is(e.err, e.kind) {
					t.Errorf("%s: error %v, want kind %v", e.name, e.err, e.kind)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }
