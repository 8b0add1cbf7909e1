package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestAutoAnalyze: once enough versions are written, the store refreshes
// its planner statistics by itself, without a call to Analyze.
func TestAutoAnalyze(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{AnalyzeAfter: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	analyzed := func() (rows int64) {
		err := db.QueryRow("SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'resources' LIMIT 1").Scan(&rows)
		if err != nil {
			return -1
		}
		return rows
	}
	put := func(from, to int) { storetest.PutPatients(t, s, "p", from, to, 0) }
	put(0, 49)
	time.Sleep(50 * time.Millisecond)
	if n := analyzed(); n != -1 {
		t.Fatalf("statistics after 49 writes, below the threshold: %d rows", n)
	}
	put(49, 60)
	deadline := time.Now().Add(10 * time.Second)
	for analyzed() != 60 {
		if time.Now().After(deadline) {
			t.Fatalf("no statistics of the 60 resources after the threshold was passed (got %d)", analyzed())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
