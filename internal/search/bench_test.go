package search

import (
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// BenchmarkIndexSynthea indexes every resource of one synthea-120 patient
// Bundle per iteration and reports resources per second.
func BenchmarkIndexSynthea(b *testing.B) {
	resources := syntheaResources(b)
	ix, err := NewIndexer(defs.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, res := range resources {
			if _, err := ix.Index(res); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(resources))/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(resources))/1e3, "µs/resource")
}
