package fhirpath

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// specDefinitions returns the path of the FHIR R4 definitions folder, skipping
// (or failing under CI) when the shared data is absent.
func specDefinitions(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data", "fhir-r4", "definitions")
			if _, err := os.Stat(d); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("FHIR definitions not found at %s (required under CI)", d)
				}
				t.Skipf("FHIR definitions not found at %s; skipping", d)
			}
			return d
		}
	}
	t.Fatal("no go.mod found")
	return ""
}

// TestCompileSpecExpressions compiles every SearchParameter expression and
// every invariant of the R4 core definitions.
func TestCompileSpecExpressions(t *testing.T) {
	dir := specDefinitions(t)
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				URL          string `json:"url"`
				Expression   string `json:"expression"`
				Snapshot     struct {
					Element []struct {
						Constraint []struct {
							Key        string `json:"key"`
							Expression string `json:"expression"`
						} `json:"constraint"`
					} `json:"element"`
				} `json:"snapshot"`
			} `json:"resource"`
		} `json:"entry"`
	}
	var params, invariants int
	for _, f := range []string{"search-parameters.json", "profiles-resources.json", "profiles-types.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		bundle.Entry = nil
		if err := json.Unmarshal(raw, &bundle); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range bundle.Entry {
			r := e.Resource
			if r.ResourceType == "SearchParameter" && r.Expression != "" {
				params++
				if _, err := Compile(r.Expression); err != nil {
					t.Errorf("%s: %q: %v", r.URL, r.Expression, err)
				}
			}
			for _, el := range r.Snapshot.Element {
				for _, c := range el.Constraint {
					if c.Expression == "" {
						continue
					}
					invariants++
					if _, err := Compile(c.Expression); err != nil {
						t.Errorf("%s %s: %q: %v", r.URL, c.Key, c.Expression, err)
					}
				}
			}
		}
	}
	t.Logf("compiled %d search parameter expressions and %d invariants", params, invariants)
}

// TestSpecExampleInvariants evaluates the core invariants on the R4 examples:
// no invariant may fail to evaluate, and the examples, which the
// specification publishes as valid, should satisfy them.
func TestSpecExampleInvariants(t *testing.T) {
	dir := specDefinitions(t)
	type constraint struct {
		key  string
		expr *Expression
	}
	type elemRule struct {
		path  *Expression
		rules []constraint
	}
	rules := map[string][]elemRule{} // resource type → element rules
	type structureDefinition struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Kind         string `json:"kind"`
		Abstract     bool   `json:"abstract"`
		Snapshot     struct {
			Element []struct {
				Path       string `json:"path"`
				Constraint []struct {
					Key        string `json:"key"`
					Expression string `json:"expression"`
				} `json:"constraint"`
			} `json:"element"`
		} `json:"snapshot"`
	}
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "profiles-resources.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	for _, e := range bundle.Entry {
		var r structureDefinition
		if json.Unmarshal(e.Resource, &r) != nil || r.ResourceType != "StructureDefinition" {
			continue
		}
		if r.Kind != "resource" || r.Abstract {
			continue
		}
		for _, el := range r.Snapshot.Element {
			var cs []constraint
			for _, c := range el.Constraint {
				if c.Expression != "" {
					cs = append(cs, constraint{c.Key, MustCompile(c.Expression)})
				}
			}
			if len(cs) == 0 {
				continue
			}
			path := strings.ReplaceAll(el.Path, "[x]", "")
			rules[r.Type] = append(rules[r.Type], elemRule{MustCompile(path), cs})
		}
	}
	examples, _ := filepath.Glob(filepath.Join(dir, "..", "examples", "*.json"))
	opts := &Options{Model: defs.Default()}
	var evaluated, errs, unsatisfied int
	for _, f := range examples {
		res := decodeJSON(t, mustRead(t, f))
		m, _ := res.(map[string]any)
		rt, _ := m["resourceType"].(string)
		for _, er := range rules[rt] {
			nodes, err := er.path.Evaluate(res, opts)
			if err != nil {
				t.Errorf("%s: path %s: %v", filepath.Base(f), er.path, err)
				continue
			}
			for _, n := range nodes {
				for _, c := range er.rules {
					evaluated++
					out, err := c.expr.Evaluate(n, &Options{Model: opts.Model, Variables: map[string]any{"resource": res, "rootResource": res}})
					if err != nil {
						errs++
						t.Errorf("%s %s: %v", filepath.Base(f), c.key, err)
						continue
					}
					if b, known, _ := toBool(out); known && !b {
						unsatisfied++
						t.Logf("%s: %s not satisfied", filepath.Base(f), c.key)
					}
				}
			}
		}
	}
	t.Logf("%d invariant evaluations on %d examples: %d errors, %d unsatisfied", evaluated, len(examples), errs, unsatisfied)
}

func mustRead(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSpecExampleSearchParameters evaluates every core search parameter on
// the R4 examples of its base resource types: none may fail.
func TestSpecExampleSearchParameters(t *testing.T) {
	dir := specDefinitions(t)
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string   `json:"resourceType"`
				URL          string   `json:"url"`
				Base         []string `json:"base"`
				Expression   string   `json:"expression"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "search-parameters.json"))), &bundle); err != nil {
		t.Fatal(err)
	}
	byType := map[string][]*Expression{}
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType != "SearchParameter" || r.Expression == "" {
			continue
		}
		x := MustCompile(r.Expression)
		for _, b := range r.Base {
			byType[b] = append(byType[b], x)
		}
	}
	examples, _ := filepath.Glob(filepath.Join(dir, "..", "examples", "*.json"))
	opts := &Options{Model: defs.Default(), Resolve: ReferenceStub}
	var evaluated, values int
	for _, f := range examples {
		res := decodeJSON(t, mustRead(t, f))
		m, _ := res.(map[string]any)
		rt, _ := m["resourceType"].(string)
		for _, x := range append(byType[rt], byType["Resource"]...) {
			evaluated++
			out, err := x.Evaluate(res, opts)
			if err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(f), x, err)
			}
			values += len(out)
		}
	}
	t.Logf("%d search parameter evaluations on %d examples gave %d values", evaluated, len(examples), values)
}
