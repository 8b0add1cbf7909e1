package storetest

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// BenchPatients is the number of synthea-120 patients the search
// benchmarks load: OPENCHART_BENCH_PATIENTS, 30 by default.
func BenchPatients() int {
	if n, err := strconv.Atoi(os.Getenv("OPENCHART_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 30
}

// SearchCase is one search of the benchmark mix, as the API compiles it.
type SearchCase struct {
	Name string
	// Query returns the search for the i-th request.
	Query func(i int) *store.Query
	// Count reports matches per second rather than requests.
	Count bool
}

// SearchCases compiles the searches of the performance mix
// (docs/PERFORMANCE.md) over the loaded patients.
func SearchCases(tb testing.TB, pats []SyntheaPatient) []SearchCase {
	tb.Helper()
	c := search.NewCompiler(defs.Default())
	compile := func(typ, raw string) *store.Query {
		v, err := url.ParseQuery(raw)
		if err != nil {
			tb.Fatal(err)
		}
		cp, err := c.Compile(typ, v, true)
		if err != nil {
			tb.Fatalf("%s?%s: %v", typ, raw, err)
		}
		return cp.Query
	}
	per := func(typ string, raw func(p SyntheaPatient) string) func(int) *store.Query {
		qs := make([]*store.Query, len(pats))
		for i, p := range pats {
			qs[i] = compile(typ, raw(p))
		}
		return func(i int) *store.Query { return qs[i%len(qs)] }
	}
	one := func(typ, raw string) func(int) *store.Query {
		q := compile(typ, raw)
		return func(int) *store.Query { return q }
	}
	return []SearchCase{
		{Name: "subject", Query: per("Observation", func(p SyntheaPatient) string { return "subject=Patient/" + p.ID })},
		{Name: "chain", Query: per("Observation", func(p SyntheaPatient) string { return "subject:Patient.name=" + url.QueryEscape(p.Family) })},
		{Name: "vitals-sorted", Query: per("Observation", func(p SyntheaPatient) string {
			return "patient=" + p.ID + "&category=vital-signs&_sort=-date"
		})},
		{Name: "birthdate-count", Count: true, Query: one("Patient", "birthdate=gt1970-01-01&_summary=count")},
		{Name: "token-count", Count: true, Query: one("Observation", "code=http://loinc.org|8310-5&_summary=count")},
		{Name: "has-nested", Query: one("Claim", "_has:ExplanationOfBenefit:claim:_has:Provenance:target:recorded=le2021-07")},
	}
}

// RunSearchCases runs each case as a sub-benchmark, first on the freshly
// loaded store (no planner statistics, as after an import over HTTP),
// then after the store's Analyze.
func RunSearchCases(b *testing.B, s store.Store, cases []SearchCase) {
	run(b, s, cases, "fresh")
	if a, ok := s.(Analyzer); ok {
		if err := a.Analyze(context.Background()); err != nil {
			b.Fatalf("analyze: %v", err)
		}
		run(b, s, cases, "analyzed")
	}
}

func run(b *testing.B, s store.Store, cases []SearchCase, stage string) {
	ctx := context.Background()
	for _, sc := range cases {
		b.Run(stage+"/"+sc.Name, func(b *testing.B) {
			matches, i := 0, 0
			for b.Loop() {
				res, err := s.Search(ctx, sc.Query(i))
				if err != nil {
					b.Fatal(err)
				}
				i++
				if sc.Count {
					matches += res.Total
				} else {
					matches += len(res.Records)
				}
			}
			if sc.Count {
				b.ReportMetric(float64(matches)/b.Elapsed().Seconds(), "matches/s")
			} else {
				b.ReportMetric(float64(matches)/float64(i), "rows/op")
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
