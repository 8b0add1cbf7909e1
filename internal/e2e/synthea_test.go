package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/importer"
)

// syntheaFiles lists the Synthea Bundles with the two information Bundles
// (organizations, locations, practitioners) first, as the data's README asks.
func syntheaFiles(t *testing.T) []string {
	dir := sharedData(t, "synthea-120")
	files, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Synthea bundles in %s", dir)
	}
	// The data set carries an empty file; the importer skips such files.
	files = slices.DeleteFunc(files, func(f string) bool {
		info, err := os.Stat(f)
		return err == nil && info.Size() == 0
	})
	sort.SliceStable(files, func(i, j int) bool {
		return strings.HasPrefix(filepath.Base(files[i]), "0-") && !strings.HasPrefix(filepath.Base(files[j]), "0-")
	})
	return files
}

// expectedCounts counts the resources per type that the Bundles carry.
func expectedCounts(t *testing.T, files []string) map[string]int {
	want := map[string]int{}
	for _, f := range files {
		b := readBundle(t, f)
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			r, _ := e.(map[string]any)["resource"].(map[string]any)
			want[fhir.TypeOf(r)]++
		}
	}
	return want
}

func typesOf(m map[string]int) []string {
	var out []string
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// TestSyntheaImport loads the 120-patient Synthea set with the importer on
// each store and checks that every resource arrived, then loads a part of it
// again and checks that nothing was duplicated.
func TestSyntheaImport(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 92,000 resources")
	}
	files := syntheaFiles(t)
	want := expectedCounts(t, files)
	for name, cfg := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := openApp(t, cfg(t))
			im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(files[0])
			sum, err := im.Run(opCtx(), []string{dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range sum.Files {
				if f.Failed > 0 {
					t.Errorf("%s: %d failed: %v", filepath.Base(f.Path), f.Failed, f.Errors)
				}
			}
			t.Logf("%s: imported %d resources in %s (%.0f resources/s)", name, sum.Resources, sum.Elapsed,
				float64(sum.Resources)/sum.Elapsed.Seconds())
			got := countByType(t, a, typesOf(want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("resources per type (-in bundles +stored):\n%s", diff)
			}
			// Again, for a few files: nothing may be duplicated.
			again, err := im.Run(opCtx(), files[:5])
			if err != nil || !again.OK() {
				t.Fatalf("re-import: %v %+v", err, again)
			}
			if diff := cmp.Diff(want, countByType(t, a, typesOf(want))); diff != "" {
				t.Fatalf("re-import changed the counts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyntheaOverHTTP posts the same Bundles to the FHIR API, as a client
// would, and expects the same counts.
func TestSyntheaOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 92,000 resources")
	}
	files := syntheaFiles(t)
	want := expectedCounts(t, files)
	a := openApp(t, stores(t)["sqlite"](t))
	ts := serve(t, a)
	for _, f := range files {
		body := fhir.Marshal(readBundle(t, f))
		resp, err := http.Post(ts.URL+"/fhir", "application/fhir+json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", filepath.Base(f), resp.StatusCode, out)
		}
		rb, err := fhir.Parse(out, fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := rb["entry"].([]any)
		for i, e := range entries {
			r, _ := e.(map[string]any)["response"].(map[string]any)
			if st, _ := r["status"].(string); !strings.HasPrefix(st, "2") {
				t.Errorf("%s entry %d: %s %v", filepath.Base(f), i, st, r["outcome"])
			}
		}
	}
	if diff := cmp.Diff(want, countByType(t, a, typesOf(want))); diff != "" {
		t.Fatalf("resources per type (-in bundles +stored):\n%s", diff)
	}
}
