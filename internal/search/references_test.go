package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// TestReferencesAgreeWithIndex: for every example resource, References of
// each reference parameter (and of "*") is exactly what Index gives that
// parameter, in the same order, with and without a base URL.
func TestReferencesAgreeWithIndex(t *testing.T) {
	for _, dir := range []string{"fhir-r4/examples", "us-core/6.1.0/package/example"} {
		t.Run(dir, func(t *testing.T) {
			names, err := globJSON(dataPath(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for _, ix := range []*Indexer{testIndexer(t), testIndexer(t).WithBaseURL("http://hl7.org/fhir")} {
				for _, name := range names {
					res := readResource(t, dir+"/"+name)
					typ := fhir.TypeOf(res)
					if typ == "Bundle" || defs.Default().Type(typ) == nil {
						continue
					}
					all, err := ix.Index(res)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					check := func(code string, want []store.Reference) {
						got, err := ix.References(res, code)
						if err != nil {
							t.Fatalf("%s: References(%q): %v", name, code, err)
						}
						if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
							t.Errorf("%s: References(%q) (-Index +References):\n%s", name, code, diff)
						}
						rows += len(got)
					}
					check("*", all.References)
					for _, sp := range defs.Default().SearchParams(typ) {
						if sp.Type != "reference" {
							continue
						}
						var want []store.Reference
						for _, r := range all.References {
							if r.Param == sp.Code {
								want = append(want, r)
							}
						}
						check(sp.Code, want)
					}
					check("no-such-parameter", nil)
				}
			}
			if rows == 0 {
				t.Fatal("no reference rows compared")
			}
			t.Logf("%d rows compared", rows)
		})
	}
	if _, err := testIndexer(t).References(map[string]any{"resourceType": "Nope"}, "*"); err == nil {
		t.Error("References of an unknown type succeeded")
	}
}
