package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitAnyReference(t *testing.T) {
	tests := []struct {
		in      string
		typ, id string
		ok      bool
	}{
		{"Patient/123", "Patient", "123", true},
		{"Patient/123/_history/2", "Patient", "123", true},
		{"http://x.org/fhir/Patient/a.b-c", "Patient", "a.b-c", true},
		{"https://x.org/fhir/Observation/1/_history/3", "Observation", "1", true},
		{"http://x.org/Patient", "", "", false},
		{"urn:uuid:0c0dfc0a-0d", "", "", false},
		{"#contained", "", "", false},
		{"Practitioner?identifier=a|b", "", "", false},
		{"a/b/c", "", "", false},
		{"patient/1", "", "", false},
		{"Patient/", "", "", false},
		{"Patient/has space", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			typ, id, ok := splitAnyReference(tc.in)
			if typ != tc.typ || id != tc.id || ok != tc.ok {
				t.Errorf("splitAnyReference(%q) = %q, %q, %v; want %q, %q, %v", tc.in, typ, id, ok, tc.typ, tc.id, tc.ok)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		name, in string
		relative bool
		want     *pathExpr
	}{
		{name: "plain", in: "Patient.name.family",
			want: &pathExpr{root: "Patient", steps: []pathStep{{name: "name"}, {name: "family"}}}},
		{name: "as group", in: "(Observation.value as Quantity)",
			want: &pathExpr{root: "Observation", steps: []pathStep{{name: "value", cast: "Quantity"}}}},
		{name: "as group then child", in: "(Observation.value as CodeableConcept).text",
			want: &pathExpr{root: "Observation", steps: []pathStep{{name: "value", cast: "CodeableConcept"}, {name: "text"}}}},
		{name: "as function", in: "Condition.onset.as(dateTime)",
			want: &pathExpr{root: "Condition", steps: []pathStep{{name: "onset", cast: "dateTime"}}}},
		{name: "where resolve", in: "Observation.subject.where(resolve() is Patient)",
			want: &pathExpr{root: "Observation", steps: []pathStep{{name: "subject", resolveIs: "Patient"}}}},
		{name: "where literal with dots", in: "Patient.extension.where(url = 'http://x.org/a.b').value.code",
			want: &pathExpr{root: "Patient", steps: []pathStep{{name: "extension", field: "url", lit: "http://x.org/a.b"}, {name: "value"}, {name: "code"}}}},
		{name: "relative", in: "value.as(Quantity)", relative: true,
			want: &pathExpr{steps: []pathStep{{name: "value", cast: "Quantity"}}}},
		{name: "root only", in: "Observation", want: &pathExpr{root: "Observation"}},
		{name: "other functions go to FHIRPath", in: "Patient.deceased.exists() and Patient.deceased != false"},
		{name: "indexer goes to FHIRPath", in: "Bundle.entry[0].resource"},
		{name: "resource variable goes to FHIRPath", in: "%resource.referenceSeq.chromosome", relative: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parsePath(tc.in, tc.relative)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(pathExpr{}, pathStep{})); diff != "" {
				t.Errorf("parsePath(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSplitUnion(t *testing.T) {
	got := splitUnion("A.x | B.y.where(z = 'a|b') | (C.v as Quantity)")
	want := []string{"A.x", "B.y.where(z = 'a|b')", "(C.v as Quantity)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splitUnion (-want +got):\n%s", diff)
	}
}
