package sqlite_test

import (
	"context"
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
