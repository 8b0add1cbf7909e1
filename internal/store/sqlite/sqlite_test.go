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
