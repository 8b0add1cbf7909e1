package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/openchart/openchart/"

// layers ranks every package of the module: a package may import only
// packages of a lower rank, so imports flow one way, from the doors down to
// the store and the definitions (docs/ARCHITECTURE.md). A new package must
// be placed here; the test says so.
var layers = map[string]int{
	"internal/errs":                      0,
	"internal/access":                    0,
	"internal/fhirpath":                  0,
	"internal/progress":                  0,
	"internal/clientip":                  0,
	"internal/shareddata":                0,
	"internal/terminology":               0,
	"internal/fhir/defs/internal/format": 0,

	"internal/fhir":      1,
	"internal/fhir/defs": 1,
	"internal/audit":     1,

	"internal/fhir/validate": 2,
	"internal/store":         2,
	"internal/demo":          2,
	"internal/bench/scale":   2,
	"internal/safety":        2,

	"internal/store/sqlgen": 3,
	"internal/store/pgtest": 3,

	"internal/store/sqlite":    4,
	"internal/store/postgres":  4,
	"internal/store/storetest": 5, // test support: loads data through the indexer
	"internal/search":          4,
	"internal/reindex":         4,
	"internal/metrics":         4,

	"internal/repo": 5,
	"internal/auth": 5,

	"internal/fhirapi":  6,
	"internal/importer": 6,
	"internal/chart":    6,
	"internal/schedule": 6,
	"internal/inbox":    6,
	"internal/visit":    6,
	"internal/notify":   6,

	"internal/fhirapi/fhirhttp": 7,
	"internal/smart":            7,
	"internal/web":              8,
	"internal/server":           8,
	"internal/app":              9,
	"internal/doors":            10,
	"internal/fhir/defs/gen":    9,
	"internal/bench":            10,
	"internal/cli":              11,
	"cmd/openchart":             12,
}

// TestLayers checks the import direction of every non-test Go file.
func TestLayers(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module) {
				imports[pkg][strings.TrimPrefix(p, module)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		rank, ok := layers[p]
		if !ok {
			if p == "internal/e2e" {
				continue // tests only
			}
			t.Errorf("package %s has no layer: add it to the layers table (and to docs/ARCHITECTURE.md)", p)
			continue
		}
		for imp := range imports[p] {
			ir, ok := layers[imp]
			if ok && ir >= rank {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must flow down", p, rank, imp, ir)
			}
		}
	}
}
