package fhirhttp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIncludeParams checks _include by one parameter, by every parameter
// ("*"), with a target type, through an absolute reference under the
// server's base, through a canonical, and to a resource that does not
// exist, on both stores.
func TestIncludeParams(t *testing.T) { bothStores(t, testIncludeParams) }

func testIncludeParams(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	seedEverything(t, e)
	e.do("PUT", "/Questionnaire/q1", map[string]any{"resourceType": "Questionnaire", "id": "q1", "status": "active"}).must(t, 201)
	e.do("PUT", "/QuestionnaireResponse/qr1", map[string]any{"resourceType": "QuestionnaireResponse", "id": "qr1",
		"status": "completed", "questionnaire": base + "/Questionnaire/q1",
		"subject": map[string]any{"reference": "Patient/p1"}}).must(t, 201)
	for _, tc := range []struct {
		path    string
		include []string
	}{
		{"/MedicationRequest?_id=p1-mr1&_include=MedicationRequest:*",
			[]string{"Encounter/p1-e1", "Medication/med1", "Patient/p1", "Practitioner/dr1"}},
		{"/MedicationRequest?_id=p1-mr1&_include=MedicationRequest:requester", []string{"Practitioner/dr1"}},
		{"/MedicationRequest?_id=p1-mr1&_include=MedicationRequest:subject:Patient", []string{"Patient/p1"}},
		{"/MedicationRequest?_id=p1-mr1&_include=MedicationRequest:subject:Group", nil},
		{"/MedicationRequest?_id=p1-mr1&_include=MedicationRequest:medication&_include=MedicationRequest:encounter",
			[]string{"Encounter/p1-e1", "Medication/med1"}},
		{"/Encounter?_id=p1-e1&_include=Encounter:location", []string{"Location/loc1"}},
		{"/Condition?_id=p1-c2&_include=Condition:asserter", nil},
		{"/Observation?subject=Patient/p1&_include=Observation:subject", []string{"Patient/p1"}},
		{"/QuestionnaireResponse?_id=qr1&_include=QuestionnaireResponse:questionnaire", []string{"Questionnaire/q1"}},
		{"/QuestionnaireResponse?_id=qr1&_include=*", []string{"Patient/p1", "Questionnaire/q1"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.do("GET", tc.path, nil).must(t, 200)
			if diff := cmp.Diff(tc.include, entryIDs(r.body, "include")); diff != "" {
				t.Errorf("includes (-want +got):\n%s", diff)
			}
		})
	}
}
