package validate

import (
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// BenchmarkValidateSyntheaBundleEntries validates the entries of a few
// Synthea bundles, one resource at a time as a bulk import would.
func BenchmarkValidateSyntheaBundleEntries(b *testing.B) {
	b.Run("structure", func(b *testing.B) { benchValidate(b, Options{}) })
	b.Run("with-invariants", func(b *testing.B) {
		benchValidate(b, Options{Invariants: FHIRPathInvariants(defs.Default())})
	})
}

func benchValidate(b *testing.B, opts Options) {
	res := syntheaResources(b, 6)
	v := New(defs.Default(), opts)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, r := range res {
			if issues := v.Validate(r); HasErrors(issues) {
				b.Fatalf("%s/%v is invalid: %v", r["resourceType"], r["id"], issues)
			}
		}
		n += len(res)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
}

func BenchmarkNew(b *testing.B) {
	d := defs.Default()
	for b.Loop() {
		New(d, Options{})
	}
}
