package sqlgen

import (
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store"
)

// TestValuesArePlaceholders checks that no value reaches the SQL text.
func TestValuesArePlaceholders(t *testing.T) {
	const evil = "x'); DROP TABLE resources; --"
	p := func(k store.Kind, op store.Op) store.Predicate {
		return store.Predicate{Param: "p", Kind: k, Op: op, System: evil, Code: evil, Norm: evil, Exact: evil,
			URL: evil, TargetType: evil, TargetID: evil, Version: evil, Low: time.Now(), High: time.Now(),
			Compartment: store.CompartmentRef{Type: evil, ID: evil}, Codes: []store.Token{{System: evil, Code: evil}}}
	}
	var ps []store.Predicate
	for _, k := range []store.Kind{store.KindToken, store.KindString, store.KindURI, store.KindReference, store.KindID, store.KindCompartment} {
		for _, op := range []store.Op{store.OpEq, store.OpExact, store.OpContains, store.OpNot, store.OpText, store.OpIn, store.OpAbove, store.OpBelow, store.OpOfType} {
			ps = append(ps, p(k, op))
		}
	}
	for i, pr := range ps {
		q := &store.Query{Types: []string{evil}, Where: []store.Clause{{Or: []store.Predicate{pr}}},
			Sort: []store.Sort{{Param: evil, Kind: store.KindString}}}
		for _, d := range []Dialect{Postgres{}, SQLite{}} {
			page, err := Page(d, q)
			if err != nil {
				continue // an unsupported combination
			}
			count, _ := Count(d, q)
			for _, sql := range []string{page.SQL, count.SQL} {
				if strings.Contains(sql, "DROP") {
					t.Errorf("predicate %d: value interpolated into %s", i, sql)
				}
			}
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{LastUpdated: 1700000000123456, RKey: 42, Version: 7}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Errorf("ParseCursor(String()) = %+v, %v; want %+v", got, err, c)
	}
	if _, err := ParseCursor("bm9wZQ"); err == nil {
		t.Error("ParseCursor accepted garbage")
	}
}

// TestCompartmentOwners checks the shapes of the owners predicate: a
// probe of the candidate's compartment rows joined to their owners on
// PostgreSQL, the owners first and their compartments' rows on SQLite;
// the owners are current resources of the compartment's type filtered by
// their own clauses.
func TestCompartmentOwners(t *testing.T) {
	q := &store.Query{Types: []string{"Observation"}, Where: []store.Clause{{Or: []store.Predicate{{
		Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient"},
		Owners: &store.Query{Where: []store.Clause{{Or: []store.Predicate{{Param: "organization", Kind: store.KindReference, TargetType: "Organization", TargetID: "X"}}}}},
	}}}}}
	for d, wants := range map[Dialect][]string{
		Postgres{}: {"EXISTS (SELECT 1 FROM idx_compartment c", "JOIN resources w", "w1.id = c2.cid", "c2.rkey = r.rkey", "NOT w1.deleted", "FROM idx_reference"},
		SQLite{}:   {"r.rkey IN (SELECT c2.rkey FROM resources w1 CROSS JOIN idx_compartment c2", "c2.cid = w1.id", "NOT w1.deleted", "FROM idx_reference", "c2.type = "},
	} {
		st, err := Page(d, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(st.SQL, want) {
				t.Errorf("%T: %q missing from %s", d, want, st.SQL)
			}
		}
		if !containsArg(st.Args, "X") || !containsArg(st.Args, "Patient") {
			t.Errorf("%T: arguments %v lack the owner's criteria", d, st.Args)
		}
	}
	neg := &store.Query{Where: []store.Clause{{Or: []store.Predicate{
		{Kind: store.KindType, InTypes: []string{"Practitioner"}},
		{Kind: store.KindCompartment, Negate: true, Compartment: store.CompartmentRef{Type: "Patient"}},
	}}}}
	st, err := Page(SQLite{}, neg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.SQL, "r.type = ?") || !strings.Contains(st.SQL, "NOT (EXISTS (SELECT 1 FROM idx_compartment c1 WHERE c1.rkey = r.rkey") || strings.Contains(st.SQL, ".cid =") {
		t.Errorf("type exemption or any-owner negation compiled wrongly: %s", st.SQL)
	}
}

func containsArg(args []any, v any) bool {
	for _, a := range args {
		if a == v {
			return true
		}
	}
	return false
}
