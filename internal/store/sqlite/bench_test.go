package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/store/sqlgen"
	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

// BenchmarkSearchMix measures the searches of the performance mix over
// Synthea patients (OPENCHART_BENCH_PATIENTS, default 30), before and after
// ANALYZE. With OPENCHART_EXPLAIN=1 it logs each search's statement and
// query plan, before and after.
func BenchmarkSearchMix(b *testing.B) {
	dir := b.TempDir()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	pats := storetest.LoadSynthea(b, s, storetest.BenchPatients())
	cases := storetest.SearchCases(b, pats)
	if os.Getenv("OPENCHART_EXPLAIN") != "" {
		explain(b, filepath.Join(dir, sqlite.FileName), cases)
		if err := s.Analyze(context.Background()); err != nil {
			b.Fatal(err)
		}
		explain(b, filepath.Join(dir, sqlite.FileName), cases)
		return
	}
	storetest.RunSearchCases(b, s, cases)
}

func explain(b *testing.B, path string, cases []storetest.SearchCase) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, sc := range cases {
		q := sc.Query(0)
		st, err := sqlgen.Page(sqlgen.SQLite{}, q)
		if sc.Count {
			st, err = sqlgen.Count(sqlgen.SQLite{}, q)
		}
		if err != nil {
			b.Fatal(err)
		}
		rows, err := db.Query("EXPLAIN QUERY PLAN "+st.SQL, st.Args...)
		if err != nil {
			b.Fatal(err)
		}
		var out strings.Builder
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&out, "  %d<-%d %s\n", id, parent, detail)
		}
		rows.Close()
		b.Logf("%s:\n%s\n%v\n%s", sc.Name, st.SQL, st.Args, out.String())
	}
}
