package validate

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/openchart/openchart/internal/shareddata"
)

// sharedData returns the path of rel under the shared test data.
func sharedData(tb testing.TB, rel string) string {
	tb.Helper()
	return shareddata.Path(tb, rel)
}

func decode(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func readGzip(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// syntheaResources returns the entry resources of the first n Synthea
// bundles, in file name order.
func syntheaResources(tb testing.TB, n int) []map[string]any {
	dir := sharedData(tb, "synthea-120")
	files, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(files)
	// The directory holds a stray empty file literally named "*.json.gz".
	files = slices.DeleteFunc(files, func(f string) bool {
		st, err := os.Stat(f)
		return err != nil || st.Size() == 0
	})
	if len(files) > n {
		files = files[:n]
	}
	var out []map[string]any
	for _, f := range files {
		b := decode(tb, readGzip(tb, f))
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			if r, ok := e.(map[string]any)["resource"].(map[string]any); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

func decodeOK(data []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, false
	}
	return m, true
}
