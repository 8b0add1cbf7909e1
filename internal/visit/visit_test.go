package visit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/visit"
)

// TestWholeVisit runs a visit from start to signature and checks that the
// FHIR searches by encounter return everything it recorded.
func wholeVisit(t *testing.T, e *env) {
	ctx := e.doctor
	enc, err := e.svc.Start(ctx, visit.StartRequest{
		Patient: e.patient, Practitioner: e.prac, Type: "acute", Reason: "Sore throat for three days",
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	encRef := "Encounter/" + enc
	res, _ := e.read(encRef)
	if got := str(res, "status"); got != "in-progress" {
		t.Errorf("status = %q, want in-progress", got)
	}
	if got := str(res, "class", "code"); got != "AMB" {
		t.Errorf("class = %q, want AMB", got)
	}
	if got := str(res, "serviceProvider", "reference"); got != e.org {
		t.Errorf("serviceProvider = %q, want %q", got, e.org)
	}
	if got := str(res, "participant", 0, "individual", "reference"); got != e.prac {
		t.Errorf("participant = %q, want %q", got, e.prac)
	}
	if str(res, "period", "start") == "" || str(res, "reasonCode", 0, "text") != "Sore throat for three days" {
		t.Errorf("period or reason missing: %v", res)
	}

	// Vitals in US units: converted, and BMI computed from the stored values.
	ids, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{
		Systolic: f(128), Diastolic: f(82), HeartRate: f(96), RespRate: f(18), TempF: f(101.3),
		SpO2: f(98), WeightLb: f(154.3), HeightIn: f(68), Pain: f(4),
	})
	if err != nil {
		t.Fatalf("RecordVitals: %v", err)
	}
	if len(ids) != 9 { // BP, HR, RR, temp, SpO2, weight, height, pain, BMI
		t.Fatalf("%d observations, want 9", len(ids))
	}
	byCode := map[string]map[string]any{}
	for _, o := range e.search("Observation", url.Values{"encounter": {encRef}, "category": {"vital-signs"}}) {
		byCode[str(o, "code", "coding", 0, "code")] = o
		if str(o, "subject", "reference") != e.patient || str(o, "performer", 0, "reference") != e.prac || str(o, "effectiveDateTime") == "" {
			t.Errorf("observation %s lacks subject, performer or effective time", str(o, "code", "coding", 0, "code"))
		}
	}
	for code, want := range map[string][2]string{
		"8310-5":  {"38.5", "Cel"},
		"29463-7": {"69.99", "kg"},
		"8302-2":  {"172.7", "cm"},
		"39156-5": {"23.5", "kg/m2"},
		"8867-4":  {"96", "/min"},
		"59408-5": {"98", "%"},
	} {
		o := byCode[code]
		if got := [2]string{num(o, "valueQuantity", "value"), str(o, "valueQuantity", "code")}; got != want {
			t.Errorf("%s = %v, want %v", code, got, want)
		}
	}
	bp := byCode["85354-9"]
	if num(bp, "component", 0, "valueQuantity", "value") != "128" || str(bp, "component", 0, "code", "coding", 0, "code") != "8480-6" ||
		num(bp, "component", 1, "valueQuantity", "value") != "82" || str(bp, "component", 1, "code", "coding", 0, "code") != "8462-4" {
		t.Errorf("blood pressure panel: %v", bp["component"])
	}

	// A draft, edited once.
	draft, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "acute", Subjective: "Sore throat, no cough."})
	if err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	note := visit.Note{Template: "acute",
		Subjective: "Sore throat for 3 days, fever.\nNo cough. <none> & no rash.",
		Objective:  "Tonsillar exudate, tender anterior nodes.",
		Assessment: "Acute pharyngitis; Centor 4.",
		Plan:       "Azithromycin (penicillin allergy). Rapid strep sent. Return if worse."}
	again, err := e.svc.SaveDraft(ctx, enc, note)
	if err != nil || again != draft {
		t.Fatalf("SaveDraft again = %q, %v; want the same draft %q", again, err, draft)
	}
	got, id, err := e.svc.Draft(ctx, enc)
	if err != nil || id != draft || got != note {
		t.Fatalf("Draft = %+v, %q, %v; want %+v", got, id, err, note)
	}

	cond, err := e.svc.AddDiagnosis(ctx, enc, visit.Diagnosis{ICD10: "J02.9", Onset: "2026-11-22"})
	if err != nil {
		t.Fatalf("AddDiagnosis: %v", err)
	}
	c, _ := e.read("Condition/" + cond)
	if str(c, "code", "coding", 0, "system") != "http://hl7.org/fhir/sid/icd-10-cm" || str(c, "code", "coding", 0, "code") != "J02.9" ||
		str(c, "code", "coding", 0, "display") != "Acute pharyngitis, unspecified" {
		t.Errorf("condition code: %v", c["code"])
	}
	if str(c, "category", 0, "coding", 0, "code") != "encounter-diagnosis" || str(c, "clinicalStatus", "coding", 0, "code") != "active" ||
		str(c, "verificationStatus", "coding", 0, "code") != "confirmed" || str(c, "recorder", "reference") != e.prac {
		t.Errorf("condition: %v", c)
	}
	res, _ = e.read(encRef)
	if str(res, "diagnosis", 0, "condition", "reference") != "Condition/"+cond || num(res, "diagnosis", 0, "rank") != "1" {
		t.Errorf("Encounter.diagnosis = %v", res["diagnosis"])
	}

	labs, err := e.svc.OrderLab(ctx, enc, visit.LabOrder{LOINC: []string{"6690-2", "2345-7"}, Priority: "urgent"})
	if err != nil || len(labs) != 2 {
		t.Fatalf("OrderLab = %v, %v", labs, err)
	}
	sr, _ := e.read("ServiceRequest/" + labs[0])
	if str(sr, "category", 0, "coding", 0, "code") != "108252007" || str(sr, "code", "coding", 0, "code") != "6690-2" ||
		str(sr, "status") != "active" || str(sr, "intent") != "order" || str(sr, "priority") != "urgent" || str(sr, "requester", "reference") != e.prac {
		t.Errorf("lab order: %v", sr)
	}

	// Amoxicillin for a patient allergic to penicillin: alerts, refusal.
	amox := visit.Rx{RxNorm: "308192", Dose: 500, DoseUnit: "mg", Route: "oral", TimesPerDay: 3, DurationDays: 10, Quantity: 30, DispenseUnit: "tablet"}
	alerts, err := e.svc.CheckPrescription(ctx, e.patient, amox)
	if err != nil {
		t.Fatalf("CheckPrescription: %v", err)
	}
	if len(alerts) == 0 || alerts[0].Code != "ALGY" || alerts[0].RelatedRef != e.allergy || alerts[0].Severity != "high" {
		t.Fatalf("alerts = %+v, want a high drug-allergy alert against %s", alerts, e.allergy)
	}
	before := e.counts()
	_, err = e.svc.Prescribe(ctx, enc, amox, nil)
	if !errs.Is(err, errs.Invalid) || len(visit.Alerts(err)) == 0 || visit.Alerts(err)[0].ID != alerts[0].ID {
		t.Fatalf("Prescribe amoxicillin without override: %v, want refusal listing the alerts", err)
	}
	if after := e.counts(); !equal(before, after) {
		t.Errorf("a refused prescription wrote something: %v -> %v", before, after)
	}

	azi := visit.Rx{RxNorm: "308460", Dose: 500, DoseUnit: "mg", Route: "oral", TimesPerDay: 1, DurationDays: 3,
		Quantity: 6, DispenseUnit: "tablet", Refills: 0, Note: "Take 2 tablets on day 1, then 1 daily"}
	rx, err := e.svc.Prescribe(ctx, enc, azi, nil)
	if err != nil {
		t.Fatalf("Prescribe azithromycin: %v", err)
	}
	mr, _ := e.read(rx.MedicationRequest)
	for _, c := range []struct{ got, want string }{
		{str(mr, "status"), "active"},
		{str(mr, "intent"), "order"},
		{str(mr, "medicationCodeableConcept", "coding", 0, "code"), "308460"},
		{str(mr, "requester", "reference"), e.prac},
		{str(mr, "encounter", "reference"), encRef},
		{str(mr, "dosageInstruction", 0, "text"), "500 mg by mouth once a day for 3 days"},
		{str(mr, "dosageInstruction", 0, "route", "coding", 0, "code"), "26643006"},
		{num(mr, "dosageInstruction", 0, "timing", "repeat", "frequency"), "1"},
		{str(mr, "dosageInstruction", 0, "timing", "repeat", "periodUnit"), "d"},
		{num(mr, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"), "500"},
		{num(mr, "dispenseRequest", "numberOfRepeatsAllowed"), "0"},
		{num(mr, "dispenseRequest", "quantity", "value"), "6"},
		{num(mr, "dispenseRequest", "expectedSupplyDuration", "value"), "3"},
	} {
		if c.got != c.want {
			t.Errorf("MedicationRequest: got %q, want %q", c.got, c.want)
		}
	}
	if len(rx.DetectedIssues) != 0 {
		t.Errorf("azithromycin raised issues: %v", rx.DetectedIssues)
	}

	signed, err := e.svc.Sign(ctx, enc, e.prac)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	comp, version := e.read(signed.Composition)
	if signed.Composition != "Composition/"+draft || str(comp, "status") != "final" || str(comp, "type", "coding", 0, "code") != "11506-3" ||
		str(comp, "attester", 0, "mode") != "legal" || str(comp, "attester", 0, "party", "reference") != e.prac || str(comp, "attester", 0, "time") == "" {
		t.Errorf("signed Composition: %v", comp)
	}
	if len(path(comp, "section").([]any)) != 4 || str(comp, "section", 3, "code", "coding", 0, "code") != "18776-5" {
		t.Errorf("sections: %v", comp["section"])
	}
	dr, _ := e.read(signed.DocumentReference)
	if str(dr, "status") != "current" || str(dr, "docStatus") != "final" || str(dr, "context", "encounter", 0, "reference") != encRef {
		t.Errorf("DocumentReference: %v", dr)
	}
	text, _ := base64.StdEncoding.DecodeString(str(dr, "content", 0, "attachment", "data"))
	if !strings.Contains(string(text), "No cough. <none> & no rash.") || !strings.Contains(string(text), "Signed by "+e.prac) {
		t.Errorf("rendered note:\n%s", text)
	}
	prov, _ := e.read(signed.Provenance)
	if str(prov, "signature", 0, "type", 0, "code") != "1.2.840.10065.1.12.1.1" || str(prov, "signature", 0, "who", "reference") != e.prac ||
		str(prov, "signature", 0, "data") != signed.Digest || str(prov, "target", 0, "reference") != signed.Composition+"/_history/"+strconv.FormatInt(signed.Version, 10) {
		t.Errorf("Provenance: %v", prov)
	}
	if err := e.svc.Verify(ctx, signed.Provenance); err != nil {
		t.Errorf("Verify: %v", err)
	}

	// Everything is found by encounter through the FHIR API.
	for typ, want := range map[string]int{"Observation": 9, "Condition": 1, "ServiceRequest": 2, "MedicationRequest": 1,
		"Composition": 1, "DocumentReference": 1} {
		if got := len(e.apiSearch(ctx, typ, url.Values{"encounter": {encRef}})); got != want {
			t.Errorf("GET %s?encounter=%s: %d, want %d", typ, encRef, got, want)
		}
	}
	if got := e.apiSearch(ctx, "Encounter", url.Values{"_id": {enc}, "patient": {e.patient}}); len(got) != 1 {
		t.Errorf("GET Encounter?_id=%s: %d, want 1", enc, len(got))
	}
	for _, target := range []string{signed.DocumentReference, signed.Composition} {
		if got := e.apiSearch(ctx, "Provenance", url.Values{"target": {target}}); len(got) != 1 {
			t.Errorf("GET Provenance?target=%s: %d, want 1", target, len(got))
		}
	}

	// The signed note cannot be edited through the service.
	_, err = e.svc.SaveDraft(ctx, enc, visit.Note{Template: "acute", Assessment: "changed"})
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("SaveDraft after signing: %v, want a conflict", err)
	}
	if _, err := e.svc.Sign(ctx, enc, e.prac); !errs.Is(err, errs.Conflict) {
		t.Errorf("signing twice: %v, want a conflict", err)
	}
	if _, v := e.read(signed.Composition); v != version {
		t.Errorf("the signed Composition changed: version %d -> %d", version, v)
	}

	add, err := e.svc.Addendum(ctx, signed.Composition, "Rapid strep positive.", e.prac)
	if err != nil {
		t.Fatalf("Addendum: %v", err)
	}
	ac, _ := e.read(add.Composition)
	if str(ac, "relatesTo", 0, "code") != "appends" || str(ac, "relatesTo", 0, "targetReference", "reference") != signed.Composition ||
		str(ac, "status") != "final" || str(ac, "encounter", "reference") != encRef {
		t.Errorf("addendum: %v", ac)
	}
	adr, _ := e.read(add.DocumentReference)
	if str(adr, "relatesTo", 0, "code") != "appends" || str(adr, "relatesTo", 0, "target", "reference") != signed.DocumentReference {
		t.Errorf("addendum DocumentReference: %v", adr["relatesTo"])
	}
	if got, v := e.read(signed.Composition); v != version || str(got, "status") != "final" {
		t.Errorf("the addendum changed the original (version %d -> %d)", version, v)
	}
	if err := e.svc.Verify(ctx, signed.Provenance); err != nil {
		t.Errorf("Verify after the addendum: %v", err)
	}

	// Withholding the note from the patient and releasing it again add
	// versions that change only the label: the signature still verifies.
	if _, err := e.app.Repo.Withhold(e.op, "Composition", signed.Composition[len("Composition/"):], version,
		repo.Withholding{Exception: "preventing-harm", Reason: "To be discussed at the follow-up visit."}); err != nil {
		t.Fatalf("Withhold: %v", err)
	}
	if err := e.svc.Verify(ctx, signed.Provenance); err != nil {
		t.Errorf("Verify of the withheld note: %v", err)
	}
	_, withheld := e.read(signed.Composition)
	if _, err := e.app.Repo.Release(e.op, "Composition", signed.Composition[len("Composition/"):], withheld); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := e.svc.Verify(ctx, signed.Provenance); err != nil {
		t.Errorf("Verify of the released note: %v", err)
	}

	docs, err := e.svc.Documents(ctx, enc)
	if err != nil || len(docs) != 2 {
		t.Fatalf("Documents = %+v, %v; want the note and the addendum", docs, err)
	}
	if docs[0].Composition != signed.Composition || docs[0].Note != note || docs[0].Signer != e.prac ||
		docs[1].Appends != signed.Composition || docs[1].Addendum != "Rapid strep positive." {
		t.Errorf("Documents = %+v", docs)
	}
	if err := e.svc.Finish(ctx, enc); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	res, _ = e.read(encRef)
	if str(res, "status") != "finished" || str(res, "period", "end") == "" {
		t.Errorf("finished encounter: %v", res)
	}
	if _, err := e.svc.RecordVitals(ctx, enc, visit.Vitals{HeartRate: f(70)}); !errs.Is(err, errs.Conflict) {
		t.Errorf("vitals on a finished visit: %v, want a conflict", err)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOverride prescribes despite an alert with a reason: the reason is
// recorded in a DetectedIssue that the MedicationRequest points to.
func override(t *testing.T, e *env) {
	ctx := e.doctor
	enc, err := e.svc.Start(ctx, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "follow-up"})
	if err != nil {
		t.Fatal(err)
	}
	amox := visit.Rx{RxNorm: "308192", Dose: 500, DoseUnit: "mg", Route: "oral", EveryHours: 8, DurationDays: 7, Quantity: 21, DispenseUnit: "tablet"}
	alerts, err := e.svc.CheckPrescription(ctx, e.patient, amox)
	if err != nil || len(alerts) == 0 {
		t.Fatalf("alerts = %v, %v", alerts, err)
	}
	var overrides []visit.Override
	for _, a := range alerts {
		overrides = append(overrides, visit.Override{AlertID: a.ID, Reason: "short"})
	}
	before := e.counts()
	_, err = e.svc.Prescribe(ctx, "Encounter/"+enc, amox, overrides)
	if fe := visit.Fields(err); fe["override:"+alerts[0].ID] == "" {
		t.Fatalf("a 5-character reason: %v, want a field error on the override", err)
	}
	if after := e.counts(); !equal(before, after) {
		t.Errorf("a refused prescription wrote something: %v -> %v", before, after)
	}
	for i := range overrides {
		overrides[i].Reason = "Tolerated amoxicillin in 2024 without reaction; allergy label doubtful"
	}
	rx, err := e.svc.Prescribe(ctx, enc, amox, overrides)
	if err != nil {
		t.Fatalf("Prescribe with overrides: %v", err)
	}
	if len(rx.DetectedIssues) != len(alerts) {
		t.Fatalf("%d DetectedIssues, want %d", len(rx.DetectedIssues), len(alerts))
	}
	mr, _ := e.read(rx.MedicationRequest)
	if str(mr, "detectedIssue", 0, "reference") != rx.DetectedIssues[0] {
		t.Errorf("MedicationRequest.detectedIssue = %v", mr["detectedIssue"])
	}
	if got := str(mr, "dosageInstruction", 0, "text"); got != "500 mg by mouth every 8 hours for 7 days" {
		t.Errorf("dosage text %q", got)
	}
	issues := e.search("DetectedIssue", url.Values{"patient": {e.patient}})
	if len(issues) != len(alerts) {
		t.Fatalf("DetectedIssue?patient: %d, want %d", len(issues), len(alerts))
	}
	di := issues[0]
	if str(di, "code", "coding", 0, "code") != "ALGY" || str(di, "severity") != "high" ||
		!strings.Contains(str(di, "mitigation", 0, "action", "text"), "allergy label doubtful") ||
		str(di, "mitigation", 0, "author", "reference") != e.prac {
		t.Errorf("DetectedIssue: %v", di)
	}
	if got := e.apiSearch(ctx, "DetectedIssue", url.Values{"implicated": {rx.MedicationRequest}}); len(got) != len(alerts) {
		t.Errorf("GET DetectedIssue?implicated=%s: %d, want %d", rx.MedicationRequest, len(got), len(alerts))
	}
	impl := []string{str(di, "implicated", 0, "reference"), str(di, "implicated", 1, "reference")}
	if impl[0] != rx.MedicationRequest || impl[1] != e.allergy {
		t.Errorf("implicated = %v", impl)
	}

	// The active amoxicillin now makes another penicillin a duplicate.
	again, err := e.svc.CheckPrescription(ctx, e.patient, amox)
	if err != nil {
		t.Fatal(err)
	}
	dup := false
	for _, a := range again {
		if a.Code == "DUPTHPY" && a.RelatedRef == rx.MedicationRequest {
			dup = true
		}
	}
	if !dup {
		t.Errorf("no duplicate-therapy alert against the active %s: %+v", rx.MedicationRequest, again)
	}
}

// TestAmend replaces a signed note: the original stays as signed, its
// DocumentReference is superseded.
func amend(t *testing.T, e *env) {
	ctx := e.doctor
	enc, err := e.svc.Start(ctx, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "checkup", Virtual: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := e.read("Encounter/" + enc); str(res, "class", "code") != "VR" {
		t.Errorf("a virtual visit has class %q, want VR", str(res, "class", "code"))
	}
	if _, err := e.svc.Sign(ctx, enc, e.prac); visit.Fields(err)["note"] == "" {
		t.Errorf("signing without a draft: %v, want a field error", err)
	}
	if _, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "annual-physical", Subjective: "Well."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Sign(ctx, enc, e.prac); visit.Fields(err)["assessment"] == "" || visit.Fields(err)["plan"] == "" {
		t.Errorf("signing without assessment and plan: %v", err)
	}
	if _, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "annual-physical", Subjective: "Well.", Assessment: "Healthy adult.", Plan: "Flu shot."}); err != nil {
		t.Fatal(err)
	}
	orig, err := e.svc.Sign(ctx, enc, e.prac)
	if err != nil {
		t.Fatal(err)
	}
	comp, _ := e.read(orig.Composition)
	if str(comp, "type", "coding", 0, "code") != "34117-2" {
		t.Errorf("an annual physical is typed %q, want 34117-2", str(comp, "type", "coding", 0, "code"))
	}
	origBytes := e.raw(orig.Composition)

	if _, err := e.svc.Amend(ctx, orig.Composition, visit.Note{Assessment: "Healthy adult.", Plan: "Flu shot."}, e.prac, "typo"); visit.Fields(err)["reason"] == "" {
		t.Errorf("amending with a short reason: %v", err)
	}
	am, err := e.svc.Amend(ctx, orig.Composition, visit.Note{Subjective: "Well.", Assessment: "Healthy adult; BMI 31 (obesity).", Plan: "Flu shot. Diet counselling."},
		e.prac, "The assessment left out the raised BMI")
	if err != nil {
		t.Fatalf("Amend: %v", err)
	}
	ac, _ := e.read(am.Composition)
	if str(ac, "relatesTo", 0, "code") != "replaces" || str(ac, "relatesTo", 0, "targetReference", "reference") != orig.Composition ||
		str(ac, "type", "coding", 0, "code") != "34117-2" || str(ac, "status") != "final" {
		t.Errorf("amendment: %v", ac)
	}
	if !bytes.Equal(e.raw(orig.Composition), origBytes) {
		t.Errorf("the amendment changed the original Composition")
	}
	if err := e.svc.Verify(ctx, orig.Provenance); err != nil {
		t.Errorf("the original's signature: %v", err)
	}
	if dr, _ := e.read(orig.DocumentReference); str(dr, "status") != "superseded" {
		t.Errorf("the original DocumentReference is %q, want superseded", str(dr, "status"))
	}
	if dr, _ := e.read(am.DocumentReference); str(dr, "relatesTo", 0, "code") != "replaces" || str(dr, "status") != "current" {
		t.Errorf("the amendment's DocumentReference: %v", dr)
	}
	docs, err := e.svc.Documents(ctx, enc)
	if err != nil || len(docs) != 2 || docs[0].ReplacedBy != am.Composition || docs[1].Replaces != orig.Composition ||
		docs[0].Note.Assessment != "Healthy adult." || docs[1].Note.Assessment != "Healthy adult; BMI 31 (obesity)." {
		t.Errorf("Documents = %+v, %v", docs, err)
	}
	prov, _ := e.read(am.Provenance)
	if str(prov, "reason", 0, "text") != "The assessment left out the raised BMI" {
		t.Errorf("Provenance.reason = %v", prov["reason"])
	}
	if _, err := e.svc.Amend(ctx, orig.Composition, visit.Note{Assessment: "x", Plan: "y"}, e.prac, "a second amendment of the same"); !errs.Is(err, errs.Conflict) {
		t.Errorf("amending a replaced note: %v, want a conflict", err)
	}

	// Another practitioner may not sign as this one.
	other := e.create(map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": "Other"}}})
	if _, err := e.svc.Addendum(ctx, am.Composition, "late entry", other); !errs.Is(err, errs.Permission) {
		t.Errorf("an addendum signed for someone else: %v, want permission refused", err)
	}
}

// signedDocumentsAreImmutable: the Repository refuses, through any door,
// every change of a signed Composition or its DocumentReference except
// the status moves a records officer makes (entered-in-error,
// superseded), and the signature still verifies after the refused tries.
func signedDocumentsAreImmutable(t *testing.T, e *env) {
	ctx := e.doctor
	enc, err := e.svc.Start(ctx, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "acute"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveDraft(ctx, enc, visit.Note{Template: "acute", Assessment: "Viral URI.", Plan: "Fluids."}); err != nil {
		t.Fatal(err)
	}
	signed, err := e.svc.Sign(ctx, enc, e.prac)
	if err != nil {
		t.Fatal(err)
	}
	put := func(ref string, res map[string]any) *fhirapi.Response {
		typ, id, _ := strings.Cut(ref, "/")
		return e.app.API.Handle(ctx, &fhirapi.Request{Method: "PUT", Type: typ, ID: id, Body: fhir.Marshal(res), Base: "http://ehr.test/fhir"})
	}
	comp, _ := e.read(signed.Composition)
	comp["title"] = "Rewritten"
	if resp := put(signed.Composition, comp); resp.Status != 409 || !strings.Contains(string(resp.Body), "business-rule") {
		t.Errorf("PUT of a changed signed Composition: %d %s, want 409 business-rule", resp.Status, resp.Body)
	}
	_, id, _ := strings.Cut(signed.Composition, "/")
	if resp := e.app.API.Handle(ctx, &fhirapi.Request{Method: "DELETE", Type: "Composition", ID: id, Base: "http://ehr.test/fhir"}); resp.Status != 409 {
		t.Errorf("DELETE of a signed Composition: %d %s, want 409", resp.Status, resp.Body)
	}
	if err := e.svc.Verify(ctx, signed.Provenance); err != nil {
		t.Errorf("Verify after refused overwrites: %v", err)
	}
	doc, _ := e.read(signed.DocumentReference)
	doc["description"] = "changed"
	if resp := put(signed.DocumentReference, doc); resp.Status != 409 {
		t.Errorf("PUT of a changed signed DocumentReference: %d, want 409", resp.Status)
	}
	doc, _ = e.read(signed.DocumentReference)
	doc["status"] = "superseded"
	if resp := put(signed.DocumentReference, doc); resp.Status != 200 {
		t.Errorf("superseding a signed DocumentReference: %d %s, want 200", resp.Status, resp.Body)
	}
	comp, _ = e.read(signed.Composition)
	comp["status"] = "preliminary"
	if resp := put(signed.Composition, comp); resp.Status != 409 {
		t.Errorf("a signed Composition back to preliminary: %d, want 409", resp.Status)
	}
	comp["status"] = "entered-in-error"
	if resp := put(signed.Composition, comp); resp.Status != 200 {
		t.Errorf("a signed Composition marked entered-in-error: %d %s, want 200", resp.Status, resp.Body)
	}
}

// raw returns the stored bytes of ref.
func (e *env) raw(ref string) []byte {
	e.t.Helper()
	typ, id, _ := strings.Cut(ref, "/")
	rec, err := e.app.Repo.Read(e.op, typ, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec.JSON
}

// roles runs steps as a nurse: vitals are hers to record, prescribing is
// not (the access policy's nurse role may not create MedicationRequests),
// and the refusal stores nothing.
func roles(t *testing.T, e *env) {
	nurseRef := e.create(map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": "Baptiste", "given": []any{"Rose"}}}})
	nurse := access.With(context.Background(), &access.Principal{
		Kind: access.User, UserID: "u2", Username: "rbaptiste", FHIRUser: nurseRef,
		Organization: e.org, Roles: []string{"nurse"},
	})
	enc, err := e.svc.Start(e.doctor, visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "follow-up"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.svc.RecordVitals(nurse, enc, visit.Vitals{HeartRate: f(64)})
	if err != nil {
		t.Fatalf("RecordVitals as a nurse: %v", err)
	}
	if obs, _ := e.read("Observation/" + ids[0]); str(obs, "performer", 0, "reference") != nurseRef {
		t.Errorf("performer = %q, want the nurse %s", str(obs, "performer", 0, "reference"), nurseRef)
	}
	before := e.counts()
	azi := visit.Rx{RxNorm: "308460", Dose: 500, DoseUnit: "mg", Route: "oral", TimesPerDay: 1, DurationDays: 3, Quantity: 3, DispenseUnit: "tablet"}
	if _, err := e.svc.Prescribe(nurse, enc, azi, nil); !errs.Is(err, errs.Permission) {
		t.Errorf("Prescribe as a nurse: %v, want permission refused", err)
	}
	if after := e.counts(); !equal(before, after) {
		t.Errorf("a refused prescription wrote something: %v -> %v", before, after)
	}
	if _, err := e.svc.Start(context.Background(), visit.StartRequest{Patient: e.patient, Practitioner: e.prac, Type: "acute"}); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("Start without a principal: %v, want unauthenticated", err)
	}
}
