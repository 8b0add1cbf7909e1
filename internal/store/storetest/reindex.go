package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// scanAll runs a scan to its end in pages of limit, returning the resources
// listed and the number of pages.
func scanAll(t *testing.T, s store.Store, q store.ScanQuery) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	for {
		page, err := s.Scan(context.Background(), q)
		if err != nil {
			t.Fatalf("Scan(%+v): %v", q, err)
		}
		pages++
		for _, r := range page.Records {
			if r.Deleted || len(r.JSON) == 0 {
				t.Errorf("scan returned %s/%s without content (deleted %v)", r.Type, r.ID, r.Deleted)
			}
			out = append(out, r.Type+"/"+r.ID)
		}
		if page.Next == "" {
			return out, pages
		}
		if pages > 100 {
			t.Fatal("scan does not end")
		}
		q.After = page.Next
	}
}

// testScan checks that Scan lists every current, non-deleted resource once,
// in the order of creation (keys never change), with types filtering and cursors
// that resume where a page ended.
func testScan(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Resources created by one transaction may get their keys in any order,
	// so the order is only checked across transactions.
	mustPut(t, s, write("Patient", "p1", 1, store.Index{}))
	mustPut(t, s, write("Observation", "o1", 1, store.Index{}), write("Patient", "p2", 1, store.Index{}))
	mustPut(t, s, write("Patient", "p1", 2, store.Index{}))
	mustPut(t, s, write("Observation", "o2", 1, store.Index{}))
	mustPut(t, s, write("Patient", "p3", 1, store.Index{}))
	mustPut(t, s, deletion("Patient", "p3", 2))
	mustPut(t, s, write("Encounter", "e1", 1, store.Index{}))

	all := []string{"Patient/p1", "Observation/o1", "Patient/p2", "Observation/o2", "Encounter/e1"}
	for _, limit := range []int{0, 1, 2, 5, 100} {
		got, _ := scanAll(t, s, store.ScanQuery{Limit: limit})
		if d := cmp.Diff(all, got); d != "" {
			t.Errorf("limit %d: scan (-want +got):\n%s", limit, d)
		}
	}
	got, pages := scanAll(t, s, store.ScanQuery{Types: []string{"Patient", "Encounter"}, Limit: 2})
	if d := cmp.Diff([]string{"Patient/p1", "Patient/p2", "Encounter/e1"}, got); d != "" {
		t.Errorf("typed scan (-want +got):\n%s", d)
	}
	if pages != 2 {
		t.Errorf("typed scan of 3 in pages of 2 took %d pages, want 2", pages)
	}

	// The current version is what a scan returns.
	page, err := s.Scan(ctx, store.ScanQuery{Types: []string{"Patient"}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := page.Records[0]; r.ID != "p1" || r.Version != 2 || r.LastUpdated.IsZero() || r.Method != store.MethodUpdate {
		t.Errorf("scan record = %s v%d %s %v, want p1 v2 update with lastUpdated", r.ID, r.Version, r.Method, r.LastUpdated)
	}
	// A resource created after a page was read comes after its cursor.
	mustPut(t, s, write("Patient", "p0", 1, store.Index{}))
	got, _ = scanAll(t, s, store.ScanQuery{Types: []string{"Patient"}, After: page.Next})
	if d := cmp.Diff([]string{"Patient/p2", "Patient/p0"}, got); d != "" {
		t.Errorf("resumed scan (-want +got):\n%s", d)
	}
	_, err = s.Scan(ctx, store.ScanQuery{After: "not a cursor"})
	wantKind(t, "scan with a bad cursor", err, errs.Invalid)
}

// testReindex checks that Reindex replaces the index rows of the current
// version and nothing else, and refuses rows computed from a version that is
// no longer current.
func testReindex(t *testing.T, s store.Store) {
	ctx := context.Background()
	ix := func(color string) store.Index {
		return store.Index{
			Tokens:       []store.Token{{Param: "eye-color", Code: color}},
			Strings:      []store.String{{Param: "nickname", Norm: color, Exact: color}},
			Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
		}
	}
	mustPut(t, s, write("Patient", "p1", 1, store.Index{Tokens: []store.Token{{Param: "gender", Code: "male"}}}))
	mustPut(t, s, write("Patient", "p2", 1, store.Index{}), write("Patient", "p3", 1, store.Index{}))
	before, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	reindex := func(us ...store.IndexUpdate) error {
		return s.InTx(ctx, func(tx store.Tx) error { return tx.Reindex(ctx, us) })
	}
	upd := func(id string, v int64, ix store.Index) store.IndexUpdate {
		return store.IndexUpdate{Ref: store.Ref{Type: "Patient", ID: id}, Version: v, Index: ix}
	}
	if err := reindex(upd("p1", 1, ix("blue")), upd("p2", 1, ix("brown"))); err != nil {
		t.Fatalf("Reindex: %v", err)
	}
	eye := func(c string) *store.Query {
		return &store.Query{Types: []string{"Patient"}, Where: where(store.Predicate{Param: "eye-color", Kind: store.KindToken, AnySystem: true, Code: c})}
	}
	if n := count(t, s, eye("blue")); n != 1 {
		t.Errorf("eye-color=blue matches %d, want 1", n)
	}
	if n := count(t, s, &store.Query{Types: []string{"Patient"}, Where: where(store.Predicate{Param: "gender", Kind: store.KindToken, AnySystem: true, Code: "male"})}); n != 0 {
		t.Errorf("the replaced gender row still matches (%d)", n)
	}
	comp := &store.Query{Types: []string{"Patient"}, Where: where(store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "p1"}})}
	if n := count(t, s, comp); n != 2 {
		t.Errorf("compartment rows match %d, want 2", n)
	}
	after, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("Reindex changed the record (-before +after):\n%s", d)
	}
	h, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "p1"})
	if err != nil || h.Total != 1 {
		t.Errorf("history after Reindex: %d versions, %v; want 1", h.Total, err)
	}

	// Rows computed from version 1 of a resource now at version 2 are
	// refused, and the whole batch with them.
	mustPut(t, s, write("Patient", "p2", 2, ix("green")))
	err = reindex(upd("p1", 1, ix("grey")), upd("p2", 1, ix("grey")))
	wantKind(t, "Reindex of a stale version", err, errs.Conflict)
	if n := count(t, s, eye("grey")); n != 0 {
		t.Errorf("a refused batch left %d rows", n)
	}
	if n := count(t, s, eye("green")); n != 1 {
		t.Errorf("the concurrent write's rows match %d, want 1", n)
	}
	mustPut(t, s, deletion("Patient", "p3", 2))
	wantKind(t, "Reindex of a deleted resource", reindex(upd("p3", 2, ix("grey"))), errs.Conflict)
	wantKind(t, "Reindex of a deleted resource's last version", reindex(upd("p3", 1, ix("grey"))), errs.Conflict)
	wantKind(t, "Reindex of a missing resource", reindex(upd("nope", 1, ix("grey"))), errs.NotFound)
	if n := count(t, s, eye("grey")); n != 0 {
		t.Errorf("refused updates left %d rows", n)
	}
	// Reading and reindexing in one transaction sees the transaction's reads.
	err = s.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.ReadMany(ctx, []store.Ref{{Type: "Patient", ID: "p2"}})
		if err != nil {
			return err
		}
		r := cur[store.Ref{Type: "Patient", ID: "p2"}]
		return tx.Reindex(ctx, []store.IndexUpdate{upd("p2", r.Version, ix("hazel"))})
	})
	if err != nil {
		t.Fatalf("read then Reindex: %v", err)
	}
	if n := count(t, s, eye("hazel")); n != 1 {
		t.Errorf("eye-color=hazel matches %d, want 1", n)
	}
}
