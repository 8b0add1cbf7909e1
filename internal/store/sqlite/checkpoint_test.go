package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestBackgroundCheckpoint: committed pages reach the database file while
// the store is open, though far fewer than SQLite's automatic checkpoint
// threshold (1,000 pages) were written, and the WAL is not what holds them.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func(name string) int64 { return fileSize(filepath.Join(dir, name)) }
	time.Sleep(300 * time.Millisecond) // the checkpoint after the migrations
	before := size(sqlite.FileName)
	storetest.PutPatients(t, s, "c", 0, 300, 300)
	wal := size(sqlite.FileName + "-wal")
	if wal == 0 {
		t.Fatal("no WAL after a commit")
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(sqlite.FileName) < before+100_000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (%d before the commit, WAL %d): no checkpoint", size(sqlite.FileName), before, wal)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec, err := s.Read(ctx, "Patient", "c299")
	if err != nil || rec.Version != 1 {
		t.Fatalf("read after the checkpoint: %+v, %v", rec, err)
	}
}

// TestWALBounded: transactions back to back, with a reader holding a
// snapshot so that no passive checkpoint can copy the log to its end, grow
// the WAL past WALLimitMiB; once the reader is done, the store truncates
// the log while writes go on, and the data is all there.
func TestWALBounded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{WALLimitMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	walSize := func() int64 { return fileSize(filepath.Join(dir, sqlite.FileName+"-wal")) }
	write := func(batch int) {
		t.Helper()
		storetest.PutPatients(t, s, fmt.Sprintf("w%d-", batch), 0, 100, 400)
	}
	// A reader in a transaction keeps its snapshot: the checkpoints may not
	// copy frames written after it, and the log cannot start over.
	write(-1)
	other, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rtx, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rtx.QueryRowContext(ctx, "SELECT count(*) FROM resources").Scan(&n); err != nil || n != 100 {
		t.Fatalf("the reader's snapshot: %d resources, %v", n, err)
	}
	batch := 0
	for ; walSize() < 3<<20; batch++ {
		write(batch)
	}
	grown := walSize()
	rtx.Rollback()
	deadline := time.Now().Add(20 * time.Second)
	for walSize() >= grown {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL stayed at %d bytes (limit 1 MiB)", walSize())
		}
		write(batch)
		batch++
		time.Sleep(20 * time.Millisecond)
	}
	for b := 0; b < batch; b++ {
		for _, i := range []int{0, 99} {
			if rec, err := s.Read(ctx, "Patient", fmt.Sprintf("w%d-%d", b, i)); err != nil || rec.Version != 1 {
				t.Fatalf("w%d-%d after the truncation: %+v, %v", b, i, rec, err)
			}
		}
	}
}

// fileSize is the size of the file at path, 0 when there is none (yet).
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// TestWriterCacheReleased: the writer's page cache is released once commits
// have paused for ShrinkAfter, not while they go on, and writes work after
// it; a negative ShrinkAfter never releases it.
func TestWriterCacheReleased(t *testing.T) {
	ctx := context.Background()
	write := func(s *sqlite.Store, id string) {
		t.Helper()
		err := s.InTx(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, []store.Write{{Record: store.Record{Type: "Patient", ID: id, Version: 1, LastUpdated: tx.Now(),
				Method: store.MethodCreate, JSON: []byte(`{"resourceType":"Patient","id":"` + id + `"}`)}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{ShrinkAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 30; i++ {
		write(s, fmt.Sprint("w", i))
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.WriterShrinks(); n != 0 {
		t.Fatalf("released %d times while commits went on", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.WriterShrinks() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the writer's cache was not released after the commits paused")
		}
		time.Sleep(50 * time.Millisecond)
	}
	write(s, "after")
	if rec, err := s.Read(ctx, "Patient", "after"); err != nil || rec.Version != 1 {
		t.Fatalf("read after the release: %+v, %v", rec, err)
	}

	never, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{ShrinkAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer never.Close()
	write(never, "p")
	time.Sleep(300 * time.Millisecond)
	if n := never.WriterShrinks(); n != 0 {
		t.Errorf("ShrinkAfter -1 released the cache %d times", n)
	}
}
