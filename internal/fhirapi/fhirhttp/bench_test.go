package fhirhttp_test

import (
	"fmt"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
)

// BenchmarkRead measures GET [base]/Patient/[id] through the HTTP handler.
func BenchmarkRead(b *testing.B) {
	e := newEnv(b)
	e.do("PUT", "/Patient/bench", patient("bench", "Bench")).must(b, 201)
	b.ResetTimer()
	for b.Loop() {
		e.do("GET", "/Patient/bench", nil)
	}
}

// BenchmarkCreate measures POST [base]/Patient, one transaction each.
func BenchmarkCreate(b *testing.B) {
	e := newEnv(b)
	body := fhir.Marshal(patient("", "Bench"))
	for b.Loop() {
		e.do("POST", "/Patient", body)
	}
}

// BenchmarkTransaction100 measures a 100-entry transaction of Patients and
// Observations linked by urn:uuid references; it reports resources/s.
func BenchmarkTransaction100(b *testing.B) {
	e := newEnv(b)
	n := 0
	for b.Loop() {
		var entries []map[string]any
		for i := 0; i < 50; i++ {
			urn := fmt.Sprintf("urn:uuid:00000000-0000-0000-0000-%012d", n)
			n++
			entries = append(entries, entry("POST", "Patient", urn, patient("", "Tx")), entry("POST", "Observation", "", observation(urn)))
		}
		e.do("POST", "", bundle("transaction", entries...), "Prefer: return=minimal").must(b, 200)
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "resources/s")
}
