package storetest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/shareddata"
	"github.com/openchart/openchart/internal/store"
)

// SyntheaPatient is one loaded patient: its id and family name.
type SyntheaPatient struct {
	ID, Family string
}

// LoadSynthea writes the resources of the first n patient Bundles of
// synthea-120 (by file name) into s, indexed by the real indexer, one
// transaction per Bundle. Bundle-local references become
// Type/id; conditional references (to the hospital and practitioner
// Bundles, not loaded) become dangling Type/id references.
func LoadSynthea(tb testing.TB, s store.Store, n int) []SyntheaPatient {
	tb.Helper()
	dir := shareddata.Path(tb, "synthea-120")
	names, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(names)
	ix, err := search.NewIndexer(defs.Default())
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var pats []SyntheaPatient
	for _, name := range names {
		if len(pats) == n {
			break
		}
		base := filepath.Base(name)
		if strings.HasPrefix(base, "0-") || strings.HasPrefix(base, "*") {
			continue
		}
		resources := readBundle(tb, name)
		if len(resources) == 0 {
			continue
		}
		ws := make([]store.Write, 0, len(resources))
		for _, res := range resources {
			typ, id := fhir.TypeOf(res), fhir.IDOf(res)
			if typ == "Patient" {
				pats = append(pats, SyntheaPatient{ID: id, Family: familyName(res)})
			}
			x, err := ix.Index(res)
			if err != nil {
				tb.Fatalf("index %s/%s: %v", typ, id, err)
			}
			body, err := json.Marshal(res)
			if err != nil {
				tb.Fatal(err)
			}
			ws = append(ws, store.Write{Record: store.Record{Type: typ, ID: id, Version: 1,
				Method: store.MethodCreate, JSON: body}, Index: x})
		}
		if err := put(ctx, s, ws...); err != nil {
			tb.Fatalf("load %s: %v", base, err)
		}
	}
	return pats
}

func familyName(res map[string]any) string {
	names, _ := res["name"].([]any)
	for _, n := range names {
		if m, ok := n.(map[string]any); ok {
			if f, ok := m["family"].(string); ok {
				return f
			}
		}
	}
	return ""
}

// readBundle returns the entry resources of a gzipped transaction Bundle
// with Bundle-local references rewritten to Type/id.
func readBundle(tb testing.TB, name string) []map[string]any {
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	bundle, err := fhir.Parse(data, fhir.ParseOptions{})
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	entries, _ := bundle["entry"].([]any)
	byURL := make(map[string]string, len(entries))
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		em, _ := e.(map[string]any)
		res, ok := em["resource"].(map[string]any)
		if !ok {
			continue
		}
		out = append(out, res)
		if u, _ := em["fullUrl"].(string); u != "" {
			byURL[u] = fhir.TypeOf(res) + "/" + fhir.IDOf(res)
		}
	}
	for _, res := range out {
		localRefs(res, byURL)
	}
	return out
}

func localRefs(v any, byURL map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				if to, ok := byURL[s]; ok {
					x[k] = to
				} else if typ, q, ok := strings.Cut(s, "?"); ok {
					x[k] = typ + "/c" + strconv.FormatUint(uint64(len(q)), 10)
				}
				continue
			}
			localRefs(e, byURL)
		}
	case []any:
		for _, e := range x {
			localRefs(e, byURL)
		}
	}
}
