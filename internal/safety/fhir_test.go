package safety

import (
	"context"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
)

func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	r, err := fhir.Parse([]byte(s), fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFromResources(t *testing.T) {
	mr := parse(t, `{"resourceType":"MedicationRequest","id":"rx1","status":"draft","intent":"order",
		"subject":{"reference":"Patient/p1"},
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"308192","display":"Amoxicillin 500 MG Oral Tablet"}],"text":"Amoxicillin 500 mg tablet"}}`)
	drug, err := DrugFromMedicationRequest(mr)
	if err != nil {
		t.Fatal(err)
	}
	if drug.Ref != "MedicationRequest/rx1" || len(drug.Codings) != 1 || drug.Text != "Amoxicillin 500 mg tablet" {
		t.Fatalf("drug %+v", drug)
	}
	ai := parse(t, `{"resourceType":"AllergyIntolerance","id":"a1",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
		"patient":{"reference":"Patient/p1"},
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]}}`)
	allergy, ok, err := AllergyFromResource(ai)
	if err != nil || !ok {
		t.Fatalf("allergy: ok %v, err %v", ok, err)
	}
	alerts := Check(context.Background(), drug, Context{Allergies: []Allergy{allergy}})
	if len(alerts) != 1 || alerts[0].Kind != KindAllergy || alerts[0].RelatedRef != "AllergyIntolerance/a1" {
		t.Fatalf("alerts %+v", alerts)
	}

	// Text only, no coding: the fallback.
	textOnly := parse(t, `{"resourceType":"MedicationStatement","id":"ms1","status":"active","subject":{"reference":"Patient/p1"},
		"medicationCodeableConcept":{"text":"warfarin 5mg daily"}}`)
	warf, err := DrugFromMedicationRequest(textOnly)
	if err != nil {
		t.Fatal(err)
	}
	alerts = Check(context.Background(), ibuprofen200, Context{ActiveMeds: []Drug{warf}})
	if len(alerts) != 1 || alerts[0].Kind != KindInteraction || alerts[0].RelatedRef != "MedicationStatement/ms1" {
		t.Fatalf("text-only warfarin: alerts %+v", alerts)
	}
}

func TestAllergyStatus(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		ok         bool
	}{
		{"resolved", `{"resourceType":"AllergyIntolerance","clinicalStatus":{"coding":[{"code":"resolved"}]},"code":{"text":"penicillin"},"patient":{"reference":"Patient/p"}}`, false},
		{"refuted", `{"resourceType":"AllergyIntolerance","verificationStatus":{"coding":[{"code":"refuted"}]},"code":{"text":"penicillin"},"patient":{"reference":"Patient/p"}}`, false},
		{"entered in error", `{"resourceType":"AllergyIntolerance","verificationStatus":{"coding":[{"code":"entered-in-error"}]},"code":{"text":"penicillin"},"patient":{"reference":"Patient/p"}}`, false},
		{"no code", `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p"}}`, false},
		{"unconfirmed still counts", `{"resourceType":"AllergyIntolerance","verificationStatus":{"coding":[{"code":"unconfirmed"}]},"code":{"text":"penicillin"},"patient":{"reference":"Patient/p"}}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := AllergyFromResource(parse(t, tt.json))
			if err != nil || ok != tt.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tt.ok)
			}
		})
	}
}

func TestFromResourcesErrors(t *testing.T) {
	for _, tt := range []struct{ name, json, want string }{
		{"reference", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/p"},"medicationReference":{"reference":"Medication/m"}}`, "read the Medication"},
		{"wrong type", `{"resourceType":"Patient"}`, "not \"Patient\""},
		{"empty concept", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/p"},"medicationCodeableConcept":{}}`, "neither a coding nor text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DrugFromMedicationRequest(parse(t, tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := AllergyFromResource(parse(t, `{"resourceType":"Condition","subject":{"reference":"Patient/p"}}`)); err == nil {
		t.Error("a Condition was read as an allergy")
	}
}
