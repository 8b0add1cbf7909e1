package fhirhttp_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// versions counts every stored version (system history total).
func (e *env) versions() int {
	e.t.Helper()
	r := e.do("GET", "/_history?_count=1", nil).must(e.t, 200)
	n, _ := get(r.body, "total").(json.Number).Int64()
	return int(n)
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestInvalidRequests sends malformed or refused requests: each must be
// answered with the right status and an OperationOutcome naming the issue
// (and its location where one applies), and nothing may be stored.
func TestInvalidRequests(t *testing.T) { bothStores(t, testInvalidRequests) }

func testInvalidRequests(t *testing.T, o envOptions) {
	o2 := envOptions{maxBody: 64 << 10}
	o2.postgres = o.postgres
	e := newEnv(t, o2)
	e.do("PUT", "/Patient/existing", patient("existing", "Here")).must(t, 201)
	const jp = "Content-Type: application/json-patch+json"
	deep := strings.Repeat(`{"extension":[`, 40) + strings.Repeat(`]}`, 40)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		hdr        []string
		status     int
		code       string
		expression string // a substring of some issue expression; "" when none applies
	}{
		{"bad JSON", "POST", "/Patient", `{"resourceType":"Patient",`, nil, 400, "structure", ""},
		{"trailing data", "POST", "/Patient", `{"resourceType":"Patient"} x`, nil, 400, "structure", ""},
		{"array body", "POST", "/Patient", `[]`, nil, 400, "structure", ""},
		{"no resourceType", "POST", "/Patient", `{"id":"x"}`, nil, 400, "structure", ""},
		{"duplicate key", "POST", "/Patient", `{"resourceType":"Patient","active":true,"active":false}`, nil, 400, "structure", ""},
		{"null value", "POST", "/Patient", `{"resourceType":"Patient","active":null}`, nil, 400, "structure", ""},
		{"invalid UTF-8", "POST", "/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}", nil, 400, "structure", ""},
		{"too deep", "POST", "/Patient", `{"resourceType":"Patient","extension":[` + deep + `]}`, nil, 400, "too-costly", ""},
		{"empty body", "POST", "/Patient", "", []string{"Content-Type: application/fhir+json"}, 400, "required", ""},
		{"unknown element", "POST", "/Patient", `{"resourceType":"Patient","colour":"blue"}`, nil, 400, "structure", "Patient.colour"},
		{"wrong JSON type", "POST", "/Patient", `{"resourceType":"Patient","active":"yes"}`, nil, 400, "structure", "Patient.active"},
		{"object for array", "POST", "/Patient", `{"resourceType":"Patient","name":{"family":"x"}}`, nil, 400, "structure", "Patient.name"},
		{"missing required element", "POST", "/Observation", `{"resourceType":"Observation","code":{"text":"x"}}`, nil, 400, "required", "Observation.status"},
		{"bad code", "POST", "/Patient", `{"resourceType":"Patient","gender":"robot"}`, nil, 400, "code-invalid", "Patient.gender"},
		{"bad date", "POST", "/Patient", `{"resourceType":"Patient","birthDate":"1990-13-45"}`, nil, 400, "value", "Patient.birthDate"},
		{"bad reference", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a b"}}`, nil, 400, "invalid", "Observation.subject"},
		{"reference to wrong type", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Medication/m1"}}`, nil, 400, "invalid", "Observation.subject"},
		{"bad id in URL", "PUT", "/Patient/a_b", patient("a_b", "X"), nil, 400, "value", ""},
		{"wrong type for URL", "POST", "/Patient", observation("Patient/x"), nil, 400, "invalid", "resourceType"},
		{"wrong type for update URL", "PUT", "/Patient/p9", map[string]any{"resourceType": "Organization", "id": "p9"}, nil, 400, "invalid", "resourceType"},
		{"id mismatch", "PUT", "/Patient/p1", patient("p2", "X"), nil, 400, "invalid", "Patient.id"},
		{"update without id", "PUT", "/Patient/p1", patient("", "X"), nil, 400, "required", "Patient.id"},
		{"create with id in URL", "POST", "/Patient/p1", patient("p1", "X"), nil, 405, "not-supported", ""},
		{"unknown type read", "GET", "/Frobnicator/1", nil, nil, 404, "not-supported", ""},
		{"unknown type create", "POST", "/Frobnicator", `{"resourceType":"Frobnicator"}`, nil, 404, "not-supported", ""},
		{"unknown route", "GET", "/Patient/1/_history/2/more", nil, nil, 404, "not-found", ""},
		{"lower-case route", "GET", "/patient", nil, nil, 404, "not-found", ""},
		{"method not allowed", "PUT", "/metadata", `{}`, nil, 405, "not-supported", ""},
		{"unknown HTTP method", "OPTIONS", "/Patient", nil, nil, 405, "not-supported", ""},
		{"unknown param strict", "GET", "/Patient?shoe-size=9", nil, []string{"Prefer: handling=strict"}, 400, "invalid", "shoe-size"},
		{"bad date in search", "GET", "/Patient?birthdate=yesterday", nil, []string{"Prefer: handling=strict"}, 400, "invalid", ""},
		{"bad _count", "GET", "/Patient?_count=-1", nil, nil, 400, "value", "_count"},
		{"bad _since", "GET", "/_history?_since=last-week", nil, nil, 400, "value", "_since"},
		{"bad JSON Patch op", "PATCH", "/Patient/existing", `[{"op":"frobnicate","path":"/active"}]`, []string{jp}, 400, "structure", ""},
		{"JSON Patch not JSON", "PATCH", "/Patient/existing", `[{"op":`, []string{jp}, 400, "structure", ""},
		{"JSON Patch to invalid", "PATCH", "/Patient/existing", `[{"op":"add","path":"/gender","value":"robot"}]`, []string{jp}, 400, "code-invalid", "Patient.gender"},
		{"PATCH without content type", "PATCH", "/Patient/existing", `[]`, []string{"Content-Type:"}, 400, "required", ""},
		{"PATCH as text", "PATCH", "/Patient/existing", `[]`, []string{"Content-Type: text/plain"}, 415, "not-supported", ""},
		{"XML body", "POST", "/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, []string{"Content-Type: application/fhir+xml"}, 415, "not-supported", ""},
		{"XML _format", "GET", "/Patient/existing?_format=xml", nil, nil, 406, "not-supported", ""},
		{"XML Accept", "GET", "/Patient/existing", nil, []string{"Accept: application/fhir+xml"}, 406, "not-supported", ""},
		{"malformed If-Match", "PUT", "/Patient/existing", patient("existing", "X"), []string{"If-Match: yesterday"}, 400, "value", ""},
		{"stale If-Match", "PUT", "/Patient/existing", patient("existing", "X"), []string{`If-Match: W/"7"`}, 412, "conflict", ""},
		{"conditional delete without criteria", "DELETE", "/Patient", nil, nil, 400, "required", ""},
		{"oversized body", "POST", "/Patient", patient("", strings.Repeat("x", 70<<10)), nil, 413, "too-costly", ""},
		{"gzip bomb", "POST", "/Patient", gzipped(`{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("x", 70<<10) + `"}]}`), []string{"Content-Encoding: gzip"}, 413, "too-costly", ""},
		{"corrupt gzip", "POST", "/Patient", "not gzip at all", []string{"Content-Encoding: gzip"}, 400, "structure", ""},
		{"collection Bundle", "POST", "", `{"resourceType":"Bundle","type":"collection"}`, nil, 400, "value", "Bundle.type"},
		{"entry without request", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}`, nil, 400, "required", "Bundle.entry[0]"},
		{"transaction with invalid entry", "POST", "", bundle("transaction", entry("POST", "Patient", "", patient("", "Ok")), entry("POST", "Patient", "", map[string]any{"resourceType": "Patient", "birthDate": "never"})), nil, 400, "value", "Bundle.entry[1]"},
		{"abstract type in transaction", "POST", "", bundle("transaction", entry("POST", "DomainResource", "", map[string]any{"resourceType": "DomainResource"})), nil, 404, "not-supported", "Bundle.entry[0]"},
		{"unknown operation", "POST", "/Patient/$frobnicate", `{"resourceType":"Parameters"}`, nil, 501, "not-supported", ""},
		{"validate with GET", "GET", "/Patient/$validate", nil, nil, 405, "not-supported", ""},
		{"validate unparsable", "POST", "/Patient/$validate", `{"resourceType":`, nil, 400, "structure", ""},
		{"FHIRPath Patch body not Parameters", "PATCH", "/Patient/existing", patient("existing", "X"), nil, 400, "invalid", "resourceType"},
	}
	before := e.versions()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body, tc.hdr...)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if r.body["resourceType"] != "OperationOutcome" {
				t.Fatalf("not an OperationOutcome: %s", r.raw)
			}
			if codes := r.issueCodes(); !slices.Contains(codes, tc.code) {
				t.Errorf("issue codes %v, want %q among them: %s", codes, tc.code, r.raw)
			}
			if tc.expression != "" && !slices.ContainsFunc(r.expressions(), func(s string) bool { return strings.Contains(s, tc.expression) }) {
				t.Errorf("expressions %v, want one containing %q", r.expressions(), tc.expression)
			}
		})
	}
	if after := e.versions(); after != before {
		t.Errorf("%d versions were stored by invalid requests", after-before)
	}
	if len(tests) < 30 {
		t.Errorf("only %d cases", len(tests))
	}
}
