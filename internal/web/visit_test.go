package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
)

// visitSetup stores what a visit needs besides the test patients: the
// physician's and the nurse's Practitioners and accounts linked to them,
// and a recorded penicillin allergy of Zoë.
func visitSetup(e *env) {
	e.t.Helper()
	e.patients()
	for _, r := range []string{
		`{"resourceType":"Practitioner","id":"dr-lee","name":[{"family":"Lee","given":["Ana"],"prefix":["Dr."]}]}`,
		`{"resourceType":"Practitioner","id":"rn-ruiz","name":[{"family":"Ruiz","given":["Tomás"]}]}`,
		`{"resourceType":"AllergyIntolerance","id":"zoe-pcn","patient":{"reference":"Patient/zoe"},
		  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
		  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"confirmed"}]},
		  "category":["medication"],"criticality":"high",
		  "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"70618","display":"penicillin"}],"text":"Penicillin"}}`,
	} {
		res, err := fhir.Parse([]byte(r), fhir.ParseOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.app.Repo.Update(operator(), res["resourceType"].(string), res["id"].(string), res, repo.UpdateOptions{}); err != nil {
			e.t.Fatalf("storing %s: %v", res["resourceType"], err)
		}
	}
	for _, u := range []auth.User{
		{Username: "drlee", DisplayName: "Dr. Ana Lee", FHIRUser: "Practitioner/dr-lee",
			Memberships: []auth.Membership{{Organization: e.org, Roles: []string{auth.RolePhysician}}}},
		{Username: "nurseruiz", DisplayName: "Tomás Ruiz, RN", FHIRUser: "Practitioner/rn-ruiz",
			Memberships: []auth.Membership{{Organization: e.org, Roles: []string{auth.RoleNurse}}}},
	} {
		if _, err := e.auth.CreateUser(operator(), u, testPassword); err != nil {
			e.t.Fatalf("creating %s: %v", u.Username, err)
		}
	}
}

// visitCount counts the stored resources of a type (as the operator).
func visitCount(e *env, typ string) int {
	e.t.Helper()
	c, err := search.NewCompilerFrom(e.app.Registry).Compile(typ, url.Values{"_count": {"1000"}}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.app.Repo.Search(operator(), c.Query)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range res.Records {
		if r.Type == typ && !r.Deleted {
			n++
		}
	}
	return n
}

// visitCounts counts every type a visit writes.
func visitCounts(e *env) map[string]int {
	out := map[string]int{}
	for _, typ := range []string{"Encounter", "Observation", "Composition", "DocumentReference", "Provenance",
		"Condition", "ServiceRequest", "MedicationRequest", "DetectedIssue"} {
		out[typ] = visitCount(e, typ)
	}
	return out
}

func wantSameCounts(t *testing.T, before, after map[string]int) {
	t.Helper()
	for typ, n := range before {
		if after[typ] != n {
			t.Errorf("%s: %d stored, %d before: a refused form stored something", typ, after[typ], n)
		}
	}
}

// wantFieldError checks that the message is next to the field: the input
// points at it with aria-describedby and is marked invalid.
func wantFieldError(t *testing.T, r response, field, msg string) {
	t.Helper()
	re := regexp.MustCompile(`<p class="error" id="` + regexp.QuoteMeta(field) + `-error">([^<]*)</p>`)
	m := re.FindStringSubmatch(r.body)
	if m == nil {
		t.Errorf("no message next to %s:\n%s", field, r.body)
		return
	}
	if !strings.Contains(m[1], msg) {
		t.Errorf("%s: message %q, want %q", field, m[1], msg)
	}
	ctl := regexp.MustCompile(`id="` + regexp.QuoteMeta(field) + `" name="[^"]*"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*` + regexp.QuoteMeta(field) + `-error`)
	if !ctl.MatchString(r.body) {
		t.Errorf("the control %s does not point at its message", field)
	}
}

var visitLocation = regexp.MustCompile(`^/patients/zoe/visits/([A-Za-z0-9.-]+)$`)

func TestVisitPages(t *testing.T) {
	for name, db := range map[string]func(*testing.T) string{
		"embedded": func(*testing.T) string { return "" },
		"postgres": pgURL,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{db: db(t)})
			visitSetup(e)
			testVisitPages(t, e)
		})
	}
}

func testVisitPages(t *testing.T, e *env) {
	doc := e.browser()
	doc.login("drlee")
	nurse := e.browser()
	nurse.login("nurseruiz")

	// Start: the practitioner is required; then the visit opens.
	r := doc.get("/patients/zoe/visits/new")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `value="Practitioner/dr-lee"`, "Annual physical")
	before := visitCounts(e)
	r = doc.post("/patients/zoe/visits", url.Values{"type": {"acute"}, "practitioner": {""}, "reason": {"Sore throat"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "practitioner", "practitioner")
	r = doc.post("/patients/zoe/visits", url.Values{"type": {"nonsense"}, "practitioner": {"Practitioner/dr-lee"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "type", "")
	wantSameCounts(t, before, visitCounts(e))
	r = doc.post("/patients/zoe/visits", url.Values{"type": {"acute"}, "practitioner": {"Practitioner/dr-lee"}, "reason": {"Sore throat for three days"}})
	wantStatus(t, r, http.StatusSeeOther)
	m := visitLocation.FindStringSubmatch(r.location())
	if m == nil {
		t.Fatalf("started visit at %q", r.location())
	}
	visitURL := r.location()
	r = doc.get(visitURL)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Visit: Müller, Zoë", "Sore throat for three days", "in-progress", "The visit has started.")
	// The start page lists it, to open it rather than start another.
	r = doc.get("/patients/zoe/visits/new")
	wantBody(t, r, "Visits in progress", `href="/patients/zoe/visits/`+m[1]+`"`)

	// The visit is Zoë's: under another patient it does not exist.
	wantStatus(t, doc.get("/patients/omar/visits/"+m[1]), http.StatusNotFound)
	wantStatus(t, doc.get("/patients/zoe/visits/no-such-visit"), http.StatusNotFound)
	wantStatus(t, doc.get("/patients/zara/visits/new"), http.StatusNotFound) // another organization's patient

	// The nurse records vital signs: impossible values are refused field
	// by field, nothing stored.
	nurse.get(visitURL)
	before = visitCounts(e)
	r = nurse.post(visitURL+"/vitals", url.Values{"v-systolic": {"400"}, "v-diastolic": {"80"}, "v-heartRate": {"72"}, "v-weight": {"70"}, "v-weightUnit": {"kg"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "v-systolic", "between 50 and 300")
	wantBody(t, r, `value="72"`) // what was typed stays
	r = nurse.post(visitURL+"/vitals", url.Values{"v-temp": {"hot"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "v-temp", "as a number")
	r = nurse.post(visitURL+"/vitals", url.Values{})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `class="alert section-error"`)
	wantSameCounts(t, before, visitCounts(e))
	r = nurse.post(visitURL+"/vitals", url.Values{"v-systolic": {"128"}, "v-diastolic": {"82"}, "v-heartRate": {"88"},
		"v-temp": {"100.4"}, "v-tempUnit": {"F"}, "v-weight": {"154"}, "v-weightUnit": {"lb"}, "v-height": {"65"}, "v-heightUnit": {"in"}, "v-spo2": {"98"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = nurse.get(visitURL)
	// 154 lb = 69.85 kg; 65 in = 165.1 cm; BMI 25.6; 100.4 °F = 38 °C.
	wantBody(t, r, "BMI <strong>25.6 kg/m²</strong>", "128/82 mmHg", "69.85 kg", "165.1 cm", "38 °C", "vital signs saved")
	// A nurse does not prescribe: no form, and a posted one is refused.
	if strings.Contains(r.body, `id="rx-form"`) {
		t.Error("the nurse is shown the prescribing form")
	}
	r = nurse.post(visitURL+"/prescriptions", url.Values{"rx-rxnorm": {"308460"}, "action": {"prescribe"}})
	wantStatus(t, r, http.StatusForbidden)
	wantBody(t, r, "Only physicians may prescribe")

	// The note: signing needs an assessment and a plan.
	doc.get(visitURL)
	r = doc.post(visitURL+"/note", url.Values{"action": {"template"}, "n-template": {"follow-up"}, "n-subjective": {"typed"}})
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<option value="follow-up" selected>`, ">typed</textarea>")
	before = visitCounts(e)
	r = doc.post(visitURL+"/note", url.Values{"action": {"sign"}, "n-template": {"acute"}, "n-subjective": {"Sore throat, fever."}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "n-assessment", "")
	wantFieldError(t, r, "n-plan", "")
	after := visitCounts(e)
	if after["DocumentReference"] != before["DocumentReference"] || after["Provenance"] != before["Provenance"] {
		t.Error("a refused signature stored a document")
	}
	r = doc.post(visitURL+"/note", url.Values{"action": {"save"}, "n-template": {"acute"}, "n-subjective": {"Sore throat, fever.\nNo cough."},
		"n-objective": {"Tonsillar exudate."}, "n-assessment": {"Streptococcal pharyngitis."}, "n-plan": {"Azithromycin."}})
	wantStatus(t, r, http.StatusSeeOther)
	r = doc.get(visitURL)
	wantBody(t, r, "draft saved", "Sore throat, fever.\nNo cough.</textarea>")

	// Diagnoses through the ICD-10-CM picker.
	r = doc.get("/visits/codes/icd10?q=streptococcal+pharyngitis")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<option value="J02.0">`)
	before = visitCounts(e)
	r = doc.post(visitURL+"/diagnoses", url.Values{"dx-icd10": {"J02"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "dx-icd10", "")
	r = doc.post(visitURL+"/diagnoses", url.Values{"dx-icd10": {"J02.0"}, "dx-onset": {"2999-01-01"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "dx-onset", "")
	wantSameCounts(t, before, visitCounts(e))
	r = doc.post(visitURL+"/diagnoses", url.Values{"dx-icd10": {"J02.0 Streptococcal pharyngitis"}})
	wantStatus(t, r, http.StatusSeeOther)
	before = visitCounts(e)

	// Orders.
	r = doc.get("/visits/codes/loinc?q=hemoglobin+a1c")
	wantBody(t, r, `<option value="4548-4">`)
	r = doc.post(visitURL+"/orders/lab", url.Values{"lab-loinc": {"4548-5"}, "lab-priority": {"routine"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "lab-loinc", "")
	r = doc.post(visitURL+"/orders/referral", url.Values{"ref-specialty": {"ENT"}, "ref-priority": {"whenever"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "ref-reason", "")
	wantFieldError(t, r, "ref-priority", "")
	wantSameCounts(t, before, visitCounts(e))
	wantStatus(t, doc.post(visitURL+"/orders/lab", url.Values{"lab-loinc": {"4548-4"}, "lab-priority": {"routine"}}), http.StatusSeeOther)
	wantStatus(t, doc.post(visitURL+"/orders/imaging", url.Values{"img-text": {"Chest X-ray, two views"}, "img-priority": {"routine"}}), http.StatusSeeOther)
	wantStatus(t, doc.post(visitURL+"/orders/referral", url.Values{"ref-specialty": {"Otolaryngology"}, "ref-reason": {"Recurrent tonsillitis"}, "ref-priority": {"routine"}}), http.StatusSeeOther)

	// Prescribing: amoxicillin for a patient allergic to penicillin.
	rx := url.Values{"rx-rxnorm": {"308192"}, "rx-dose": {"500"}, "rx-doseUnit": {"mg"}, "rx-route": {"oral"},
		"rx-frequency": {"3"}, "rx-freqUnit": {"day"}, "rx-durationDays": {"10"}, "rx-quantity": {"30"}, "rx-dispenseUnit": {"tablet"}, "rx-refills": {"0"}}
	before = visitCounts(e)
	rx.Set("action", "check")
	r = doc.post(visitURL+"/prescriptions", rx)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "High severity", "Penicillin", `name="rx-alert-0" value="ALGY:AllergyIntolerance/zoe-pcn"`)
	rx.Set("action", "prescribe")
	r = doc.post(visitURL+"/prescriptions", rx)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "each safety alert needs a reason")
	rx.Set("rx-alert-0", "ALGY:AllergyIntolerance/zoe-pcn")
	rx.Set("rx-override-0", "too short")
	r = doc.post(visitURL+"/prescriptions", rx)
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "rx-override-0", "")
	bad := url.Values{"rx-rxnorm": {"723"}, "rx-dose": {"-1"}, "rx-doseUnit": {"mg"}, "rx-route": {"by magic"}, "rx-frequency": {"x"}, "action": {"prescribe"}}
	r = doc.post(visitURL+"/prescriptions", bad)
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "rx-frequency", "whole number")
	bad.Set("rx-frequency", "3")
	r = doc.post(visitURL+"/prescriptions", bad)
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "rx-rxnorm", "")
	wantFieldError(t, r, "rx-dose", "")
	wantFieldError(t, r, "rx-route", "")
	wantSameCounts(t, before, visitCounts(e))
	// Azithromycin instead: no alert.
	rx = url.Values{"rx-rxnorm": {"308460"}, "rx-dose": {"500"}, "rx-doseUnit": {"mg"}, "rx-route": {"oral"},
		"rx-frequency": {"1"}, "rx-freqUnit": {"day"}, "rx-durationDays": {"3"}, "rx-quantity": {"6"}, "rx-dispenseUnit": {"tablet"}, "rx-refills": {"0"}, "action": {"check"}}
	r = doc.post(visitURL+"/prescriptions", rx)
	wantBody(t, r, "No safety alert")
	rx.Set("action", "prescribe")
	wantStatus(t, doc.post(visitURL+"/prescriptions", rx), http.StatusSeeOther)
	// An override with its reason is kept with the prescription.
	amox := url.Values{"rx-rxnorm": {"308192"}, "rx-dose": {"500"}, "rx-doseUnit": {"mg"}, "rx-route": {"oral"},
		"rx-frequency": {"3"}, "rx-freqUnit": {"day"}, "rx-durationDays": {"10"}, "rx-quantity": {"30"}, "rx-dispenseUnit": {"tablet"},
		"action": {"prescribe"}, "rx-alert-0": {"ALGY:AllergyIntolerance/zoe-pcn"}, "rx-override-0": {"Tolerated amoxicillin in 2024 under observation"}}
	r = doc.post(visitURL+"/prescriptions", amox)
	wantStatus(t, r, http.StatusSeeOther)
	if n := visitCount(e, "DetectedIssue"); n != before["DetectedIssue"]+1 {
		t.Errorf("%d DetectedIssues after one override", n)
	}
	r = doc.get(visitURL)
	wantBody(t, r, "azithromycin 250 MG Oral Tablet", "500 mg by mouth", "Override: Tolerated amoxicillin in 2024 under observation",
		"Streptococcal pharyngitis", "J02.0", "Hemoglobin A1c", "Referral to Otolaryngology", "Chest X-ray, two views")

	// The nurse reads the draft but does not edit it.
	r = nurse.get(visitURL)
	wantBody(t, r, "Draft note", "Tonsillar exudate.")
	if strings.Contains(r.body, `name="n-subjective"`) {
		t.Error("the nurse is shown the note's editor")
	}
	// Signing: the nurse may not; the physician signs, the note is read-only.
	r = nurse.post(visitURL+"/note", url.Values{"action": {"sign"}, "n-template": {"acute"}, "n-assessment": {"x"}, "n-plan": {"y"}})
	wantStatus(t, r, http.StatusForbidden)
	wantBody(t, r, "Only physicians write and sign")
	r = doc.post(visitURL+"/note", url.Values{"action": {"sign"}, "n-template": {"acute"}, "n-subjective": {"Sore throat, fever.\nNo cough."},
		"n-objective": {"Tonsillar exudate."}, "n-assessment": {"Streptococcal pharyngitis."}, "n-plan": {"Azithromycin."}})
	wantStatus(t, r, http.StatusSeeOther)
	r = doc.get(visitURL)
	wantBody(t, r, "The note is signed", "Signed by Dr. Ana Lee", "Streptococcal pharyngitis.", `name="ad-text"`)
	if strings.Contains(r.body, `name="n-subjective"`) {
		t.Error("the signed note is still editable")
	}
	r = doc.post(visitURL+"/note", url.Values{"action": {"save"}, "n-template": {"acute"}, "n-plan": {"changed"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "signed and can no longer be edited")
	r = doc.post(visitURL+"/addendum", url.Values{"ad-text": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "ad-text", "")
	wantStatus(t, doc.post(visitURL+"/addendum", url.Values{"ad-text": {"Rapid strep positive."}}), http.StatusSeeOther)
	// An amendment: the reason is required; the original stays readable.
	r = doc.get(visitURL)
	wantBody(t, r, `name="am-plan"`, "Azithromycin.</textarea>")
	before = visitCounts(e)
	amend := url.Values{"am-subjective": {"Sore throat, fever.\nNo cough."}, "am-objective": {"Tonsillar exudate."},
		"am-assessment": {"Streptococcal pharyngitis."}, "am-plan": {"Azithromycin 500 mg once a day for 3 days."}, "am-reason": {"typo"}}
	r = doc.post(visitURL+"/amend", amend)
	wantStatus(t, r, http.StatusBadRequest)
	wantFieldError(t, r, "am-reason", "")
	wantBody(t, r, "Azithromycin 500 mg once a day for 3 days.</textarea>")
	wantSameCounts(t, before, visitCounts(e))
	amend.Set("am-reason", "The plan lacked the dose and duration")
	wantStatus(t, doc.post(visitURL+"/amend", amend), http.StatusSeeOther)
	r = doc.get(visitURL)
	wantBody(t, r, "replaced by a later amendment", "Azithromycin 500 mg once a day for 3 days.")

	// The summary, then finish.
	r = doc.get(visitURL + "/print")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Visit summary", "128/82 mmHg", "Streptococcal pharyngitis.", "Rapid strep positive.", "J02.0",
		"Hemoglobin A1c", "azithromycin 250 MG Oral Tablet", "Electronically signed by Dr. Ana Lee")
	wantStatus(t, doc.post(visitURL+"/finish", url.Values{}), http.StatusSeeOther)
	r = doc.get(visitURL)
	wantBody(t, r, "finished")
	if strings.Contains(r.body, `action="`+visitURL+`/vitals"`) {
		t.Error("a finished visit still takes vital signs")
	}
	before = visitCounts(e)
	r = nurse.post(visitURL+"/vitals", url.Values{"v-heartRate": {"70"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantSameCounts(t, before, visitCounts(e))
}
