package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func openB(b *testing.B) store.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkPut700(b *testing.B)        { storetest.BenchPut(b, openB(b)) }
func BenchmarkRead(b *testing.B)          { storetest.BenchRead(b, openB(b)) }
func BenchmarkCountToken(b *testing.B)    { storetest.BenchCountToken(b, openB(b)) }
func BenchmarkSearchSubject(b *testing.B) { storetest.BenchSearchChain(b, openB(b)) }

// TestReopen checks that Open creates the directory and that reopening an
// existing store keeps its data and applies no migration twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/nested/data"
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, []store.Write{{Record: store.Record{Type: "Patient", ID: "a", Version: 1,
			Method: store.MethodCreate, LastUpdated: tx.Now(), JSON: []byte(`{}`)}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.Read(ctx, "Patient", "a"); err != nil {
		t.Errorf("read after reopen: %v", err)
	}
}

func BenchmarkAuditCommit(b *testing.B) {
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchAuditCommit(b, openB(b), n) })
	}
}
