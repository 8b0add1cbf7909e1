package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/openchart/openchart/internal/store"
)

// TestPutManyIndexRows writes, in one Put, more index rows per table than
// one multi-row INSERT takes (and a count that is not a power of two), and
// a resource twice: every row of every resource's last version is stored,
// none of the first version of the resource written twice.
func TestPutManyIndexRows(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const n = 203
	ix := func(code string) store.Index {
		return store.Index{
			Tokens:       []store.Token{{Param: "code", System: "s", Code: code}},
			Quantities:   []store.Quantity{{Param: "value-quantity", System: "u", Code: "mg", Low: 1, High: 2, CanonicalCode: "g", CanonicalValue: 0.001}},
			Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p"}},
		}
	}
	var ws []store.Write
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("o%03d", i)
		ws = append(ws, store.Write{Record: store.Record{Type: "Observation", ID: id, Version: 1, Method: store.MethodCreate,
			JSON: []byte(`{"resourceType":"Observation","id":"` + id + `"}`)}, Index: ix("c")})
	}
	twice := func(v int64, code string) store.Write {
		return store.Write{Record: store.Record{Type: "Observation", ID: "twice", Version: v, Method: store.MethodUpdate,
			JSON: []byte(`{"resourceType":"Observation","id":"twice"}`)}, Index: ix(code)}
	}
	ws = append(ws, twice(1, "old"), twice(2, "new"))
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i := range ws {
			ws[i].LastUpdated = tx.Now()
		}
		return tx.Put(ctx, ws)
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(p store.Predicate) int {
		t.Helper()
		res, err := s.Search(ctx, &store.Query{Types: []string{"Observation"}, Total: store.TotalAccurate,
			Where: []store.Clause{{Or: []store.Predicate{p}}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	for _, c := range []struct {
		name string
		p    store.Predicate
		want int
	}{
		{"code c", store.Predicate{Param: "code", Kind: store.KindToken, System: "s", Code: "c"}, n},
		{"code new", store.Predicate{Param: "code", Kind: store.KindToken, System: "s", Code: "new"}, 1},
		{"code old", store.Predicate{Param: "code", Kind: store.KindToken, System: "s", Code: "old"}, 0},
	} {
		if got := count(c.p); got != c.want {
			t.Errorf("%s: %d matches, want %d", c.name, got, c.want)
		}
	}
	if got := count(store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "p"}}); got != n+1 {
		t.Errorf("Patient/p compartment: %d, want %d", got, n+1)
	}
	if got := count(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Op: store.OpMissing, Missing: false}); got != n+1 {
		t.Errorf("value-quantity present: %d, want %d", got, n+1)
	}
}
