package visit_test

import (
	"net/url"
	"testing"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/visit"
)

// TestBadInput sends wrong input to every step: each answers with the
// field errors a form shows next to its fields, and nothing is stored.
func badInput(t *testing.T, e *env) {
	ctx := e.doctor
	enc, err := e.svc.Start(ctx, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "acute"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "acute", Assessment: "A.", Plan: "P."}); err != nil {
		t.Fatal(err)
	}
	amox := visit.Rx{RxNorm: "308192", Dose: 500, DoseUnit: "mg", Route: "oral", TimesPerDay: 3, DurationDays: 10, Quantity: 30, DispenseUnit: "tablet"}
	cases := []struct {
		name string
		call func() error
		want map[string]string // field -> message (exact)
	}{
		{"start: empty", func() error {
			_, err := e.svc.Start(ctx, visit.StartRequest{})
			return err
		}, map[string]string{"patient": "Choose the patient", "practitioner": "Choose the practitioner", "type": "Choose the type of visit"}},
		{"start: unknown patient", func() error {
			_, err := e.svc.Start(ctx, visit.StartRequest{Patient: "Patient/nobody", Practitioner: e.prac, Type: "acute"})
			return err
		}, map[string]string{"patient": "No patient Patient/nobody was found"}},
		{"vitals: impossible", func() error {
			_, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{Systolic: f(400), Diastolic: f(80), HeartRate: f(5), TempC: f(98.6), SpO2: f(101), Pain: f(11)})
			return err
		}, map[string]string{
			"systolic":  "Systolic pressure must be between 50 and 300 mmHg",
			"heartRate": "Heart rate must be between 20 and 300 beats/min",
			"tempC":     "Temperature must be between 25 and 45 °C",
			"spo2":      "Oxygen saturation must be between 50 and 100 %",
			"pain":      "Pain score must be between 0 and 10",
		}},
		{"vitals: diastolic above systolic, two units", func() error {
			_, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{Systolic: f(80), Diastolic: f(120), WeightKg: f(70), WeightLb: f(154)})
			return err
		}, map[string]string{"diastolic": "Diastolic pressure must be lower than systolic", "weightLb": "Enter the weight in kg or in lb, not both"}},
		{"vitals: implausible BMI", func() error {
			// Each value is possible alone; together they are a typo.
			_, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{WeightKg: f(300), HeightCm: f(40)})
			return err
		}, map[string]string{"bmi": "BMI must be between 5 and 150 kg/m2; check the weight and height"}},
		{"vitals: none", func() error {
			_, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{})
			return err
		}, map[string]string{"vitals": "Enter at least one vital sign"}},
		{"vitals: unknown visit", func() error {
			_, err := e.svc.RecordVitals(ctx, "no-such-visit", visit.Vitals{HeartRate: f(70)})
			return err
		}, map[string]string{"encounter": "No visit Encounter/no-such-visit was found"}},
		{"note: empty, unknown template", func() error {
			_, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "surgery"})
			return err
		}, map[string]string{"template": "Choose a note template", "subjective": "Write at least one section of the note"}},
		{"diagnosis: unknown code", func() error {
			_, err := e.svc.AddDiagnosis(ctx, enc, visit.Diagnosis{ICD10: "J02.99"})
			return err
		}, map[string]string{"icd10": "J02.99 is not an ICD-10-CM code"}},
		{"diagnosis: category", func() error {
			_, err := e.svc.AddDiagnosis(ctx, enc, visit.Diagnosis{ICD10: "J02"})
			return err
		}, map[string]string{"icd10": "J02 (Acute pharyngitis) is a category; choose a more specific code"}},
		{"diagnosis: empty, future onset", func() error {
			_, err := e.svc.AddDiagnosis(ctx, enc, visit.Diagnosis{ICD10: "", Onset: "2999-01-01"})
			return err
		}, map[string]string{"icd10": "Choose the diagnosis", "onset": "The date cannot be in the future"}},
		{"diagnosis: impossible onset", func() error {
			_, err := e.svc.AddDiagnosis(ctx, enc, visit.Diagnosis{ICD10: "J02.9", Onset: "2026-02-30"})
			return err
		}, map[string]string{"onset": "Enter a date as YYYY-MM-DD"}},
		{"lab: unknown code", func() error {
			_, err := e.svc.OrderLab(ctx, enc, visit.LabOrder{LOINC: []string{"6690-2", "99999-9"}, Priority: "whenever"})
			return err
		}, map[string]string{"loinc": "99999-9 is not a known LOINC laboratory test", "priority": "Choose the priority: routine, urgent, asap or stat"}},
		{"imaging: bad check digit", func() error {
			_, err := e.svc.OrderImaging(ctx, enc, visit.ImagingOrder{LOINC: "36643-4", Display: "XR Chest 2 Views"})
			return err
		}, map[string]string{"loinc": "36643-4 is not a valid LOINC code"}},
		{"imaging: nothing", func() error {
			_, err := e.svc.OrderImaging(ctx, enc, visit.ImagingOrder{})
			return err
		}, map[string]string{"text": "Enter the study to perform"}},
		{"referral: no reason, unknown organization", func() error {
			_, err := e.svc.Refer(ctx, enc, visit.Referral{Specialty: "Cardiology", Organization: "Organization/nowhere"})
			return err
		}, map[string]string{"reason": "Enter the reason for the referral"}},
		{"referral: unknown organization", func() error {
			_, err := e.svc.Refer(ctx, enc, visit.Referral{Organization: "Organization/nowhere", Reason: "Chest pain on exertion"})
			return err
		}, map[string]string{"organization": "No organization Organization/nowhere was found"}},
		{"prescription: empty", func() error {
			_, err := e.svc.Prescribe(ctx, enc, visit.Rx{}, nil)
			return err
		}, map[string]string{
			"rxnorm":       "Choose the medication",
			"dose":         "Enter a dose greater than 0",
			"doseUnit":     "Choose the unit of the dose",
			"route":        "Choose the route",
			"frequency":    "Choose how often (times per day, every N hours, or as needed)",
			"durationDays": "Duration must be between 1 and 365 days",
			"dispenseUnit": "Choose the unit of the quantity to dispense",
			"quantity":     "Enter the quantity to dispense",
		}},
		{"prescription: an ingredient, not a product", func() error {
			rx := amox
			rx.RxNorm = "723"
			_, err := e.svc.Prescribe(ctx, enc, rx, nil)
			return err
		}, map[string]string{"rxnorm": "amoxicillin is not a product that can be prescribed; choose a drug with its strength and form"}},
		{"prescription: unknown code, too many refills", func() error {
			rx := amox
			rx.RxNorm, rx.Refills = "0000000", 40
			_, err := e.svc.Prescribe(ctx, enc, rx, nil)
			return err
		}, map[string]string{"rxnorm": "0000000 is not a known RxNorm code", "refills": "Refills must be between 0 and 11"}},
		{"sign: no signer", func() error {
			_, err := e.svc.Sign(ctx, enc, "")
			return err
		}, map[string]string{"signer": "Choose the practitioner who signs"}},
		{"addendum: empty, of a draft", func() error {
			_, err := e.svc.Addendum(ctx, "Composition/whatever", "  ", e.prac)
			return err
		}, map[string]string{"text": "Write the addendum"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			err := c.call()
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v, want invalid", err)
			}
			got := visit.Fields(err)
			for field, msg := range c.want {
				if got[field] != msg {
					t.Errorf("%s: %q, want %q", field, got[field], msg)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("fields %v, want %v", got, c.want)
			}
			if issues := errs.IssuesOf(err); len(issues) != len(got) || issues[0].Expression[0] == "" {
				t.Errorf("issues %v do not name the fields", issues)
			}
			if after := e.counts(); !equal(before, after) {
				t.Errorf("stored something: %v -> %v", before, after)
			}
		})
	}
}

// TestStartFromAppointment returns the same encounter for an appointment
// started twice.
func startFromAppointment(t *testing.T, e *env) {
	appt := e.create(map[string]any{"resourceType": "Appointment", "status": "booked",
		"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T09:20:00Z",
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": e.patient}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": e.prac}, "status": "accepted"},
		}})
	req := visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "follow-up", Appointment: appt}
	other := e.create(map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Other"}}, "managingOrganization": map[string]any{"reference": e.org}})
	if _, err := e.svc.Start(e.doctor, visit.StartRequest{Patient: other, Practitioner: e.prac, Type: "follow-up", Appointment: appt}); visit.Fields(err)["appointment"] != "The appointment is for another patient" {
		t.Errorf("starting another patient's appointment: %v", err)
	}
	first, err := e.svc.Start(e.doctor, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.Start(e.doctor, req)
	if err != nil || second != first {
		t.Fatalf("second Start = %q, %v; want %q", second, err, first)
	}
	if n := len(e.search("Encounter", url.Values{"patient": {e.patient}})); n != 1 {
		t.Errorf("%d encounters, want 1", n)
	}
	res, _ := e.read("Encounter/" + first)
	if str(res, "appointment", 0, "reference") != appt {
		t.Errorf("appointment = %v", res["appointment"])
	}
}

// TestResolveProblem resolves a problem-list diagnosis.
func resolveProblem(t *testing.T, e *env) {
	enc, err := e.svc.Start(e.doctor, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "follow-up"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.svc.AddDiagnosis(e.doctor, enc, visit.Diagnosis{ICD10: "e11.9", Onset: "2019-05", ProblemList: true})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.read("Condition/" + id)
	if str(c, "code", "coding", 0, "code") != "E11.9" || str(c, "category", 1, "coding", 0, "code") != "problem-list-item" || str(c, "onsetDateTime") != "2019-05" {
		t.Errorf("condition: %v", c)
	}
	if _, err := e.svc.AddDiagnosis(e.doctor, enc, visit.Diagnosis{ICD10: "E11.9"}); visit.Fields(err)["icd10"] != "E11.9 is already a diagnosis of this visit" {
		t.Errorf("the same diagnosis twice: %v", err)
	}
	if err := e.svc.ResolveProblem(e.doctor, id, "2018-01-01"); visit.Fields(err)["abatement"] == "" {
		t.Errorf("resolved before onset: %v", err)
	}
	if err := e.svc.ResolveProblem(e.doctor, id, "2026-10-01"); err != nil {
		t.Fatal(err)
	}
	c, _ = e.read("Condition/" + id)
	if str(c, "clinicalStatus", "coding", 0, "code") != "resolved" || str(c, "abatementDateTime") != "2026-10-01" {
		t.Errorf("resolved condition: %v", c)
	}
	if err := e.svc.ResolveProblem(e.doctor, id, ""); !errs.Is(err, errs.Conflict) {
		t.Errorf("resolving twice: %v", err)
	}
}

// TestImagingAndReferral orders a chest X-ray and a referral.
func imagingAndReferral(t *testing.T, e *env) {
	enc, err := e.svc.Start(e.doctor, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "acute"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.svc.OrderImaging(e.doctor, enc, visit.ImagingOrder{LOINC: "36643-5", Display: "XR Chest 2 Views", Reason: "Cough for 4 weeks"})
	if err != nil {
		t.Fatal(err)
	}
	sr, _ := e.read("ServiceRequest/" + img)
	if str(sr, "category", 0, "coding", 0, "code") != "363679005" || str(sr, "code", "coding", 0, "code") != "36643-5" || str(sr, "priority") != "routine" {
		t.Errorf("imaging order: %v", sr)
	}
	card := e.create(map[string]any{"resourceType": "Organization", "name": "Heart Clinic"})
	ref, err := e.svc.Refer(e.doctor, enc, visit.Referral{Specialty: "Cardiology", Organization: card, Reason: "Exertional chest pain", Priority: "urgent"})
	if err != nil {
		t.Fatal(err)
	}
	sr, _ = e.read("ServiceRequest/" + ref)
	if str(sr, "category", 0, "coding", 0, "code") != "3457005" || str(sr, "performer", 0, "reference") != card ||
		str(sr, "performerType", "text") != "Cardiology" || str(sr, "reasonCode", 0, "text") != "Exertional chest pain" {
		t.Errorf("referral: %v", sr)
	}
}
