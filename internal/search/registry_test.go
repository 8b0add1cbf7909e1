package search

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

func customParam(id, code, typ, expr string, base ...string) map[string]any {
	b := make([]any, len(base))
	for i, x := range base {
		b[i] = x
	}
	return map[string]any{"resourceType": "SearchParameter", "id": id, "url": "http://example.org/sp/" + id,
		"status": "active", "code": code, "type": typ, "expression": expr, "base": b}
}

const eyeColorExpr = "Patient.extension.where(url='http://example.org/eye-color').value"

// TestRegistryRefusals checks that only well-formed, non-clashing custom
// parameters are loaded, and each refusal says why.
func TestRegistryRefusals(t *testing.T) {
	draft := customParam("draft", "draft-code", "token", "Patient.gender", "Patient")
	draft["status"] = "draft"
	coreCopy := customParam("copy", "gender", "token", "Patient.gender", "Patient")
	coreCopy["url"] = "http://hl7.org/fhir/SearchParameter/individual-gender"
	comp := customParam("comp", "eye-and-gender", "composite", "Patient", "Patient")
	comp["component"] = []any{
		map[string]any{"definition": "http://example.org/sp/eye", "expression": "extension.where(url='http://example.org/eye-color').value"},
		map[string]any{"definition": "http://hl7.org/fhir/SearchParameter/individual-gender", "expression": "gender"},
	}
	res := []map[string]any{
		comp, // before its component: composites load last
		customParam("eye", "eye-color", "token", eyeColorExpr, "Patient"),
		draft,
		coreCopy,
		customParam("clash", "gender", "token", "Patient.gender", "Patient"),
		customParam("clash-resource", "_id", "token", "Resource.id", "Resource"),
		customParam("clash-inherited", "language", "token", "Patient.language", "Patient"),
		customParam("bad-expr", "bad", "token", "Patient.name.where(", "Patient"),
		customParam("bad-type", "odd", "special", "Patient.name", "Patient"),
		customParam("bad-base", "nowhere", "token", "Nope.x", "Nope"),
		customParam("eye", "eye-colour", "token", eyeColorExpr, "Patient"),
	}
	r, problems := NewRegistry(defs.Default(), res)
	var got []string
	for _, sp := range r.Custom() {
		got = append(got, sp.Code)
	}
	if d := cmp.Diff([]string{"eye-color", "eye-and-gender"}, got); d != "" {
		t.Errorf("loaded (-want +got):\n%s", d)
	}
	// Sorted, as problems found reading a resource come before those found
	// registering it.
	want := []string{
		"SearchParameter/bad-base: base \"Nope\" is not a resource type",
		"SearchParameter/bad-expr: expression",
		"SearchParameter/bad-type: type \"special\" cannot be indexed",
		"SearchParameter/clash-inherited: code \"language\" is already defined on Patient",
		"SearchParameter/clash-resource: code \"_id\" is not usable",
		"SearchParameter/clash: code \"gender\" is already defined on Patient",
		"SearchParameter/eye: another custom parameter has the url",
	}
	var msgs []string
	for _, p := range problems {
		msgs = append(msgs, p.Error())
	}
	sort.Strings(msgs)
	if len(msgs) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(msgs, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(msgs[i], w) {
			t.Errorf("problem %d = %q, want it to start %q", i, msgs[i], w)
		}
	}
	if r.SearchParam("Patient", "gender").Source == customSource {
		t.Error("a custom parameter replaced the core gender")
	}
	if r.SearchParam("Observation", "eye-color") != nil {
		t.Error("eye-color leaked onto Observation")
	}
}

// TestRegistryIndexAndCompile indexes and searches a custom token
// parameter over an extension, and a composite that uses it.
func TestRegistryIndexAndCompile(t *testing.T) {
	comp := customParam("comp", "eye-and-gender", "composite", "Patient", "Patient")
	comp["component"] = []any{
		map[string]any{"definition": "http://example.org/sp/eye", "expression": "extension.where(url='http://example.org/eye-color').value"},
		map[string]any{"definition": "http://hl7.org/fhir/SearchParameter/individual-gender", "expression": "gender"},
	}
	r, problems := NewRegistry(defs.Default(), []map[string]any{customParam("eye", "eye-color", "token", eyeColorExpr, "Patient"), comp})
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	ix, err := NewIndexerFrom(r)
	if err != nil {
		t.Fatal(err)
	}
	pat, err := fhir.Parse([]byte(`{"resourceType":"Patient","id":"p","gender":"female",
		"extension":[{"url":"http://example.org/eye-color","valueCode":"blue"},{"url":"http://example.org/other","valueCode":"green"}]}`), fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ix.Index(pat)
	if err != nil {
		t.Fatal(err)
	}
	got := only(rows, "eye-color")
	if d := cmp.Diff([]store.Token{{Param: "eye-color", Code: "blue"}}, got.Tokens); d != "" {
		t.Errorf("eye-color rows (-want +got):\n%s", d)
	}
	if n := len(only(rows, "eye-and-gender").Composites); n != 1 {
		t.Errorf("%d eye-and-gender composites, want 1", n)
	}
	c := NewCompilerFrom(r)
	for _, q := range []string{"eye-color=blue", "eye-and-gender=blue$female", "_sort=eye-color"} {
		v, _ := url.ParseQuery(q)
		if _, err := c.Compile("Patient", v, true); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	v, _ := url.ParseQuery("eye-color=blue")
	if _, err := NewCompiler(defs.Default()).Compile("Patient", v, true); err == nil {
		t.Error("the core compiler accepts eye-color")
	}
	if n := len(ix.Unindexed()); n != len(testIndexer(t).Unindexed()) {
		t.Errorf("custom parameters added %d unindexed expressions", n-len(testIndexer(t).Unindexed()))
	}
}
