package fhirhttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
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

// BenchmarkReadScoped measures GET [base]/Patient/[id] as a backend
// service with system/*.rs scopes, as the benchmark harness reads: the
// access policy restricts it by labels alone (no restricted or very
// restricted ones), so the read fetches the Patient by key and looks for
// labels in its JSON (no Patient here has any), and every read commits its
// audit entry before it answers. "serial" is one client; "parallel" eight
// at once (eight goroutines whatever GOMAXPROCS), whose audit entries
// share commits.
func BenchmarkReadScoped(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			e := newEnv(b, envOptions{postgres: store == "postgres"})
			for i := range 20 {
				id := fmt.Sprintf("bench%d", i)
				e.do("PUT", "/Patient/"+id, patient(id, "Bench")).must(b, 201)
			}
			h := fhirhttp.New(e.api, fhirhttp.Options{BasePath: "/fhir", Authenticate: func(*http.Request) (*access.Principal, error) {
				return &access.Principal{Kind: access.Client, ClientID: "bench", Scopes: []string{"system/*.rs"}}, nil
			}})
			get := func(b *testing.B, i int) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("%s/Patient/bench%d", base, i%20), nil))
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
				}
			}
			b.Run("serial", func(b *testing.B) {
				cpu := processCPU()
				i := 0
				for b.Loop() {
					get(b, i)
					i++
				}
				reportCPU(b, cpu)
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
				cpu := processCPU()
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						get(b, int(n.Add(1)))
					}
				})
				reportCPU(b, cpu)
			})
		})
	}
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per operation since start: on a
// shared machine it varies much less than ns/op, which counts the time
// spent waiting for a core. (With PostgreSQL, the database server's own
// CPU time is not included.)
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
}
