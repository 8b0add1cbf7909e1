package validate

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// knownInvalidExamples lists examples of the R4 specification that break its
// own rules, with the reason. Their issues are expected; any other issue in
// them still fails the test.
var knownInvalidExamples = map[string]struct {
	reason string
	codes  []string // the issue codes its errors may have
}{
	"ActivityDefinition-blood-tubes-supply.json":      {"the narrative div is empty (txt-2)", []string{"value"}},
	"ActivityDefinition-heart-valve-replacement.json": {"the narrative div is empty (txt-2)", []string{"value"}},
	"EventDefinition-example.json":                    {"the narrative div is empty (txt-2)", []string{"value"}},
	"DeviceMetric-example.json":                       {"DeviceMetric.parent refers to a DeviceDefinition; R4 allows only Device", []string{"invalid"}},
	"DeviceUseStatement-example.json":                 {"reasonReference refers to a Procedure, which R4 does not allow", []string{"invalid"}},
	"MedicationRequest-medrx0301.json":                {"dispenseRequest.performer refers to a Practitioner; R4 allows only Organization", []string{"invalid"}},
	"Observation-clinical-gender.json":                {"performer refers to an Encounter, which R4 does not allow", []string{"invalid"}},
	"Questionnaire-qs1.json":                          {"nested items have no linkId (min 1)", []string{"required"}},
	"ImplementationGuide-fhir.json":                   {"no name or status (both min 1), and a manifest reference with an id over 64 characters", []string{"required", "invalid"}},
	"ig-r4.json":                                      {"no name or status (both min 1), and a manifest reference with an id over 64 characters", []string{"required", "invalid"}},
}

func TestSpecExamples(t *testing.T) {
	dir := sharedData(t, "fhir-r4/examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	// With the FHIRPath invariants on, as the server runs.
	v := New(defs.Default(), Options{Invariants: FHIRPathInvariants(defs.Default())})
	valid := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		issues := v.Validate(decode(t, data))
		if !HasErrors(issues) {
			valid++
			continue
		}
		if known, ok := knownInvalidExamples[name]; ok {
			for _, is := range issues {
				if is.Severity == "error" && !slices.Contains(known.codes, is.Code) {
					t.Errorf("%s (known invalid: %s): unexpected issue %s %s: %s", name, known.reason, is.Code, is.Expression, is.Diagnostics)
				}
			}
			continue
		}
		t.Errorf("%s:\n%s", name, formatIssues(issues))
	}
	t.Logf("%d of %d specification examples valid (%d known-invalid)", valid, len(files), len(knownInvalidExamples))
	if valid+len(knownInvalidExamples) != len(files) && !t.Failed() {
		t.Errorf("a known-invalid example is now valid: update knownInvalidExamples")
	}
}

func TestSynthea(t *testing.T) {
	// All 120 bundles (about 92,000 resources); the first few under -short.
	n := 1000
	if testing.Short() {
		n = 6
	}
	res := syntheaResources(t, n)
	v := New(defs.Default(), Options{Invariants: FHIRPathInvariants(defs.Default())})
	for i, r := range res {
		if issues := v.Validate(r); HasErrors(issues) {
			t.Errorf("resource %d (%s/%v):\n%s", i, r["resourceType"], r["id"], formatIssues(issues))
		}
	}
	t.Logf("%d Synthea resources validated", len(res))
}

func formatIssues(issues []errs.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		b.WriteString("  " + is.Severity + " " + is.Code + " " + strings.Join(is.Expression, ",") + ": " + is.Diagnostics + "\n")
	}
	return b.String()
}

// TestUSCoreExamples validates the examples of the US Core 6.1.0 package
// against the base R4 definitions (not yet against the US Core profiles).
func TestUSCoreExamples(t *testing.T) {
	dir := sharedData(t, "us-core/6.1.0/package/example")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := New(defs.Default(), Options{})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if issues := v.Validate(decode(t, data)); HasErrors(issues) {
			t.Errorf("%s:\n%s", filepath.Base(f), formatIssues(issues))
		}
	}
	t.Logf("%d US Core examples validated", len(files))
}
