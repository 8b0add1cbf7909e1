package postgres_test

import (
	"context"
	"testing"

	"github.com/openchart/openchart/internal/errs"
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

// TestConcurrentOpen starts several stores on one empty schema at once: the
// advisory lock lets one migrate while the others wait.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1", postgres.Options{})
	if errs.KindOf(err) != errs.Transient {
		t.Errorf("Open of an unreachable server: %v (kind %v), want transient", err, errs.KindOf(err))
	}
}
