package search

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// TestUSCoreSearches checks that every search parameter the US Core 6.1.0
// test kit requires (SHALL and SHOULD combinations of every profile) is
// known to the compiler and indexed for its resource type.
func TestUSCoreSearches(t *testing.T) {
	dir := dataPath(t, "us-core/test-kit-metadata-6.1.0")
	files, err := filepath.Glob(filepath.Join(dir, "*", "metadata.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no metadata under %s", dir)
	}
	ix := testIndexer(t)
	c := NewCompiler(defs.Default())
	checked := 0
	for _, f := range files {
		resource, names := readSearchNames(t, f)
		ti := ix.byType[resource]
		if ti == nil {
			t.Errorf("%s: unknown resource %q", f, resource)
			continue
		}
		for name := range names {
			checked++
			indexed := false
			for _, p := range ti.params {
				indexed = indexed || p.code == name
			}
			_, special := specialKind(name)
			if !indexed && !special {
				t.Errorf("%s.%s is not indexed", resource, name)
			}
			if _, err := c.Compile(resource, url.Values{name + ":missing": {"false"}}, true); err != nil {
				t.Errorf("%s.%s does not compile: %v", resource, name, err)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d search parameters found in the test kit metadata", checked)
	}
	t.Logf("checked %d profile search parameters", checked)
}

// readSearchNames reads ":resource:" and the ":names:" lists of ":searches:"
// from a test kit metadata.yml (a fixed layout; no YAML library needed).
func readSearchNames(t *testing.T, path string) (string, map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var resource string
	names := map[string]bool{}
	inNames := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":resource: "):
			resource = strings.TrimSpace(strings.TrimPrefix(line, ":resource: "))
		case strings.TrimSpace(line) == ":names:":
			inNames = true
		case inNames && strings.HasPrefix(line, "  - "):
			names[strings.TrimSpace(strings.TrimPrefix(line, "  - "))] = true
		default:
			inNames = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return resource, names
}
