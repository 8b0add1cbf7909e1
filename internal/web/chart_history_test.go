package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
)

// TestChartHistory: the problems and medications pages list, after the
// active list, what is no longer active in a section collapsed by
// default; what was entered in error is only counted.
func TestChartHistory(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.store(`{"resourceType":"Condition","id":"gout","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"remission"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],
		"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"M10.9","display":"Gout"}],"text":"Gout"},
		"subject":{"reference":"Patient/zoe"},"onsetDateTime":"2020-02-01","abatementDateTime":"2021-07-15"}`)
	e.store(`{"resourceType":"Condition","id":"typo","verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"code":{"text":"Recorded on the wrong patient"},"subject":{"reference":"Patient/zoe"}}`)
	e.store(`{"resourceType":"MedicationRequest","id":"amlo","status":"stopped","intent":"order","medicationCodeableConcept":{"text":"Amlodipine 5 mg"},
		"subject":{"reference":"Patient/zoe"},"authoredOn":"2021-03-01","statusReason":{"text":"Ankle swelling"},"requester":{"display":"Dr. Ana Lee"}}`)
	e.store(`{"resourceType":"MedicationStatement","id":"ibu","status":"completed","medicationCodeableConcept":{"text":"Ibuprofen 200 mg"},
		"subject":{"reference":"Patient/zoe"},"effectivePeriod":{"start":"2022-01-03","end":"2022-01-10"}}`)
	e.store(`{"resourceType":"MedicationRequest","id":"wrong","status":"entered-in-error","intent":"order","medicationCodeableConcept":{"text":"Warfarin 5 mg"},
		"subject":{"reference":"Patient/zoe"}}`)
	e.user("drjones", auth.RolePhysician)
	b := e.browser()
	b.login("drjones")

	r := b.get("/patients/zoe/problems")
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "Problem Onset Status Codes Essential hypertension 2015-04-01",
		"Inactive / resolved problems", "Show 2 inactive or resolved problems",
		"Gout 2020-02-01 2021-07-15 Remission (visit diagnosis) ICD-10-CM M10.9",
		"Acute bronchitis 2019-01-05 Not recorded Resolved",
		"1 problem was entered in error and is not shown.")
	wantBody(t, r, `<details class="history-list">`, `<th scope="col">Resolved</th>`)
	if strings.Contains(r.body, "<details open") {
		t.Error("the inactive problems are not collapsed")
	}
	if strings.Contains(r.body, "Recorded on the wrong patient") {
		t.Error("a problem entered in error is shown")
	}
	// The active list comes first; resolving is offered for active problems only.
	if i, j := strings.Index(r.body, "Essential hypertension"), strings.Index(r.body, "Inactive / resolved problems"); i < 0 || i > j {
		t.Error("the inactive problems come before the active ones")
	}
	if strings.Contains(r.body, "Resolve Gout") || strings.Contains(r.body, "Resolve Acute bronchitis") {
		t.Error("an inactive problem can be resolved again")
	}

	r = b.get("/patients/zoe/medications")
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "Prescriber lisinopril 10 MG Oral Tablet",
		"Inactive / stopped medications", "Show 2 stopped, completed or cancelled medications",
		"Amlodipine 5 mg Stopped 2021-03-01", "Ankle swelling Dr. Ana Lee",
		"Ibuprofen 200 mg (reported) Completed 2022-01-03 2022-01-10",
		"1 medication was entered in error and is not shown.")
	if !strings.Contains(visible(r.body), "Amlodipine 5 mg Stopped 2021-03-01 Not recorded; record changed ") {
		t.Errorf("the stopped request does not say its end is not recorded:\n%s", visible(r.body))
	}
	if strings.Contains(r.body, "Warfarin") {
		t.Error("a medication entered in error is shown")
	}
	if strings.Contains(r.body, "Stop Amlodipine") {
		t.Error("a stopped medication can be stopped again")
	}

	// A patient without history says so.
	r = b.get("/patients/omar/medications")
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "No stopped, completed or cancelled medications recorded.")
	if strings.Contains(r.body, "entered in error") {
		t.Error("a count of nothing entered in error is shown")
	}
}
