package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestAutoAnalyze: once enough versions are written, the store analyses
// its tables by itself (autovacuum may be off), without a call to Analyze.
func TestAutoAnalyze(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{AnalyzeAfter: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// reltuples is -1 until the table is first analysed or vacuumed.
	analyzed := func() (rows float64) {
		if err := s.Pool().QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = to_regclass('resources')").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	put := func(from, to int) { storetest.PutPatients(t, s, "p", from, to, 0) }
	put(0, 49)
	time.Sleep(50 * time.Millisecond)
	if n := analyzed(); n >= 0 {
		t.Fatalf("the table was analysed after 49 writes, below the threshold (reltuples %v)", n)
	}
	put(49, 60)
	deadline := time.Now().Add(10 * time.Second)
	for analyzed() != 60 {
		if time.Now().After(deadline) {
			t.Fatalf("the 60 resources were not analysed after the threshold was passed (reltuples %v)", analyzed())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
