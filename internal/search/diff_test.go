package search

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhirpath"
)

// TestPathsAgreeWithFHIRPath evaluates every search parameter expression that
// the Indexer walks directly also with the FHIRPath engine, over every
// example resource, and compares the values and their types: the fast path
// must not change what is indexed.
func TestPathsAgreeWithFHIRPath(t *testing.T) {
	var resources []map[string]any
	for _, rel := range []string{"fhir-r4/examples", "us-core/6.1.0/package/example"} {
		names, err := globJSON(dataPath(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			resources = append(resources, readResource(t, rel+"/"+name))
		}
	}
	resources = append(resources, syntheaResources(t)...)
	d := defs.Default()
	ix := testIndexer(t)
	opts := &fhirpath.Options{Model: d, Resolve: fhirpath.ReferenceStub}
	compiled := map[string]*fhirpath.Expression{}
	sc := &scratch{}
	mismatches := 0
	for _, res := range resources {
		typ := fhir.TypeOf(res)
		name := typ + "/" + fhir.IDOf(res)
		ti := ix.byType[typ]
		if ti == nil {
			continue
		}
		for _, p := range ti.params {
			if p.eval.expr != nil {
				continue
			}
			sp := d.SearchParam(typ, p.code)
			e := compiled[sp.Expression]
			if e == nil {
				var err error
				if e, err = fhirpath.Compile(sp.Expression); err != nil {
					t.Errorf("%s: %v", sp.Expression, err)
					continue
				}
				compiled[sp.Expression] = e
			}
			col, err := e.Evaluate(res, opts)
			if err != nil {
				continue // the engine's error; the walker has none to compare
			}
			// Compared as sets: the walker leaves merging repeated
			// values to the row level, where "|" would merge them. A
			// contained reference ("#id") resolves in FHIRPath but is
			// never indexed.
			var want []string
			for _, v := range col {
				if tv, ok := fromValue(v); ok && !isContainedRef(tv) {
					if tv.typ == "" {
						// The engine leaves a choice element reached by
						// its JSON name untyped; the walker types it. The
						// one such expression (US Core asserted-date)
						// selects valueDateTime.
						tv.typ = "dateTime"
					}
					want = appendNew(want, describe(tv))
				}
			}
			vals, _ := ix.values(&p.eval, res, typ, nil, sc)
			var got []string
			for _, v := range vals {
				if !isContainedRef(v) {
					got = appendNew(got, describe(v))
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				mismatches++
				if mismatches <= 20 {
					t.Errorf("%s %s: %s (-fhirpath +walker):\n%s", name, p.code, sp.Expression, diff)
				}
			}
		}
	}
	if mismatches > 20 {
		t.Errorf("... %d mismatches in all", mismatches)
	}
}

func describe(v typed) string {
	return fmt.Sprintf("%s %s", v.typ, fhir.Marshal(v.node))
}

func appendNew(list []string, s string) []string {
	for _, e := range list {
		if e == s {
			return list
		}
	}
	return append(list, s)
}

func isContainedRef(v typed) bool {
	m, _ := v.node.(map[string]any)
	ref, _ := m["reference"].(string)
	return v.typ == "Reference" && len(ref) > 0 && ref[0] == '#'
}
