package fhirhttp_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openchart/openchart/internal/fhir"
)

const examplesDir = "../../../../shared/data/fhir-r4/examples"

// exampleFiles lists the specification's examples, skipping (or failing
// under CI=true) when the shared data is absent.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no examples under %s", examplesDir)
		}
		t.Skipf("no examples under %s (the shared data is absent)", examplesDir)
	}
	sort.Strings(files)
	return files
}

// knownInvalid are the examples that break R4's own rules (the validator's
// tests list them with reasons): the API must refuse to store them and
// $validate must report errors.
var knownInvalid = map[string]bool{
	"ActivityDefinition-blood-tubes-supply.json":      true,
	"ActivityDefinition-heart-valve-replacement.json": true,
	"EventDefinition-example.json":                    true,
	"DeviceMetric-example.json":                       true,
	"DeviceUseStatement-example.json":                 true,
	"MedicationRequest-medrx0301.json":                true,
	"Observation-clinical-gender.json":                true,
	"Questionnaire-qs1.json":                          true,
	"ImplementationGuide-fhir.json":                   true,
	"ig-r4.json":                                      true,
}

// withoutServerMeta drops what the server sets: meta.versionId and
// meta.lastUpdated (and meta itself when nothing else is left).
func withoutServerMeta(res map[string]any) map[string]any {
	out := fhir.Clone(res).(map[string]any)
	if m, ok := out["meta"].(map[string]any); ok {
		delete(m, "versionId")
		delete(m, "lastUpdated")
		if len(m) == 0 {
			delete(out, "meta")
		}
	}
	return out
}

// TestExamplesRoundTrip stores every example of the specification through
// the HTTP API (PUT with its id, or POST without one), reads it back and
// compares, and checks that $validate accepts it.
func TestExamplesRoundTrip(t *testing.T) { bothStores(t, testExamplesRoundTrip) }

func testExamplesRoundTrip(t *testing.T, o envOptions) {
	files := exampleFiles(t)
	e := newEnv(t, o)
	var stored, validated, refused, failed int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fhir.Parse(raw, fhir.ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			failed++
			continue
		}
		typ, id := fhir.TypeOf(res), fhir.IDOf(res)
		name := filepath.Base(f)
		if knownInvalid[name] {
			if checkRefused(t, e, name, typ, id, raw) {
				refused++
			}
			continue
		}
		var r *result
		if id != "" {
			r = e.do("PUT", "/"+typ+"/"+id, raw)
		} else {
			r = e.do("POST", "/"+typ, raw)
			id = str(r.body, "id")
		}
		if r.status != 201 && r.status != 200 {
			t.Errorf("%s: store answered %d: %.400s", name, r.status, r.raw)
			failed++
			continue
		}
		back := e.do("GET", "/"+typ+"/"+id, nil).must(t, 200)
		want := withoutServerMeta(res)
		want["id"] = id
		if diff := cmp.Diff(want, withoutServerMeta(back.body), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: read back differs (-stored +read):\n%s", name, diff)
			failed++
			continue
		}
		stored++
		v := e.do("POST", "/"+typ+"/$validate", raw)
		if v.status != 200 || hasError(v.body) {
			t.Errorf("%s: $validate answered %d: %.400s", name, v.status, v.raw)
			continue
		}
		validated++
	}
	t.Logf("examples: %d stored and read back identically, %d validated, %d known-invalid refused (400 and $validate errors), %d failed, of %d",
		stored, validated, refused, failed, len(files))
}

// checkRefused checks that a known-invalid example is refused, is reported
// by $validate, and leaves nothing stored.
func checkRefused(t *testing.T, e *env, name, typ, id string, raw []byte) bool {
	t.Helper()
	path := "/" + typ
	method := "POST"
	if id != "" {
		path, method = path+"/"+id, "PUT"
	}
	r := e.do(method, path, raw)
	v := e.do("POST", "/"+typ+"/$validate", raw)
	if r.status != 400 || fhir.TypeOf(r.body) != "OperationOutcome" || v.status != 200 || !hasError(v.body) {
		t.Errorf("%s (known invalid): store %d, $validate %d %.300s", name, r.status, v.status, v.raw)
		return false
	}
	if id != "" {
		e.do("GET", path, nil).must(t, 404)
	}
	return true
}

func hasError(oo map[string]any) bool {
	for _, x := range asList(oo["issue"]) {
		if s := str(x, "severity"); s == "error" || s == "fatal" {
			return true
		}
	}
	return false
}

// TestExampleBundles posts the example batch and transaction Bundles to
// the base. Entries may legitimately fail in a batch (they refer to
// resources this empty server lacks); the answer must still be a
// well-formed response Bundle.
func TestExampleBundles(t *testing.T) {
	files := exampleFiles(t)
	e := newEnv(t)
	var posted int
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "Bundle-") {
			continue
		}
		raw, _ := os.ReadFile(f)
		res, err := fhir.Parse(raw, fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		typ := str(res, "type")
		if typ != "transaction" && typ != "batch" {
			continue
		}
		r := e.do("POST", "", raw)
		posted++
		switch {
		case r.status == 200:
			if got := str(r.body, "type"); got != typ+"-response" {
				t.Errorf("%s: response type %q", filepath.Base(f), got)
			}
			if len(asList(r.body["entry"])) != len(asList(res["entry"])) {
				t.Errorf("%s: %d response entries for %d", filepath.Base(f), len(asList(r.body["entry"])), len(asList(res["entry"])))
			}
		case typ == "transaction" && r.status >= 400 && (r.status < 500 || r.status == 501):
			t.Logf("%s: transaction refused with %d: %.300s", filepath.Base(f), r.status, r.raw)
		default:
			t.Errorf("%s: answered %d: %.400s", filepath.Base(f), r.status, r.raw)
		}
	}
	t.Logf("example bundles: %d posted", posted)
}
