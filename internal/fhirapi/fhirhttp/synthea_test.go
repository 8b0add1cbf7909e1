package fhirhttp_test

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"
)

// TestSyntheaTransactions posts real transaction Bundles: the Synthea
// organization and practitioner Bundles, then patient Bundles whose
// references to them are conditional (Practitioner?identifier=...), and
// the Inferno US Core patients.
func TestSyntheaTransactions(t *testing.T) {
	dir := "../../../../shared/data/synthea-120"
	all, _ := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	var files []string
	for _, f := range all {
		if st, err := os.Stat(f); err == nil && st.Size() > 0 {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Synthea data")
		}
		t.Skip("no Synthea data under " + dir)
	}
	sort.Strings(files) // the 0-*Information* Bundles first
	n := 4
	if testing.Short() {
		n = 3
	}
	e := newEnv(t)
	for _, f := range files[:n] {
		zr, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(zr)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(gz)
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := e.do("POST", "", raw, "Prefer: return=minimal")
		if r.status != 200 {
			t.Fatalf("%s: %d %.600s", filepath.Base(f), r.status, r.raw)
		}
		t.Logf("%s: %d entries in %v", filepath.Base(f), len(asList(r.body["entry"])), time.Since(start).Round(time.Millisecond))
	}
	// Inferno's patient 355 Bundle has an Observation.effectivePeriod.stop
	// (Period has end, not stop): the whole transaction is refused, naming
	// the entry.
	for _, tc := range []struct {
		file   string
		status int
		where  string
	}{
		{"uscore_bundle_patient_85.json", 200, ""},
		{"uscore_bundle_patient_355.json", 400, "Bundle.entry[266]"},
	} {
		raw, err := os.ReadFile(filepath.Join("../../../../shared/data/inferno", tc.file))
		if err != nil {
			t.Logf("skipping %s: %v", tc.file, err)
			continue
		}
		r := e.do("POST", "", raw, "Prefer: return=minimal")
		if r.status != tc.status || (tc.where != "" && !slices.Contains(r.expressions(), tc.where)) {
			t.Errorf("%s: %d %.600s", tc.file, r.status, r.raw)
		}
	}
}
