package scale

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
)

// syntheaDir returns the shared Synthea sample, skipping the test when it
// is absent (failing under CI, where it must be there).
func syntheaDir(t testing.TB) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "data", "synthea-120")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing under CI: %v", err)
		}
		t.Skipf("shared test data not found (%v); skipping", err)
	}
	return p
}

func generate(t *testing.T, seed uint64, patients int) string {
	t.Helper()
	out := t.TempDir()
	if _, err := Generate(context.Background(), Options{Source: syntheaDir(t), Out: out, Patients: patients, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustRead(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := readBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceAndCopy returns source patient 0 and its first copy.
func sourceAndCopy(t *testing.T) (src, cp map[string]any) {
	t.Helper()
	out := generate(t, 42, 1)
	_, patients, err := Sources(syntheaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return mustRead(t, patients[0]), mustRead(t, filepath.Join(out, "bundles", "patient-0000000.json.gz"))
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b, c := generate(t, 7, 2), generate(t, 7, 2), generate(t, 8, 2)
	files := 0
	err := filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		x, _ := os.ReadFile(path)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Errorf("%s missing from the second run: %v", rel, err)
			return nil
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", rel)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files generated", files)
	}
	x, _ := os.ReadFile(filepath.Join(a, "bundles", "patient-0000001.json.gz"))
	z, _ := os.ReadFile(filepath.Join(c, "bundles", "patient-0000001.json.gz"))
	if bytes.Equal(x, z) {
		t.Error("different seeds gave the same patient")
	}
}

func TestCopyIsReidentified(t *testing.T) {
	src, cp := sourceAndCopy(t)
	text := string(fhir.Marshal(cp))
	for _, e := range src["entry"].([]any) {
		id := fhir.IDOf(e.(map[string]any)["resource"].(map[string]any))
		if strings.Contains(text, id) {
			t.Fatalf("old id %s still appears in the copy", id)
		}
	}
	sp, cpp := patientOf(t, src), patientOf(t, cp)
	for _, field := range []string{"name", "identifier", "address", "telecom"} {
		if string(fhir.Marshal(sp[field])) == string(fhir.Marshal(cpp[field])) {
			t.Errorf("Patient.%s was not changed", field)
		}
	}
	for _, n := range sp["name"].([]any) {
		fam := n.(map[string]any)["family"].(string)
		if strings.Contains(text, fam) {
			t.Errorf("old family name %q still appears in the copy", fam)
		}
	}
	for _, x := range sp["identifier"].([]any) {
		v := x.(map[string]any)["value"].(string)
		if strings.Contains(text, v) {
			t.Errorf("old identifier %q still appears in the copy", v)
		}
	}
}

func patientOf(t *testing.T, b map[string]any) map[string]any {
	t.Helper()
	for _, e := range b["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if fhir.TypeOf(r) == "Patient" {
			return r
		}
	}
	t.Fatal("no Patient")
	return nil
}

func TestReferencesResolve(t *testing.T) {
	out := generate(t, 3, 2)
	info, _, err := Sources(syntheaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	refs := newRefIndex()
	for _, p := range info {
		refs.addInfo(mustRead(t, p))
	}
	for _, name := range []string{"patient-0000000.json.gz", "patient-0000001.json.gz"} {
		b := mustRead(t, filepath.Join(out, "bundles", name))
		full := map[string]bool{}
		for _, e := range b["entry"].([]any) {
			full[e.(map[string]any)["fullUrl"].(string)] = true
		}
		n := 0
		eachReference(b, func(ref string) {
			n++
			switch {
			case full[ref]:
			case refs.conditional[ref] != "":
			case strings.HasPrefix(ref, "#"):
			default:
				t.Errorf("%s: reference %q resolves neither in the Bundle nor to the information Bundles", name, ref)
			}
		})
		if n < 100 {
			t.Errorf("%s: only %d references", name, n)
		}
	}
	// The NDJSON references are literal and point at lines of the set.
	have := map[string]bool{}
	var all []map[string]any
	files, _ := filepath.Glob(filepath.Join(out, "ndjson", "*.ndjson.gz"))
	for _, f := range files {
		data, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			r, err := fhir.Parse(line, fhir.ParseOptions{})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			have[fhir.TypeOf(r)+"/"+fhir.IDOf(r)] = true
			all = append(all, r)
		}
	}
	for _, r := range all {
		eachReference(r, func(ref string) {
			if !have[ref] && !strings.HasPrefix(ref, "#") {
				t.Errorf("NDJSON %s/%s: reference %q does not resolve", fhir.TypeOf(r), fhir.IDOf(r), ref)
			}
		})
	}
}

func eachReference(v any, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				f(s)
			} else {
				eachReference(e, f)
			}
		}
	case []any:
		for _, e := range x {
			eachReference(e, f)
		}
	}
}

// TestDatesShiftTogether checks that an Encounter and its Observations move
// by the same whole number of days, so their distance is unchanged.
func TestDatesShiftTogether(t *testing.T) {
	src, cp := sourceAndCopy(t)
	start := func(b map[string]any, typ string) []string {
		var out []string
		for _, e := range b["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			switch {
			case typ == "Encounter" && fhir.TypeOf(r) == typ:
				out = append(out, r["period"].(map[string]any)["start"].(string))
			case typ == "Observation" && fhir.TypeOf(r) == typ:
				if s, ok := r["effectiveDateTime"].(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	var shift time.Duration
	for _, typ := range []string{"Encounter", "Observation"} {
		a, b := start(src, typ), start(cp, typ)
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d dates in the source, %d in the copy", typ, len(a), len(b))
		}
		for i := range a {
			ta, err1 := time.Parse(time.RFC3339, a[i])
			tb, err2 := time.Parse(time.RFC3339, b[i])
			if err1 != nil || err2 != nil {
				t.Fatalf("unparseable dates %q %q", a[i], b[i])
			}
			if a[i][10:] != b[i][10:] {
				t.Errorf("time of day or zone changed: %q -> %q", a[i], b[i])
			}
			d := tb.Sub(ta)
			if shift == 0 {
				shift = d
			}
			if d != shift || d%(24*time.Hour) != 0 || d == 0 {
				t.Fatalf("%s date moved by %v, want the copy's one shift %v (whole days, not zero)", typ, d, shift)
			}
		}
	}
}

func TestCopyValidates(t *testing.T) {
	src, cp := sourceAndCopy(t)
	v := validate.New(defs.Default(), validate.Options{})
	before, after := v.Validate(src), v.Validate(cp)
	t.Logf("findings: source %d, copy %d", len(before), len(after))
	if len(after) > len(before) {
		t.Fatalf("the copy has %d findings, the source %d; first: %+v", len(after), len(before), after[0])
	}
}

func TestShiftDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2020-02-28", "2020-03-01"},
		{"2020-02-28T23:59:59.123+05:30", "2020-03-01T23:59:59.123+05:30"},
		{"2020-02-28T10:00:00Z", "2020-03-01T10:00:00Z"},
		{"2020-12", "2020-12"},
		{"2020", "2020"},
		{"8310-5", "8310-5"},
		{"999-82-5655", "999-82-5655"},
	}
	for _, tc := range tests {
		if got, _ := shiftDate(tc.in, 2); got != tc.want {
			t.Errorf("shiftDate(%q, 2) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
