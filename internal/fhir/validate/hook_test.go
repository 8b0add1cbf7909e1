package validate

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
)

func TestInvariantHook(t *testing.T) {
	type call struct{ Expr, NodeType string }
	var calls []call
	hook := func(expr string, res map[string]any, node any, nodeType string) (bool, error) {
		calls = append(calls, call{expr, nodeType})
		switch {
		case expr == "text.`div`.exists()": // dom-6
			return false, nil
		case nodeType == "Period":
			return false, errors.New("not implemented")
		}
		return true, nil
	}
	v := New(defs.Default(), Options{Invariants: hook})
	res := decode(t, []byte(`{"resourceType":"Patient","contact":[{"name":{"family":"X"},"period":{"start":"2020"}}]}`))
	issues := v.Validate(res)
	want := []errs.Issue{
		{Severity: "warning", Code: "invariant", Expression: []string{"Patient"}},
		{Severity: "warning", Code: "invariant", Expression: []string{"Patient.contact[0].period"}},
	}
	if diff := cmp.Diff(want, issues, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Diagnostics" }, cmp.Ignore())); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, c := range calls {
		seen[c.NodeType] = true
		if c.Expr == "hasValue() or (children().count() > id.count())" {
			t.Errorf("ele-1 was handed to the hook; it is checked structurally")
		}
	}
	for _, typ := range []string{"Patient", "Patient.contact", "Period"} {
		if !seen[typ] {
			t.Errorf("no invariant evaluated on a %s node", typ)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"id":"x"}]}]}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p"}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	v := New(defs.Default(), Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ok := decodeOK(data)
		if !ok {
			return
		}
		for _, is := range v.Validate(m) {
			if len(is.Expression) != 1 || is.Code == "" {
				t.Fatalf("malformed issue %+v", is)
			}
		}
	})
}
