package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// store writes one resource as the test's operator.
func (e *env) store(json string) {
	e.t.Helper()
	res, err := fhir.Parse([]byte(json), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatalf("parsing %s: %v", json, err)
	}
	typ, _ := res["resourceType"].(string)
	id, _ := res["id"].(string)
	if _, err := e.app.Repo.Update(operator(), typ, id, res, repo.UpdateOptions{}); err != nil {
		e.t.Fatalf("storing %s/%s: %v", typ, id, err)
	}
}

const (
	loinc = `"system":"http://loinc.org"`
	zoeID = `"subject":{"reference":"Patient/zoe"}`
	labC  = `"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}]`
)

// chartRecord stores Zoë Müller's record: problems, medications, an
// allergy, immunizations, vital signs, laboratory results (normal, high
// and critical), an imaging report, social history, encounters (one at
// another organization) and two signed notes, one changed after signing.
func (e *env) chartRecord() {
	e.t.Helper()
	e.store(`{"resourceType":"Organization","id":"riverside","name":"Riverside Hospital"}`)
	e.store(`{"resourceType":"Practitioner","id":"drlee","name":[{"family":"Lee","given":["Ana"],"prefix":["Dr."]}]}`)
	e.store(`{"resourceType":"Encounter","id":"enc1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB","display":"ambulatory"},
		"type":[{"text":"Follow-up visit"}],"subject":{"reference":"Patient/zoe"},"period":{"start":"2024-05-01T09:00:00Z","end":"2024-05-01T09:30:00Z"},
		"reasonCode":[{"text":"Blood pressure check"}],"participant":[{"individual":{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"}}],
		"serviceProvider":{"reference":"Organization/clinic"}}`)
	e.store(`{"resourceType":"Encounter","id":"enc2","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER","display":"emergency"},
		"type":[{"text":"Emergency visit"}],"subject":{"reference":"Patient/zoe"},"period":{"start":"2023-02-10T22:00:00Z","end":"2023-02-11T03:00:00Z"},
		"serviceProvider":{"reference":"Organization/riverside","display":"Riverside Hospital"}}`)
	e.store(`{"resourceType":"Encounter","id":"enc3","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"type":[{"text":"Dermatology consult"}],"subject":{"reference":"Patient/zoe"},"period":{"start":"2022-06-10T10:00:00Z"},
		"serviceProvider":{"reference":"Organization/riverside"}}`)
	e.store(`{"resourceType":"Condition","id":"htn","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"I10","display":"Essential hypertension"},{"system":"http://snomed.info/sct","code":"38341003"}],"text":"Essential hypertension"},
		"subject":{"reference":"Patient/zoe"},"onsetDateTime":"2015-04-01"}`)
	e.store(`{"resourceType":"Condition","id":"bronchitis","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"code":{"text":"Acute bronchitis"},"subject":{"reference":"Patient/zoe"},"onsetDateTime":"2019-01-05"}`)
	e.store(`{"resourceType":"MedicationRequest","id":"lisinopril","status":"active","intent":"order",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"314076","display":"lisinopril 10 MG Oral Tablet"}]},
		"subject":{"reference":"Patient/zoe"},"authoredOn":"2024-05-01","requester":{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"},
		"dosageInstruction":[{"text":"1 tablet by mouth once daily"}]}`)
	e.store(`{"resourceType":"AllergyIntolerance","id":"pen","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
		"type":"allergy","category":["medication"],"criticality":"high","code":{"text":"Penicillin"},"patient":{"reference":"Patient/zoe"},
		"reaction":[{"manifestation":[{"text":"Hives"}],"severity":"moderate"}]}`)
	e.store(`{"resourceType":"Immunization","id":"flu","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140","display":"Influenza, seasonal, injectable, preservative free"}]},
		"patient":{"reference":"Patient/zoe"},"occurrenceDateTime":"2020-10-01"}`)
	e.store(`{"resourceType":"Flag","id":"fall","status":"active","code":{"text":"Fall risk"},"subject":{"reference":"Patient/zoe"}}`)
	// Glucose: normal, then high twice (computed from the range).
	for i, v := range []struct{ id, when, value string }{{"glu1", "2022-03-01T08:00:00Z", "95"}, {"glu2", "2023-03-01T08:00:00Z", "131"}, {"glu3", "2024-05-01T08:00:00Z", "182"}} {
		enc := ""
		if i == 1 {
			enc = `"encounter":{"reference":"Encounter/enc2"},`
		}
		e.store(`{"resourceType":"Observation","id":"` + v.id + `","status":"final",` + labC + `,` + enc + `
			"code":{"coding":[{` + loinc + `,"code":"2345-7","display":"Glucose [Mass/volume] in Serum or Plasma"}],"text":"Glucose"},` + zoeID + `,
			"effectiveDateTime":"` + v.when + `","valueQuantity":{"value":` + v.value + `,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
			"referenceRange":[{"low":{"value":70,"unit":"mg/dL"},"high":{"value":99,"unit":"mg/dL"}}]}`)
	}
	e.store(`{"resourceType":"Observation","id":"k1","status":"final",` + labC + `,
		"code":{"coding":[{` + loinc + `,"code":"2823-3","display":"Potassium"}],"text":"Potassium"},` + zoeID + `,
		"effectiveDateTime":"2024-05-01T08:00:00Z","valueQuantity":{"value":6.8,"unit":"mmol/L"},
		"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"HH"}]}],
		"referenceRange":[{"low":{"value":3.5,"unit":"mmol/L"},"high":{"value":5.1,"unit":"mmol/L"}}]}`)
	e.store(`{"resourceType":"DiagnosticReport","id":"bmp","status":"final",` + labC + `,
		"code":{"coding":[{` + loinc + `,"code":"51990-0"}],"text":"Basic metabolic panel"},` + zoeID + `,"effectiveDateTime":"2024-05-01T08:00:00Z",
		"result":[{"reference":"Observation/glu3"},{"reference":"Observation/k1"}]}`)
	e.store(`{"resourceType":"DiagnosticReport","id":"cxr","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"RAD"}]}],
		"code":{"coding":[{` + loinc + `,"code":"36643-5"}],"text":"Chest X-ray, 2 views"},` + zoeID + `,"effectiveDateTime":"2024-04-20T10:00:00Z",
		"conclusion":"No acute cardiopulmonary process."}`)
	e.store(`{"resourceType":"Observation","id":"bp1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{` + loinc + `,"code":"85354-9"}],"text":"Blood pressure panel"},` + zoeID + `,"effectiveDateTime":"2024-05-01T09:05:00Z",
		"component":[{"code":{"coding":[{` + loinc + `,"code":"8480-6"}],"text":"Systolic blood pressure"},"valueQuantity":{"value":148,"unit":"mm[Hg]"}},
		{"code":{"coding":[{` + loinc + `,"code":"8462-4"}],"text":"Diastolic blood pressure"},"valueQuantity":{"value":92,"unit":"mm[Hg]"}}]}`)
	e.store(`{"resourceType":"Observation","id":"smoke","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],
		"code":{"coding":[{` + loinc + `,"code":"72166-2"}],"text":"Tobacco smoking status"},` + zoeID + `,"effectiveDateTime":"2024-05-01",
		"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"266919005"}],"text":"Never smoker"}}`)
	// Two signed notes. The Repository refuses any change of a signed note,
	// so the second's seal is made not to match its stored bytes, as if
	// they had been changed behind its back (in the database itself).
	for _, id := range []string{"note1", "note2"} {
		e.store(`{"resourceType":"Composition","id":"` + id + `","status":"final","type":{"coding":[{` + loinc + `,"code":"11506-3"}],"text":"Progress note"},
			"subject":{"reference":"Patient/zoe"},"date":"2024-05-01T09:40:00Z","author":[{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"}],"title":"Progress note ` + id + `",
			"attester":[{"mode":"legal","time":"2024-05-01T09:40:00Z","party":{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"}}],
			"section":[{"title":"Assessment","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hypertension, not at goal &amp; rising glucose.</p></div>"}}]}`)
		rec, err := e.app.Repo.Read(operator(), "Composition", id)
		if err != nil {
			e.t.Fatal(err)
		}
		sum := sha256.Sum256(rec.JSON)
		if id == "note2" {
			sum = sha256.Sum256(append(rec.JSON, ' '))
		}
		e.store(`{"resourceType":"Provenance","id":"sig-` + id + `","target":[{"reference":"Composition/` + id + `/_history/1"}],"recorded":"2024-05-01T09:40:00Z",
			"agent":[{"who":{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"}}],
			"signature":[{"type":[{"system":"urn:iso-astm:E1762-95:2013","code":"1.2.840.10065.1.12.1.1"}],"when":"2024-05-01T09:40:00Z",
			"who":{"reference":"Practitioner/drlee","display":"Dr. Ana Lee"},"data":"` + base64.StdEncoding.EncodeToString(sum[:]) + `"}]}`)
	}
	e.store(`{"resourceType":"DocumentReference","id":"doc1","status":"current","docStatus":"final","type":{"text":"Discharge summary"},
		"subject":{"reference":"Patient/zoe"},"date":"2023-02-11T04:00:00Z","author":[{"display":"Riverside Hospital"}],
		"content":[{"attachment":{"contentType":"text/plain","title":"Discharge summary","data":"` + base64.StdEncoding.EncodeToString([]byte("Discharged home.")) + `"}}]}`)
}

var tagsRE = regexp.MustCompile(`<[^>]+>`)

// visible is a page's text without markup, with spaces collapsed.
func visible(body string) string {
	return html.UnescapeString(strings.Join(strings.Fields(tagsRE.ReplaceAllString(body, " ")), " "))
}

func wantText(t *testing.T, r response, parts ...string) {
	t.Helper()
	txt := visible(r.body)
	for _, p := range parts {
		if !strings.Contains(txt, p) {
			t.Errorf("the page lacks %q:\n%s", p, txt)
		}
	}
}

func TestChartPages(t *testing.T) {
	for _, db := range []string{"embedded", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			o := envOptions{}
			if db == "postgres" {
				o.db = pgURL(t)
			}
			e := newEnv(t, o)
			e.patients()
			e.chartRecord()
			e.user("drjones", auth.RolePhysician)
			b := e.browser()
			b.login("drjones")

			// The search links each patient to the chart.
			r := b.get("/?name=muller")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `href="/patients/zoe"`)

			r = b.get("/patients/zoe")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Müller", "Zoë", "MRN MRN-1001", "Born 1984-03-27", "Sex Female",
				"Allergies Penicillin", "Alert Fall risk",
				"Essential hypertension", "ICD-10-CM I10", "SNOMED CT 38341003",
				"lisinopril 10 MG Oral Tablet", "1 tablet by mouth once daily",
				"Penicillin", "High", "Hives (moderate)",
				"Blood pressure", "148/92",
				"Glucose", "182 mg/dL", "▲ High", "70–99 mg/dL",
				"Potassium", "▲▲ Critical high",
				"Tobacco smoking status", "Never smoker",
				"Influenza", "Follow-up visit", "Emergency visit", "from Riverside Hospital")
			if strings.Contains(r.body, "Acute bronchitis") {
				t.Error("a resolved problem is on the summary")
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
			wantBody(t, r, `aria-current="page">Summary</a>`, `href="/patients/zoe/trend?code=2345-7"`)

			r = b.get("/patients/zoe/problems")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Problems", "Essential hypertension", "2015-04-01")
			r = b.get("/patients/zoe/medications")
			wantText(t, r, "lisinopril 10 MG Oral Tablet", "Dr. Ana Lee")
			r = b.get("/patients/zoe/allergies")
			wantText(t, r, "Penicillin", "⚠ High", "Medication")
			r = b.get("/patients/zoe/immunizations")
			wantText(t, r, "Influenza", "2020-10-01", "Td/Tdap")
			r = b.get("/patients/zoe/social")
			wantText(t, r, "Never smoker")

			r = b.get("/patients/zoe/timeline")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Encounters 1–3 of 3", "Follow-up visit", "Blood pressure check", "Dr. Ana Lee", "Emergency visit", "Dermatology consult (ambulatory) from Riverside Hospital")
			if strings.Index(r.body, "Follow-up visit") > strings.Index(r.body, "Emergency visit") {
				t.Error("the timeline is not newest first")
			}
			wantStatus(t, b.get("/patients/zoe/timeline?offset=x"), http.StatusBadRequest)

			r = b.get("/patients/zoe/results")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Basic metabolic panel", "Potassium 6.8 mmol/L ▲▲ Critical high 3.5–5.1 mmol/L",
				"Glucose 182 mg/dL ▲ High 70–99 mg/dL", "Chest X-ray, 2 views", "Conclusion: No acute cardiopulmonary process.")
			r = b.get("/patients/zoe/results?show=abnormal&group=day")
			wantStatus(t, r, http.StatusOK)
			if strings.Contains(visible(r.body), "95 mg/dL") {
				t.Error("abnormal only shows a normal value")
			}
			r = b.get("/patients/zoe/results?group=week")
			wantStatus(t, r, http.StatusBadRequest)
			wantBody(t, r, `id="group-error"`, "Choose panel or day.", `aria-invalid="true"`)

			// The trend: the chart and the same values as a table.
			r = b.get("/patients/zoe/trend?code=2345-7")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `<svg`, `role="img"`, `<desc`, `id="trend-table"`)
			wantText(t, r, "3 values from 2022-03-01", "182 mg/dL ▲ High", "131 mg/dL ▲ High", "95 mg/dL Normal", "2 abnormal")
			if i, j := strings.Index(r.body, ">182<"), strings.Index(r.body, "2024-05-01 08:00"); i >= 0 && j < 0 {
				t.Error("the table lacks the dates")
			}
			r = b.get("/patients/zoe/trend?code=8480-6")
			wantText(t, r, "148 mm[Hg]")
			r = b.get("/patients/zoe/trend?code=" + strings.Repeat("x", 300))
			wantStatus(t, r, http.StatusBadRequest)
			wantBody(t, r, `id="code-error"`)

			r = b.get("/patients/zoe/documents")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Progress note note1", "Hypertension, not at goal & rising glucose.",
				"✔ Signed by Dr. Ana Lee on 2024-05-01 09:40; the signature matches this note.",
				"✖ Signed by Dr. Ana Lee on 2024-05-01 09:40. The note does not match its signature",
				"Discharge summary", "text/plain, 16 bytes", "Discharged home.")
			if strings.Contains(r.body, "<p>Hypertension") {
				t.Error("the note's markup is rendered")
			}

			r = b.get("/patients/zoe/print")
			wantStatus(t, r, http.StatusOK)
			wantText(t, r, "Chart summary", "Essential hypertension", "Penicillin", "Printed", "by Drjones Test")
			wantBody(t, r, `/static/chart.css`)

			// A patient of another organization, a missing one and a
			// malformed id: the same 404, with the emergency access for a
			// physician.
			for _, p := range []string{"/patients/zara", "/patients/nobody", "/patients/zara/results", "/patients/zara/trend?code=2345-7", "/patients/zara/documents"} {
				r = b.get(p)
				wantStatus(t, r, http.StatusNotFound)
				wantText(t, r, "Chart not found", "declare an emergency access")
				if strings.Contains(r.body, "Müllerová") || strings.Contains(r.body, "1990-01-01") {
					t.Errorf("%s reveals the patient", p)
				}
			}
			wantBody(t, b.get("/patients/zara"), `href="/patients/zara/break-glass?next=%2Fpatients%2Fzara"`)
			wantStatus(t, b.get("/patients/bad%20id"), http.StatusNotFound)

			// Front desk: the chart opens without clinical lists, and no
			// emergency access is offered.
			e.user("desk1", auth.RoleFrontDesk)
			d := e.browser()
			d.login("desk1")
			r = d.get("/patients/zara")
			wantStatus(t, r, http.StatusNotFound)
			if strings.Contains(r.body, "break-glass") {
				t.Error("the front desk is offered the emergency access")
			}
		})
	}
}
