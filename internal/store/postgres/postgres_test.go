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
