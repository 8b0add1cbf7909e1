package fhirhttp_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/shareddata"
)

// largestSynthea is the largest patient Bundle of the 120-patient sample:
// 3,419 resources (2,265 Observations).
const largestSynthea = "e5a8d3f4-4484-ebfd-7404-d9f02c9fe6a6.json.gz"

// loadSynthea posts the sample's organization and practitioner Bundles and
// one patient's transaction Bundle, and returns the patient's id.
func loadSynthea(tb testing.TB, e *env, patientFile string) string {
	tb.Helper()
	dir := shareddata.Path(tb, "synthea-120")
	info, _ := filepath.Glob(filepath.Join(dir, "0-*.json.gz"))
	var id string
	for _, f := range append(info, filepath.Join(dir, patientFile)) {
		r := e.do("POST", "", gunzip(tb, f), "Prefer: return=minimal")
		if r.status != 200 {
			tb.Fatalf("%s: %d %.600s", filepath.Base(f), r.status, r.raw)
		}
		// The Bundle POSTs its resources: the server names them.
		for _, en := range asList(r.body["entry"]) {
			loc := strings.TrimPrefix(str(en, "response", "location"), base+"/")
			if rest, ok := strings.CutPrefix(loc, "Patient/"); ok {
				id, _, _ = strings.Cut(rest, "/")
			}
		}
	}
	if id == "" {
		tb.Fatalf("no Patient in %s", patientFile)
	}
	return id
}

func gunzip(tb testing.TB, path string) []byte {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// BenchmarkEverything measures GET [base]/Patient/[id]/$everything of the
// largest Synthea patient through the HTTP handler, as the benchmark
// harness asks it (first page, a client token with system/*.rs scopes, so
// the access policy restricts every search), on both stores. "serial" is
// one client, "parallel" eight at once. cpu-us/op is the process's CPU
// time per operation (the database server's own excluded on PostgreSQL).
func BenchmarkEverything(b *testing.B) {
	benchSynthea(b, func(id string) string { return "/Patient/" + id + "/$everything" })
}

// BenchmarkInclude measures the harness's _include search on the same
// patient: its laboratory Observations (a page of 50) with their
// Encounters.
func BenchmarkInclude(b *testing.B) {
	benchSynthea(b, func(id string) string {
		return "/Observation?patient=" + id + "&category=laboratory&_include=Observation:encounter"
	})
}

// benchSynthea loads the largest Synthea patient into each store and
// measures GET path(id) under a client token, serially and eight at once.
func benchSynthea(b *testing.B, path func(id string) string) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			e := newEnv(b, envOptions{postgres: store == "postgres"})
			url := base + path(loadSynthea(b, e, largestSynthea))
			h := fhirhttp.New(e.api, fhirhttp.Options{BasePath: "/fhir", Authenticate: func(*http.Request) (*access.Principal, error) {
				return &access.Principal{Kind: access.Client, ClientID: "bench", Scopes: []string{"system/*.rs"}}, nil
			}})
			get := func(b *testing.B) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
				if rec.Code != 200 {
					b.Fatalf("status %d: %.600s", rec.Code, rec.Body.Bytes())
				}
			}
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					get(b)
				}
				reportCPU(b, cpu)
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
				cpu := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						get(b)
					}
				})
				reportCPU(b, cpu)
			})
		})
	}
}
