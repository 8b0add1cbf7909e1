package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlgen"
	"github.com/openchart/openchart/internal/store/storetest"
)

// BenchmarkSearchMix measures the searches of the performance mix over
// Synthea patients (OPENCHART_BENCH_PATIENTS, default 30), before and
// after planner statistics exist. With OPENCHART_EXPLAIN=1 it logs each
// search's statement and EXPLAIN (ANALYZE, BUFFERS), before and after.
func BenchmarkSearchMix(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	pats := storetest.LoadSynthea(b, s, storetest.BenchPatients())
	cases := storetest.SearchCases(b, pats)
	if os.Getenv("OPENCHART_EXPLAIN") != "" {
		explain(b, s, cases, "fresh")
		if err := s.Analyze(context.Background()); err != nil {
			b.Fatal(err)
		}
		explain(b, s, cases, "analyzed")
		return
	}
	storetest.RunSearchCases(b, s, cases)
}

func explain(b *testing.B, s *postgres.Store, cases []storetest.SearchCase, stage string) {
	ctx := context.Background()
	for _, sc := range cases {
		q := sc.Query(0)
		st, err := sqlgen.Page(sqlgen.Postgres{}, q)
		if sc.Count {
			st, err = sqlgen.Count(sqlgen.Postgres{}, q)
		}
		if err != nil {
			b.Fatal(err)
		}
		rows, err := s.Pool().Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+st.SQL, st.Args...)
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				b.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		b.Logf("%s %s:\n%s\n%v\n%s", stage, sc.Name, st.SQL, st.Args, strings.Join(plan, "\n"))
	}
}
