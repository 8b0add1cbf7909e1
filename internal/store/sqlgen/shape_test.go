package sqlgen

import (
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/store"
)

func one(p store.Predicate) store.Clause { return store.Clause{Or: []store.Predicate{p}} }

// TestStatementShapes pins the statement shapes that keep searches fast
// without planner statistics (docs/PERFORMANCE.md, "Search query plans").
func TestStatementShapes(t *testing.T) {
	obs := []string{"Observation"}
	patient := one(store.Predicate{Param: "patient", Kind: store.KindReference, TargetID: "p1"})
	vitals := one(store.Predicate{Param: "category", Kind: store.KindToken, Code: "vital-signs", AnySystem: true})
	named := &store.Query{Types: []string{"Patient"}, Where: []store.Clause{one(store.Predicate{Param: "name", Kind: store.KindString, Norm: "smith"})}}
	hasProv := func(inner store.Clause) store.Predicate {
		return store.Predicate{Kind: store.KindReference, Has: &store.Has{Param: "target",
			Query: &store.Query{Types: []string{"Provenance"}, Where: []store.Clause{inner}}}}
	}
	recorded := one(store.Predicate{Param: "recorded", Kind: store.KindDate, Op: store.OpGt})
	byID := one(store.Predicate{Param: "_id", Kind: store.KindID, Code: "x"})
	// The access policy's hidden label, added to every restricted query.
	hidden := one(store.Predicate{Param: "_security", Kind: store.KindToken, Op: store.OpNot, System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R"})
	many := []string{"Condition", "Encounter", "MedicationRequest", "Observation", "Procedure"}
	inCompartment := one(store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "p1"}})
	tests := []struct {
		name string
		d    Dialect
		q    store.Query
		want []string
		not  []string
	}{
		{"page joins versions after the limit", SQLite{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{patient}},
			[]string{"LIMIT ?", ") p JOIN versions v"}, []string{"r.type = ", "EXISTS"}},
		{"selective clause drives, the other probes (SQLite)", SQLite{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{vitals, patient}},
			[]string{"r.rkey IN (SELECT x1.rkey FROM idx_reference", "EXISTS (SELECT 1 FROM idx_token x2 WHERE x2.rkey = r.rkey AND +x2.param"}, nil},
		{"selective clause drives, the other probes (PostgreSQL)", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{vitals, patient}},
			[]string{"r.rkey IN (SELECT x1.rkey FROM idx_reference", "EXISTS (SELECT 1 FROM idx_token x2 WHERE x2.rkey = r.rkey AND (x2.param || '')"}, nil},
		{"semi-joins without a reference to one resource", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{vitals, one(store.Predicate{Param: "status", Kind: store.KindToken, Code: "final", AnySystem: true})}},
			[]string{"r.rkey IN (SELECT x1.rkey FROM idx_token", "r.rkey IN (SELECT x2.rkey FROM idx_token"}, []string{"EXISTS"}},
		{"chain from its targets", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{one(store.Predicate{Param: "subject", Kind: store.KindReference, Chain: named})}},
			[]string{"FROM resources t2 CROSS JOIN idx_reference f1"}, nil},
		{"_has on reference rows alone", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{one(hasProv(recorded))}},
			[]string{"(r.type, r.id) IN (SELECT f1.target_type, f1.target_id FROM idx_reference f1", "(f1.rkey IN (SELECT x2.rkey FROM idx_date x2"},
			[]string{"FROM resources s", "JOIN resources"}},
		{"_has through resources when a condition needs the row", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{one(hasProv(byID))}},
			[]string{"(f1.rkey IN (SELECT s2.rkey FROM resources s2 WHERE", ") IS TRUE"}, nil},
		{"type kept without a typed clause", Postgres{}, store.Query{Types: obs, Count: 20, Where: []store.Clause{byID}},
			[]string{"r.type = $"}, nil},
		{"negation over many types as an anti-join (PostgreSQL)", Postgres{}, store.Query{Types: many, Where: []store.Clause{inCompartment, hidden}},
			[]string{"r.rkey IN (SELECT c1.rkey FROM idx_compartment c1", "NOT (EXISTS (SELECT 1 FROM idx_token x2 WHERE x2.rkey = r.rkey AND x2.param = $"},
			[]string{"NOT (r.rkey IN"}},
		{"negation over few types as a hashed set (PostgreSQL)", Postgres{}, store.Query{Types: obs, Where: []store.Clause{inCompartment, hidden}},
			[]string{"NOT (r.rkey IN (SELECT x2.rkey FROM idx_token x2 WHERE x2.param = $"}, []string{"EXISTS"}},
		{"negation as a materialized set (SQLite)", SQLite{}, store.Query{Types: many, Where: []store.Clause{inCompartment, hidden}},
			[]string{"NOT (r.rkey IN (SELECT x2.rkey FROM idx_token x2 WHERE x2.param = ?"}, []string{"EXISTS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Page(tc.d, &tc.q)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.SQL, w) {
					t.Errorf("statement lacks %q:\n%s", w, st.SQL)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(st.SQL, w) {
					t.Errorf("statement has %q:\n%s", w, st.SQL)
				}
			}
		})
	}
}
