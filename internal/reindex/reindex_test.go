package reindex_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/reindex"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlite"
)

func stores() map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) store.Store {
			s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// genderIndexer indexes a Patient's gender as a token; hook runs before a
// resource is indexed, once per resource.
type genderIndexer struct {
	mu   sync.Mutex
	seen map[string]bool
	hook func(id string)
}

func (g *genderIndexer) Index(res map[string]any) (store.Index, error) {
	id, _ := res["id"].(string)
	g.mu.Lock()
	first := !g.seen[id]
	g.seen[id] = true
	g.mu.Unlock()
	if first && g.hook != nil {
		g.hook(id)
	}
	if id == "bad" {
		return store.Index{}, errors.New("cannot index this one")
	}
	gender, _ := res["gender"].(string)
	return store.Index{Tokens: []store.Token{{Param: "gender", Code: gender}}}, nil
}

func patient(id, gender string, v int64) store.Write {
	return store.Write{Record: store.Record{Type: "Patient", ID: id, Version: v, Method: store.MethodUpdate,
		JSON: fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"gender":%q}`, id, gender)}}
}

func put(t *testing.T, s store.Store, ws ...store.Write) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		for i := range ws {
			ws[i].LastUpdated = tx.Now()
		}
		return tx.Put(context.Background(), ws)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s store.Store, gender string) int {
	t.Helper()
	res, err := s.Search(context.Background(), &store.Query{Types: []string{"Patient"}, Total: store.TotalAccurate,
		Where: []store.Clause{{Or: []store.Predicate{{Param: "gender", Kind: store.KindToken, AnySystem: true, Code: gender}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Total
}

// TestRun reindexes resources written without rows while a concurrent
// writer changes one and deletes another mid-batch, and one cannot be
// indexed: the changed one gets the rows of its new version, the deleted
// one is skipped, the failure is reported, and nothing else is touched.
func TestRun(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			for _, id := range []string{"p1", "p2", "p3", "bad", "p5"} {
				put(t, s, patient(id, "female", 1))
			}
			ix := &genderIndexer{seen: map[string]bool{}}
			ix.hook = func(id string) {
				if id == "p1" {
					// A writer whose parameters lack gender: no rows.
					put(t, s, patient("p2", "male", 2))
					put(t, s, store.Write{Record: store.Record{Type: "Patient", ID: "p3", Version: 2, Deleted: true, Method: store.MethodDelete}})
				}
			}
			sum, err := reindex.Run(ctx, s, ix, reindex.Options{Batch: 100, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := &reindex.Summary{Reindexed: 3, Types: map[string]int{"Patient": 3}, Skipped: 1, Failed: 1,
				Errors: []string{"Patient/bad: cannot index this one"}}
			sum.Elapsed = 0
			if d := cmp.Diff(want, sum); d != "" {
				t.Errorf("summary (-want +got):\n%s", d)
			}
			if f, m := count(t, s, "female"), count(t, s, "male"); f != 2 || m != 1 {
				t.Errorf("female %d, male %d; want 2 and 1", f, m)
			}
			rec, err := s.Read(ctx, "Patient", "p2")
			if err != nil || rec.Version != 2 {
				t.Errorf("p2 is at version %v (%v), want 2", rec, err)
			}
		})
	}
}

// TestResume stops after the first batch and resumes from the cursor the
// progress reports gave.
func TestResume(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			for i := range 5 {
				put(t, s, patient(fmt.Sprint("p", i), "female", 1))
			}
			cctx, cancel := context.WithCancel(ctx)
			ix := &genderIndexer{seen: map[string]bool{}, hook: func(id string) {
				if id == "p2" { // the first of the second batch
					cancel()
				}
			}}
			sum, err := reindex.Run(cctx, s, ix, reindex.Options{Batch: 2})
			if err == nil {
				t.Fatal("a cancelled run succeeded")
			}
			if sum.Reindexed != 2 || sum.Last == "" {
				t.Fatalf("cancelled run: %+v; want 2 reindexed and a cursor", sum)
			}
			sum, err = reindex.Run(ctx, s, &genderIndexer{seen: map[string]bool{}}, reindex.Options{Batch: 2, After: sum.Last})
			if err != nil || sum.Reindexed != 3 || sum.Last != "" {
				t.Fatalf("resumed run: %+v, %v; want 3 reindexed to the end", sum, err)
			}
			if n := count(t, s, "female"); n != 5 {
				t.Errorf("female %d, want 5", n)
			}
		})
	}
}
