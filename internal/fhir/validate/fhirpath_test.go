package validate

import (
	"slices"
	"testing"

	"github.com/openchart/openchart/internal/errs"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// TestFHIRPathInvariants checks that constraints of the definitions are
// evaluated with the FHIRPath engine: each resource breaks one invariant
// that no structural check catches.
func TestFHIRPathInvariants(t *testing.T) {
	v := New(defs.Default(), Options{Invariants: FHIRPathInvariants(defs.Default())})
	cases := []struct {
		name, key, json string
	}{
		{"pat-1 contact without details", "pat-1",
			`{"resourceType":"Patient","contact":[{"gender":"female"}]}`},
		{"obs-6 dataAbsentReason with a value", "obs-6",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"b"}}`},
		{"per-1 period ends before it starts", "per-1",
			`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-02-01","end":"2020-01-01"}}`},
		{"qty-3 unit code without system", "qty-3",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"code":"mg"}}`},
		{"ait-2 clinical status on an entered-in-error allergy", "ait-2",
			`{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/a"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			issues := v.Validate(decode(t, []byte(c.json)))
			found := slices.ContainsFunc(issues, func(is errs.Issue) bool {
				return is.Code == "invariant" && is.Severity == "error" && len(is.Diagnostics) >= len(c.key) && is.Diagnostics[:len(c.key)] == c.key
			})
			if !found {
				t.Errorf("no error for invariant %s; issues:\n%s", c.key, formatIssues(issues))
			}
		})
	}
	// And a valid resource stays valid.
	ok := `{"resourceType":"Patient","contact":[{"name":{"family":"Lee"}}],"birthDate":"1990-01-01"}`
	if issues := v.Validate(decode(t, []byte(ok))); HasErrors(issues) {
		t.Errorf("valid Patient rejected:\n%s", formatIssues(issues))
	}
}
