package search

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/shareddata"
)

// dataPath returns the path of a file under the shared test data.
func dataPath(tb testing.TB, rel string) string {
	tb.Helper()
	return shareddata.Path(tb, rel)
}

// readResource parses a JSON resource file from the shared data.
func readResource(tb testing.TB, rel string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(dataPath(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := fhir.Parse(b, fhir.ParseOptions{})
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return res
}

// syntheaResources returns the entry resources of the first patient Bundle
// of synthea-120 (by file name; the hospital and practitioner Bundles
// excluded).
func syntheaResources(tb testing.TB) []map[string]any {
	tb.Helper()
	dir := dataPath(tb, "synthea-120")
	names, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no Bundles in %s", dir)
	}
	sort.Strings(names)
	var name string
	for _, n := range names {
		base := filepath.Base(n)
		if fi, err := os.Stat(n); err != nil || fi.Size() == 0 || strings.HasPrefix(base, "0-") || base[0] == '*' {
			continue // the hospital/practitioner Bundles, or an empty stray file
		}
		name = n
		break
	}
	if name == "" {
		tb.Fatalf("no patient Bundle in %s", dir)
	}
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	bundle, err := fhir.Parse(b, fhir.ParseOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	// Resolve the Bundle's references as a transaction would before
	// indexing: urn:uuid full URLs and conditional references
	// ("Practitioner?identifier=...") become Type/id.
	var out []map[string]any
	local := map[string]string{}
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		if res, ok := em["resource"].(map[string]any); ok {
			out = append(out, res)
			if full, _ := em["fullUrl"].(string); full != "" {
				local[full] = fhir.TypeOf(res) + "/" + fhir.IDOf(res)
			}
		}
	}
	for _, res := range out {
		rewriteReferences(res, local)
	}
	return out
}

// rewriteReferences replaces Bundle-local and conditional references.
func rewriteReferences(v any, local map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s, ok := e.(string)
			if k != "reference" || !ok {
				rewriteReferences(e, local)
				continue
			}
			if to, ok := local[s]; ok {
				x[k] = to
			} else if typ, _, cond := strings.Cut(s, "?"); cond {
				x[k] = typ + "/cond-" + strconv.Itoa(len(s))
			}
		}
	case []any:
		for _, e := range x {
			rewriteReferences(e, local)
		}
	}
}

// globJSON lists the .json files of a directory, by name.
func globJSON(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
