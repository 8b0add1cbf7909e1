package chart

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSummary measures the server time of the summary of the largest
// Synthea patient (3,419 resources, 2,265 of them Observations) on each
// store. Each iteration computes the summary once with each of three query
// plans, in turn, so that a machine whose load changes during the run
// weighs on all of them alike: one compartment search over all the
// summary's types (the default), two compartment searches run
// concurrently (observations, the other types), and one search per type
// run concurrently.
// It reports the p50 and p95 latency of one Summary call per plan and the
// CPU time of the process per iteration (docs/PERFORMANCE.md):
//
//	go test ./internal/chart -bench Summary -run '^$' -benchtime 200x
func BenchmarkSummary(b *testing.B) {
	plans := []struct {
		name string
		plan plan
	}{{"one-search", planOne}, {"split", planSplit}, {"per-type", planPerType}}
	for _, name := range storeConfigs() {
		b.Run(name, func(b *testing.B) {
			a := openStack(b, name)
			loadSynthea(b, a, []string{largestPatient})
			c := newChart(b, a, syntheaNow)
			ctx := operator()
			run := func(p plan) time.Duration {
				cc := *c
				cc.plan = p
				start := time.Now()
				s, err := cc.Summary(ctx, largestPatient)
				d := time.Since(start)
				if err != nil || len(s.Results) == 0 {
					b.Fatalf("summary: %v", err)
				}
				return d
			}
			for range 3 { // warm the caches and connections
				for _, p := range plans {
					run(p.plan)
				}
			}
			lat := make([][]time.Duration, len(plans))
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				for k := range plans {
					j := (i + k) % len(plans) // rotate which plan goes first
					lat[j] = append(lat[j], run(plans[j].plan))
				}
			}
			b.StopTimer()
			b.ReportMetric(ms(cpuTime()-cpu0)/float64(b.N*len(plans)), "cpu-ms/summary")
			for j, p := range plans {
				l := lat[j]
				slices.Sort(l)
				b.ReportMetric(ms(l[len(l)/2]), "p50-ms-"+p.name)
				b.ReportMetric(ms(l[min(len(l)-1, len(l)*95/100)]), "p95-ms-"+p.name)
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

// BenchmarkHistory measures ProblemHistory and MedicationHistory of the
// largest Synthea patient on each store: the extra reads of the problems
// and medications pages (docs/PERFORMANCE.md):
//
//	go test ./internal/chart -bench History -run '^$' -benchtime 50x
func BenchmarkHistory(b *testing.B) {
	for _, name := range storeConfigs() {
		b.Run(name, func(b *testing.B) {
			a := openStack(b, name)
			loadSynthea(b, a, []string{largestPatient})
			c := newChart(b, a, syntheaNow)
			ctx := operator()
			views := []struct {
				name string
				run  func() (int, error)
			}{
				{"problems", func() (int, error) {
					h, err := c.ProblemHistory(ctx, largestPatient)
					if err != nil {
						return 0, err
					}
					return len(h.Inactive), nil
				}},
				{"medications", func() (int, error) {
					h, err := c.MedicationHistory(ctx, largestPatient)
					if err != nil {
						return 0, err
					}
					return len(h.Inactive), nil
				}},
			}
			lat := make([][]time.Duration, len(views))
			measure := func(j int) time.Duration {
				start := time.Now()
				n, err := views[j].run()
				if err != nil || n == 0 {
					b.Fatalf("%s: %d items, %v", views[j].name, n, err)
				}
				return time.Since(start)
			}
			for j := range views {
				measure(j)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				for j := range views {
					lat[j] = append(lat[j], measure(j))
				}
			}
			b.StopTimer()
			b.ReportMetric(ms(cpuTime()-cpu0)/float64(b.N*len(views)), "cpu-ms/view")
			for j, v := range views {
				l := lat[j]
				slices.Sort(l)
				b.ReportMetric(ms(l[len(l)/2]), "p50-ms-"+v.name)
			}
		})
	}
}
