package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

func putItem(ctx context.Context, s store.Store, it *store.Item) error {
	return s.InTx(ctx, func(tx store.Tx) error { return tx.PutItem(ctx, it) })
}

// testItems checks server-state items: create, versioned replace, conflicts,
// expiry, listing by prefix and owner, deletes.
func testItems(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := &store.Item{Kind: "session", Key: "k1", Owner: "u1", Value: []byte(`{"a":1}`)}
	if err := putItem(ctx, s, a); err != nil {
		t.Fatal(err)
	}
	if a.Version != 1 {
		t.Fatalf("version after create = %d, want 1", a.Version)
	}
	got, err := s.GetItem(ctx, "session", "k1")
	if err != nil || string(got.Value) != `{"a":1}` || got.Owner != "u1" || got.Version != 1 || !got.Expires.IsZero() {
		t.Fatalf("GetItem = %+v, %v", got, err)
	}
	if _, err := s.GetItem(ctx, "user", "k1"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another kind's key: err = %v, want not found", err)
	}
	// Creating it again conflicts; replacing needs the current version.
	if err := putItem(ctx, s, &store.Item{Kind: "session", Key: "k1", Value: []byte(`{}`)}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second create: err = %v, want conflict", err)
	}
	if err := putItem(ctx, s, &store.Item{Kind: "session", Key: "k1", Value: []byte(`{}`), Version: 7}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale version: err = %v, want conflict", err)
	}
	if err := putItem(ctx, s, &store.Item{Kind: "session", Key: "nope", Value: []byte(`{}`), Version: 1}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("update of a missing item: err = %v, want not found", err)
	}
	b := &store.Item{Kind: "session", Key: "k1", Owner: "u1", Value: []byte(`{"a":2}`), Version: 1}
	if err := putItem(ctx, s, b); err != nil || b.Version != 2 {
		t.Fatalf("replace: version %d, err %v", b.Version, err)
	}
	if got, _ := s.GetItem(ctx, "session", "k1"); string(got.Value) != `{"a":2}` || got.Version != 2 {
		t.Fatalf("after replace: %+v", got)
	}

	// Expiry: an expired item is absent, may be created anew, and is purged.
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err := putItem(ctx, s, &store.Item{Kind: "code", Key: "old", Value: []byte(`1`), Expires: past}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetItem(ctx, "code", "old"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("expired item: err = %v, want not found", err)
	}
	renewed := &store.Item{Kind: "code", Key: "old", Value: []byte(`2`), Expires: future}
	if err := putItem(ctx, s, renewed); err != nil || renewed.Version != 1 {
		t.Fatalf("create over an expired item: version %d, err %v", renewed.Version, err)
	}
	if got, err := s.GetItem(ctx, "code", "old"); err != nil || string(got.Value) != "2" || !got.Expires.Equal(future) {
		t.Fatalf("renewed item = %+v, %v", got, err)
	}
	if err := putItem(ctx, s, &store.Item{Kind: "code", Key: "gone", Value: []byte(`3`), Expires: past}); err != nil {
		t.Fatal(err)
	}
	var purged int
	if err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		purged, err = tx.PurgeItems(ctx, time.Now())
		return err
	}); err != nil || purged != 1 {
		t.Fatalf("purge: %d items, err %v; want 1", purged, err)
	}

	// Listing: by kind, prefix, owner, in key order, paged.
	for i := 0; i < 5; i++ {
		owner := "u2"
		if i%2 == 0 {
			owner = "u3"
		}
		if err := putItem(ctx, s, &store.Item{Kind: "grant", Key: fmt.Sprintf("p/%d", i), Owner: owner, Value: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := putItem(ctx, s, &store.Item{Kind: "grant", Key: "q/1", Owner: "u3", Value: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	keys := func(q store.ItemQuery) string {
		t.Helper()
		items, err := s.ListItems(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, it := range items {
			out += it.Key + " "
		}
		return out
	}
	for _, c := range []struct {
		q    store.ItemQuery
		want string
	}{
		{store.ItemQuery{Kind: "grant"}, "p/0 p/1 p/2 p/3 p/4 q/1 "},
		{store.ItemQuery{Kind: "grant", Prefix: "p/"}, "p/0 p/1 p/2 p/3 p/4 "},
		{store.ItemQuery{Kind: "grant", Owner: "u3"}, "p/0 p/2 p/4 q/1 "},
		{store.ItemQuery{Kind: "grant", Owner: "u3", Prefix: "p/", After: "p/0", Limit: 1}, "p/2 "},
		{store.ItemQuery{Kind: "grant", Prefix: "r"}, ""},
	} {
		if got := keys(c.q); got != c.want {
			t.Errorf("ListItems(%+v) = %q, want %q", c.q, got, c.want)
		}
	}

	// Deletes, and a rolled-back transaction leaves items as they were.
	var n int
	if err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		if n, err = tx.DeleteOwned(ctx, "grant", "u3"); err != nil {
			return err
		}
		return tx.DeleteItem(ctx, "grant", "p/1")
	}); err != nil || n != 4 {
		t.Fatalf("DeleteOwned: %d, %v; want 4", n, err)
	}
	if got := keys(store.ItemQuery{Kind: "grant"}); got != "p/3 " {
		t.Errorf("after deletes: %q", got)
	}
	rollback := fmt.Errorf("roll back")
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteItem(ctx, "grant", "p/3"); err != nil {
			return err
		}
		if err := tx.PutItem(ctx, &store.Item{Kind: "grant", Key: "z", Value: []byte(`{}`)}); err != nil {
			return err
		}
		return rollback
	}); err != rollback {
		t.Fatalf("rollback: %v", err)
	}
	if got := keys(store.ItemQuery{Kind: "grant"}); got != "p/3 " {
		t.Errorf("after a rolled-back transaction: %q", got)
	}
}

// testItemsWithAudit checks that an item change and its audit entry commit
// together, and that concurrent read-modify-writes of one item (a counter,
// like failed sign-ins) lose no update.
func testItemsWithAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := putItem(ctx, s, &store.Item{Kind: "counter", Key: "c", Value: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for attempt := 0; ; attempt++ {
					err := s.InTx(ctx, func(tx store.Tx) error {
						it, err := tx.GetItem(ctx, "counter", "c")
						if err != nil {
							return err
						}
						var v int
						fmt.Sscan(string(it.Value), &v)
						it.Value = fmt.Appendf(nil, "%d", v+1)
						if err := tx.PutItem(ctx, it); err != nil {
							return err
						}
						return tx.AppendAudit(ctx, []*audit.Entry{{Recorded: tx.Now(), Action: audit.Update,
							Interaction: audit.InteractionLoginFailed, Outcome: audit.MinorFailure, Agent: audit.AgentOf(nil)}})
					})
					if err == nil {
						break
					}
					if !errs.Is(err, errs.Conflict) || attempt > 50 {
						t.Error(err)
						failed.Add(1)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	it, err := s.GetItem(ctx, "counter", "c")
	if err != nil {
		t.Fatal(err)
	}
	if string(it.Value) != fmt.Sprint(workers*each) {
		t.Errorf("counter = %s after %d increments", it.Value, workers*each)
	}
	head, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != workers*each {
		t.Errorf("audit entries = %d, want one per committed increment (%d)", head.Seq, workers*each)
	}
}
