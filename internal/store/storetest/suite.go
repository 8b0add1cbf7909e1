package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Opener opens a new, empty store for one test; the opener arranges its
// cleanup (t.Cleanup).
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateRead", testCreateRead},
		{"UpdateVRead", testUpdateVRead},
		{"Delete", testDelete},
		{"VersionConflict", testVersionConflict},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentCreators", testConcurrentCreators},
		{"TxAtomicity", testTxAtomicity},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"ReadMany", testReadMany},
		{"StaleReadConflicts", testStaleReadConflicts},
		{"IndexReplaced", testIndexReplaced},
		{"Search", testSearch},
		{"Sort", testSort},
		{"Paging", testPaging},
		{"History", testHistory},
		{"HistoryPaging", testHistoryPaging},
		{"VersionProperties", testVersionProperties},
		{"Scan", testScan},
		{"Reindex", testReindex},
		{"AuditChain", testAuditChain},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditRange", testAuditRange},
		{"Items", testItems},
		{"ItemsWithAudit", testItemsWithAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func body(typ, id string, v int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d"}}`, typ, id, v)
}

// write is a Write of a resource at version v with index ix.
func write(typ, id string, v int64, ix store.Index) store.Write {
	m := store.MethodUpdate
	if v == 1 {
		m = store.MethodCreate
	}
	return store.Write{Record: store.Record{Type: typ, ID: id, Version: v, Method: m, JSON: body(typ, id, v)}, Index: ix}
}

func deletion(typ, id string, v int64) store.Write {
	return store.Write{Record: store.Record{Type: typ, ID: id, Version: v, Method: store.MethodDelete, Deleted: true}}
}

// put writes ws in one transaction stamped with its Now (unless a write has
// its own LastUpdated).
func put(ctx context.Context, s store.Store, ws ...store.Write) error {
	return s.InTx(ctx, func(tx store.Tx) error {
		for i := range ws {
			if ws[i].LastUpdated.IsZero() {
				ws[i].LastUpdated = tx.Now()
			}
		}
		return tx.Put(ctx, ws)
	})
}

func mustPut(t *testing.T, s store.Store, ws ...store.Write) {
	t.Helper()
	if err := put(context.Background(), s, ws...); err != nil {
		t.Fatalf("put: %v", err)
	}
}

func wantKind(t *testing.T, what string, err error, k errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != k {
		t.Fatalf("%s: got error %v (kind %v), want kind %v", what, err, errs.KindOf(err), k)
	}
}

func testCreateRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Read(ctx, "Patient", "nope")
	wantKind(t, "read of missing resource", err, errs.NotFound)
	_, err = s.VRead(ctx, "Patient", "nope", 1)
	wantKind(t, "vread of missing resource", err, errs.NotFound)

	var now time.Time
	err = s.InTx(ctx, func(tx store.Tx) error {
		now = tx.Now()
		w := write("Patient", "a", 1, store.Index{})
		w.LastUpdated = now
		return tx.Put(ctx, []store.Write{w})
	})
	if err != nil {
		t.Fatal(err)
	}
	if now.Location() != time.UTC || now.Nanosecond()%1000 != 0 {
		t.Errorf("Tx.Now() = %v, want UTC truncated to microseconds", now)
	}
	got, err := s.Read(ctx, "Patient", "a")
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Record{Type: "Patient", ID: "a", Version: 1, LastUpdated: now, Method: store.MethodCreate, JSON: body("Patient", "a", 1)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Read (-want +got):\n%s", d)
	}
	if _, err := s.Read(ctx, "Observation", "a"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("read of the same id under another type: %v, want not-found", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testUpdateVRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	for v := int64(1); v <= 3; v++ {
		mustPut(t, s, write("Patient", "a", v, store.Index{}))
	}
	got, err := s.Read(ctx, "Patient", "a")
	if err != nil || got.Version != 3 || got.Method != store.MethodUpdate || string(got.JSON) != string(body("Patient", "a", 3)) {
		t.Fatalf("Read = %+v, %v; want version 3", got, err)
	}
	for v := int64(1); v <= 3; v++ {
		got, err := s.VRead(ctx, "Patient", "a", v)
		if err != nil || got.Version != v || string(got.JSON) != string(body("Patient", "a", v)) {
			t.Errorf("VRead(%d) = %+v, %v", v, got, err)
		}
	}
	_, err = s.VRead(ctx, "Patient", "a", 4)
	wantKind(t, "vread of a future version", err, errs.NotFound)
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, write("Patient", "a", 1, store.Index{Tokens: []store.Token{{Param: "gender", Code: "male"}}}))
	mustPut(t, s, deletion("Patient", "a", 2))
	got, err := s.Read(ctx, "Patient", "a")
	wantKind(t, "read of deleted resource", err, errs.Gone)
	if got == nil || !got.Deleted || got.Version != 2 || got.Method != store.MethodDelete || len(got.JSON) != 0 {
		t.Errorf("Read of deleted resource returned %+v, want the deletion marker", got)
	}
	got, err = s.VRead(ctx, "Patient", "a", 2)
	wantKind(t, "vread of deletion", err, errs.Gone)
	if got == nil || !got.Deleted {
		t.Errorf("VRead of deletion = %+v", got)
	}
	if _, err := s.VRead(ctx, "Patient", "a", 1); err != nil {
		t.Errorf("VRead of the version before deletion: %v", err)
	}
	res, err := s.Search(ctx, &store.Query{Types: []string{"Patient"}, Count: 10, Total: store.TotalAccurate})
	if err != nil || len(res.Records) != 0 || res.Total != 0 {
		t.Errorf("search after delete = %+v, %v; want nothing", res, err)
	}
	res, err = s.Search(ctx, &store.Query{Types: []string{"Patient"}, Total: store.TotalAccurate,
		Where: []store.Clause{{Or: []store.Predicate{{Param: "gender", Kind: store.KindToken, AnySystem: true, Code: "male"}}}}})
	if err != nil || res.Total != 0 {
		t.Errorf("count of deleted resource's index rows = %+v, %v; want 0", res, err)
	}
	// A deleted resource comes back with a new version.
	mustPut(t, s, write("Patient", "a", 3, store.Index{}))
	if got, err := s.Read(ctx, "Patient", "a"); err != nil || got.Version != 3 {
		t.Errorf("Read after re-create = %+v, %v", got, err)
	}
}

func testVersionConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantKind(t, "create at version 2", put(ctx, s, write("Patient", "a", 2, store.Index{})), errs.Conflict)
	mustPut(t, s, write("Patient", "a", 1, store.Index{}))
	wantKind(t, "duplicate version 1", put(ctx, s, write("Patient", "a", 1, store.Index{})), errs.Conflict)
	wantKind(t, "skipped version 3", put(ctx, s, write("Patient", "a", 3, store.Index{})), errs.Conflict)
	// Two versions of one resource in one Put must be consecutive.
	mustPut(t, s, write("Patient", "a", 2, store.Index{}), write("Patient", "a", 3, store.Index{}))
	wantKind(t, "duplicate in one put", put(ctx, s, write("Patient", "a", 4, store.Index{}), write("Patient", "a", 4, store.Index{})), errs.Conflict)
	if got, err := s.Read(ctx, "Patient", "a"); err != nil || got.Version != 3 {
		t.Errorf("Read = %+v, %v; want version 3", got, err)
	}
}

// testConcurrentWriters: writers that read version n and write n+1 race;
// exactly one of them wins.
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, write("Patient", "a", 1, store.Index{}))
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = s.InTx(ctx, func(tx store.Tx) error {
				cur, err := tx.Read(ctx, "Patient", "a")
				if err != nil {
					return err
				}
				if cur.Version != 1 {
					return errs.E("update", errs.Conflict, "stale")
				}
				w := write("Patient", "a", 2, store.Index{})
				w.LastUpdated = tx.Now()
				return tx.Put(ctx, []store.Write{w})
			})
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case errs.KindOf(err) != errs.Conflict:
			t.Errorf("loser's error %v has kind %v, want conflict", err, errs.KindOf(err))
		}
	}
	if wins != 1 {
		t.Errorf("%d writers won, want exactly 1", wins)
	}
}

// testConcurrentCreators: blind writes of version 1 race; exactly one wins.
func testConcurrentCreators(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = put(ctx, s, write("Patient", "new", 1, store.Index{}))
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case errs.KindOf(err) != errs.Conflict:
			t.Errorf("loser's error %v has kind %v, want conflict", err, errs.KindOf(err))
		}
	}
	if wins != 1 {
		t.Errorf("%d creators won, want exactly 1", wins)
	}
}

func testTxAtomicity(t *testing.T, s store.Store) {
	ctx := context.Background()
	ix := store.Index{Tokens: []store.Token{{Param: "code", System: "s", Code: "c"}}}
	mustPut(t, s, write("Observation", "keep", 1, ix))
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		ws := []store.Write{write("Observation", "gone", 1, ix), write("Observation", "keep", 2, store.Index{})}
		for i := range ws {
			ws[i].LastUpdated = tx.Now()
		}
		if err := tx.Put(ctx, ws); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = s.Read(ctx, "Observation", "gone")
	wantKind(t, "read of rolled-back create", err, errs.NotFound)
	if got, err := s.Read(ctx, "Observation", "keep"); err != nil || got.Version != 1 {
		t.Errorf("rolled-back update is visible: %+v, %v", got, err)
	}
	h, err := s.History(ctx, store.HistoryQuery{})
	if err != nil || h.Total != 1 {
		t.Errorf("history after rollback: %+v, %v; want 1 version", h, err)
	}
	n := count(t, s, &store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: "code", Kind: store.KindToken, System: "s", Code: "c"})})
	if n != 1 {
		t.Errorf("index rows after rollback match %d resources, want 1", n)
	}
}

func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	err := s.InTx(ctx, func(tx store.Tx) error {
		w := write("Patient", "a", 1, store.Index{Tokens: []store.Token{{Param: "gender", Code: "male"}}})
		w.LastUpdated = tx.Now()
		if err := tx.Put(ctx, []store.Write{w}); err != nil {
			return err
		}
		got, err := tx.Read(ctx, "Patient", "a")
		if err != nil || got.Version != 1 {
			return fmt.Errorf("tx.Read = %+v, %v", got, err)
		}
		res, err := tx.Search(ctx, &store.Query{Types: []string{"Patient"}, Count: 10,
			Where: where(store.Predicate{Param: "gender", Kind: store.KindToken, AnySystem: true, Code: "male"})})
		if err != nil || len(res.Records) != 1 {
			return fmt.Errorf("tx.Search = %+v, %v", res, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testReadMany: one call returns the current version of each existing
// resource, deleted ones marked, missing ones absent.
func testReadMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, write("Patient", "a", 1, store.Index{}), write("Patient", "b", 1, store.Index{}))
	mustPut(t, s, write("Patient", "a", 2, store.Index{}), deletion("Patient", "b", 2))
	var got map[store.Ref]*store.Record
	err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.ReadMany(ctx, []store.Ref{{Type: "Patient", ID: "a"}, {Type: "Patient", ID: "b"},
			{Type: "Patient", ID: "missing"}, {Type: "Patient", ID: "a"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("ReadMany returned %d records, want 2: %v", len(got), got)
	}
	if a := got[store.Ref{Type: "Patient", ID: "a"}]; a == nil || a.Version != 2 || a.Deleted || string(a.JSON) != string(body("Patient", "a", 2)) {
		t.Errorf("Patient/a = %+v, want version 2 with its JSON", a)
	}
	if b := got[store.Ref{Type: "Patient", ID: "b"}]; b == nil || b.Version != 2 || !b.Deleted {
		t.Errorf("Patient/b = %+v, want the deletion marker at version 2", b)
	}
}

// testStaleReadConflicts: a transaction reads version 1 while another
// writer commits version 2. Whatever the store's concurrency control (locks
// on read, or optimistic checks at write with a retry), no write may be
// lost or overwritten: the history holds one version per successful write,
// contiguous, and at least one of the two writers succeeds.
func testStaleReadConflicts(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, write("Patient", "a", 1, store.Index{}))
	other := make(chan error, 1)
	attempts := 0
	err := s.InTx(ctx, func(tx store.Tx) error {
		attempts++
		cur, err := tx.Read(ctx, "Patient", "a")
		if err != nil {
			return err
		}
		if attempts == 1 {
			go func() { other <- put(ctx, s, write("Patient", "a", 2, store.Index{})) }()
			// Give the other writer the chance to commit first where the
			// store lets it (a store that locks on Read makes it wait).
			select {
			case e := <-other:
				other <- e
			case <-time.After(200 * time.Millisecond):
			}
		}
		w := write("Patient", "a", cur.Version+1, store.Index{})
		w.LastUpdated = tx.Now()
		return tx.Put(ctx, []store.Write{w})
	})
	otherErr := <-other
	for _, e := range []error{err, otherErr} {
		if e != nil && errs.KindOf(e) != errs.Conflict {
			t.Fatalf("a writer failed with %v (kind %v), want success or a conflict", e, errs.KindOf(e))
		}
	}
	if err != nil && otherErr != nil {
		t.Fatalf("both writers failed: %v; %v", err, otherErr)
	}
	want := 1
	for _, e := range []error{err, otherErr} {
		if e == nil {
			want++
		}
	}
	page, herr := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a"})
	if herr != nil {
		t.Fatal(herr)
	}
	if len(page.Records) != want {
		t.Fatalf("history has %d versions after %d successful writes, want %d", len(page.Records), want-1, want)
	}
	for i, r := range page.Records {
		if r.Version != int64(want-i) {
			t.Fatalf("history versions are not contiguous: %+v", page.Records)
		}
	}
}

func testIndexReplaced(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok := func(code string) store.Index {
		return store.Index{Tokens: []store.Token{{Param: "code", System: "s", Code: code}},
			Strings: []store.String{{Param: "name", Norm: code, Exact: code}}}
	}
	mustPut(t, s, write("Observation", "a", 1, tok("old")))
	mustPut(t, s, write("Observation", "a", 2, tok("new")))
	q := func(code string) *store.Query {
		return &store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: "code", Kind: store.KindToken, System: "s", Code: code})}
	}
	if n := count(t, s, q("old")); n != 0 {
		t.Errorf("old index row still matches (%d)", n)
	}
	if n := count(t, s, q("new")); n != 1 {
		t.Errorf("new index row matches %d, want 1", n)
	}
	res, err := s.Search(ctx, &store.Query{Types: []string{"Observation"}, Count: 5,
		Where: where(store.Predicate{Param: "name", Kind: store.KindString, Norm: "new"})})
	if err != nil || len(res.Records) != 1 || res.Records[0].Version != 2 {
		t.Errorf("search returns %+v, %v; want version 2", res, err)
	}
	mustPut(t, s, deletion("Observation", "a", 3))
	if n := count(t, s, q("new")); n != 0 {
		t.Errorf("index row of deleted resource matches (%d)", n)
	}
}

func where(ps ...store.Predicate) []store.Clause {
	cs := make([]store.Clause, len(ps))
	for i, p := range ps {
		cs[i] = store.Clause{Or: []store.Predicate{p}}
	}
	return cs
}

// count runs q as a count-only query.
func count(t *testing.T, s store.Store, q *store.Query) int {
	t.Helper()
	q.Count, q.Total = 0, store.TotalAccurate
	res, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	if len(res.Records) != 0 {
		t.Errorf("count-only query returned %d records", len(res.Records))
	}
	return res.Total
}
