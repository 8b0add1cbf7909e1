package postgres_test

import (
	"context"
	"testing"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/storetest"
)

func openStore(t *testing.T) *postgres.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t *testing.T) store.Store { return openStore(t) }

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func openB(b *testing.B) store.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{})
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
