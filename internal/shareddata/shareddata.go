// Package shareddata locates the project's shared test data: the
// specification definitions and examples, conformance suites and synthetic
// patients that live beside the repository in ../shared/data (see its
// README). Tests that need it skip with a message when it is absent, and
// fail when CI=true, where it must be present.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of rel under the shared data, skipping tb when it
// is absent (failing it under CI=true).
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	root, err := root()
	if err == nil {
		p := filepath.Join(root, rel)
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("shared test data %s is missing under CI: %v", rel, err)
	}
	tb.Skipf("shared test data %s not found (it lives beside the repository in ../shared/data): %v; skipping", rel, err)
	return ""
}

// root finds ../shared/data relative to the module root (the nearest
// directory above the working directory that holds go.mod).
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
