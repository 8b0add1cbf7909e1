package sqlgen

import (
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/store"
)

// TestKeyLookup pins the statement of a query naming one resource by id
// (the access policy's read by id): a lookup by key with the labels
// probed on the row's own index entries, no page to sort, and on SQLite
// the key and label values behind CAST, so that binding them does not
// expire the cached statement.
func TestKeyLookup(t *testing.T) {
	byID := one(store.Predicate{Param: "_id", Kind: store.KindID, Code: "x"})
	label := one(store.Predicate{Param: "_security", Kind: store.KindToken, Op: store.OpNot, System: "http://s", Code: "R"})
	anyCode := one(store.Predicate{Param: "_security", Kind: store.KindToken, Op: store.OpNot, AnySystem: true, Code: "V"})
	patient := one(store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "p1"}})
	read := store.Query{Types: []string{"Observation"}, Count: 1, Where: []store.Clause{byID, label, anyCode, patient}}

	st, err := Page(SQLite{}, &read)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version WHERE r.type = CAST(?1 AS TEXT) AND r.id = CAST(?2 AS TEXT) AND NOT r.deleted",
		"NOT EXISTS (SELECT 1 FROM idx_token x1 WHERE x1.type = CAST(?3 AS TEXT) AND x1.param = CAST(?4 AS TEXT) AND x1.code = CAST(?5 AS TEXT) AND x1.system = CAST(?6 AS TEXT) AND x1.rkey = r.rkey)",
		"NOT EXISTS (SELECT 1 FROM idx_token x2 WHERE x2.type = CAST(?7 AS TEXT) AND x2.param = CAST(?8 AS TEXT) AND x2.code = CAST(?9 AS TEXT) AND x2.rkey = r.rkey)",
		"r.rkey IN (SELECT c3.rkey FROM idx_compartment c3",
		" LIMIT ?",
	} {
		if !strings.Contains(st.SQL, w) {
			t.Errorf("statement lacks %q:\n%s", w, st.SQL)
		}
	}
	for _, w := range []string{"ORDER BY", ") p JOIN", "NOT (r.rkey IN"} {
		if strings.Contains(st.SQL, w) {
			t.Errorf("statement has %q:\n%s", w, st.SQL)
		}
	}
	if got := st.Args[len(st.Args)-1]; got != int64(2) {
		t.Errorf("limit %v, want 2 (one more than the page)", got)
	}
	pg, err := Page(Postgres{}, &read)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pg.SQL, "CAST") || !strings.Contains(pg.SQL, "r.type = $1 AND r.id = $2") {
		t.Errorf("PostgreSQL statement:\n%s", pg.SQL)
	}

	for _, tc := range []struct {
		name string
		q    store.Query
		want bool
	}{
		{"read by id", read, true},
		{"search by id", store.Query{Types: []string{"Patient"}, Count: 20, Where: []store.Clause{byID}}, true},
		{"several ids", store.Query{Types: []string{"Patient"}, Where: []store.Clause{{Or: []store.Predicate{byID.Or[0], byID.Or[0]}}}}, false},
		{"several types", store.Query{Types: []string{"Patient", "Group"}, Where: []store.Clause{byID}}, false},
		{"no type", store.Query{Where: []store.Clause{byID}}, false},
		{"sorted", store.Query{Types: []string{"Patient"}, Where: []store.Clause{byID}, Sort: []store.Sort{{Param: "_lastUpdated", Kind: store.KindLastUpdated}}}, false},
		{"offset", store.Query{Types: []string{"Patient"}, Where: []store.Clause{byID}, Offset: 1}, false},
		{"id excluded", store.Query{Types: []string{"Patient"}, Where: []store.Clause{one(store.Predicate{Param: "_id", Kind: store.KindID, Op: store.OpNot, Code: "x"})}}, false},
		{"no id", store.Query{Types: []string{"Patient"}, Where: []store.Clause{label}}, false},
	} {
		if got := KeyLookup(&tc.q); got != tc.want {
			t.Errorf("%s: KeyLookup = %v, want %v", tc.name, got, tc.want)
		}
	}
}
