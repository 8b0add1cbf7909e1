package fhirhttp_test

import (
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
)

// TestResponsesAreValid checks that what the server writes (the
// CapabilityStatement, Bundles of every type, OperationOutcomes) is itself
// valid FHIR R4.
func TestResponsesAreValid(t *testing.T) {
	e := newEnv(t)
	v := validate.New(defs.Default(), validate.Options{})
	e.do("PUT", "/Patient/rv", patient("rv", "Valid")).must(t, 201)
	e.do("POST", "/Observation", observation("Patient/rv")).must(t, 201)
	e.do("DELETE", "/Patient/gone", nil).must(t, 200)
	tx := bundle("transaction",
		entry("POST", "Patient", "urn:uuid:rv2", patient("", "Tx")),
		entry("POST", "Observation", "", observation("urn:uuid:rv2")))
	batch := bundle("batch", entry("GET", "Patient/none", "", nil), entry("GET", "Patient/rv", "", nil))
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"metadata", "GET", "/metadata", nil},
		{"searchset", "GET", "/Observation?_include=Observation:subject&bogus=1", nil},
		{"history", "GET", "/_history", nil},
		{"transaction-response", "POST", "", tx},
		{"batch-response", "POST", "", batch},
		{"not found outcome", "GET", "/Patient/none", nil},
		{"delete outcome", "DELETE", "/Patient/rv", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body, "Prefer: return=representation")
			res, err := fhir.Parse(r.raw, fhir.ParseOptions{})
			if err != nil {
				t.Fatalf("%v: %s", err, r.raw)
			}
			for _, is := range v.Validate(res) {
				if is.Severity == "error" || is.Severity == "fatal" {
					t.Errorf("%s %v: %s", is.Code, is.Expression, is.Diagnostics)
				}
			}
		})
	}
}
