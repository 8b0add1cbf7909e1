package safety

import (
	"context"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
)

func TestDetectedIssue(t *testing.T) {
	v := validate.New(defs.Default(), validate.Options{})
	when := time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)
	alerts := Check(context.Background(), clarithromycin, Context{
		Allergies:  []Allergy{{Ref: "AllergyIntolerance/a1", Text: "erythromycin"}},
		ActiveMeds: []Drug{{Ref: "MedicationStatement/m1", Codings: simvastatin20.Codings}, {Ref: "MedicationRequest/m2", Text: "azithromycin 250 mg"}},
	})
	want := map[Kind]struct{ code, severity string }{
		KindInteraction: {"DRG", "high"},
		KindAllergy:     {"ALGY", "high"},
		KindDuplicate:   {"DUPTHPY", "moderate"},
	}
	if len(alerts) != 3 {
		t.Fatalf("want an interaction, an allergy and a duplicate alert, got %+v", alerts)
	}
	for _, a := range alerts {
		issue := a.DetectedIssue(Override{Patient: "Patient/p1", Request: "MedicationRequest/new", Author: "Practitioner/dr", Reason: "Benefit outweighs risk; monitored.", When: when})
		// Round-trip through the canonical writer and parser, as the
		// Repository stores it, then validate against the R4 definitions.
		b := fhir.MarshalResource(issue, defs.Default())
		parsed, err := fhir.Parse(b, fhir.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for _, is := range v.Validate(parsed) {
			if is.Severity == "error" || is.Severity == "fatal" {
				t.Errorf("%s: %s %v: %s", a.Kind, is.Code, is.Expression, is.Diagnostics)
			}
		}
		w := want[a.Kind]
		code := issue["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]
		if code != w.code || issue["severity"] != w.severity {
			t.Errorf("%s: code %v severity %v, want %s %s", a.Kind, code, issue["severity"], w.code, w.severity)
		}
		m := issue["mitigation"].([]any)[0].(map[string]any)
		if m["action"].(map[string]any)["text"] != "Benefit outweighs risk; monitored." {
			t.Errorf("%s: mitigation %v", a.Kind, m)
		}
		if imp := issue["implicated"].([]any); len(imp) != 2 || imp[1].(map[string]any)["reference"] != a.RelatedRef {
			t.Errorf("%s: implicated %v", a.Kind, imp)
		}
	}
	// The validator does catch a broken issue (so the loop above proves something).
	broken := alerts[0].DetectedIssue(Override{Patient: "Patient/p1"})
	broken["severity"] = "extreme"
	bad := 0
	for _, is := range v.Validate(broken) {
		if is.Severity == "error" {
			bad++
		}
	}
	if bad == 0 {
		t.Error("severity extreme passed validation")
	}
	if _, ok := alerts[0].DetectedIssue(Override{Patient: "Patient/p1"})["mitigation"]; ok {
		t.Error("a mitigation without a reason")
	}
}
