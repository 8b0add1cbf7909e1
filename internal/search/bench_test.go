package search

import (
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// measures the work more steadily than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIndexSynthea indexes every resource of one synthea-120 patient
// Bundle per iteration and reports resources per second (wall clock) and
// CPU microseconds per resource.
func BenchmarkIndexSynthea(b *testing.B) {
	resources := syntheaResources(b)
	ix, err := NewIndexer(defs.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, res := range resources {
			if _, err := ix.Index(res); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := float64(b.N * len(resources))
	b.ReportMetric(n/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "cpu-µs/resource")
}

// BenchmarkCompile compiles a typical patient-chart search.
func BenchmarkCompile(b *testing.B) {
	c := NewCompiler(defs.Default())
	params, _ := url.ParseQuery("patient=Patient/123&category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&date=ge2020-01-01&_sort=-date&_count=20")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile("Observation", params, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexSyntheaParallel is BenchmarkIndexSynthea on every CPU at
// once, as a server indexing concurrent writes does.
func BenchmarkIndexSyntheaParallel(b *testing.B) {
	resources := syntheaResources(b)
	ix, err := NewIndexer(defs.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := ix.Index(resources[i%len(resources)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resources/s")
}
