package chart

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSummary measures the server time of the summary of the largest
// Synthea patient (3,419 resources, 2,265 of them Observations) on each
// store, with three query plans: two compartment searches run
// concurrently (observations, the other types), one compartment search
// over all the summary's types, and one search per type run concurrently. It reports
// the p50 and p95 latency of one Summary call and the CPU time it used
// (docs/PERFORMANCE.md):
//
//	go test ./internal/chart -bench Summary -run '^$' -benchtime 200x
func BenchmarkSummary(b *testing.B) {
	for _, name := range storeConfigs() {
		b.Run(name, func(b *testing.B) {
			a := openStack(b, name)
			loadSynthea(b, a, []string{largestPatient})
			c := newChart(b, a, syntheaNow)
			for _, p := range []struct {
				name string
				plan plan
			}{{"split", planSplit}, {"one-search", planOne}, {"per-type", planPerType}} {
				b.Run(p.name, func(b *testing.B) {
					c.plan = p.plan
					ctx := operator()
					for range 3 { // warm the caches and connections
						if _, err := c.Summary(ctx, largestPatient); err != nil {
							b.Fatal(err)
						}
					}
					lat := make([]time.Duration, 0, b.N)
					cpu0 := cpuTime()
					b.ResetTimer()
					for range b.N {
						start := time.Now()
						s, err := c.Summary(ctx, largestPatient)
						lat = append(lat, time.Since(start))
						if err != nil || len(s.Results) == 0 {
							b.Fatalf("summary: %v", err)
						}
					}
					b.StopTimer()
					b.ReportMetric(ms(cpuTime()-cpu0)/float64(b.N), "cpu-ms/op")
					slices.Sort(lat)
					b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
					b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*95/100)]), "p95-ms")
				})
			}
		})
	}
}

// cpuTime is the CPU time the process has used (user and system): the
// summary's cost whatever else the machine runs, which wall-clock
// latencies on a shared machine are not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
