package defs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoad(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.ResourceTypes()); n != 146 {
		t.Errorf("ResourceTypes: got %d, want 146", n)
	}
	for _, name := range []string{"Resource", "DomainResource", "Element", "BackboneElement", "string", "xhtml", "HumanName", "Observation.component", "Bundle.entry.request"} {
		if d.Type(name) == nil {
			t.Errorf("Type(%q) = nil", name)
		}
	}
	if d.IsResource("HumanName") || !d.IsResource("Patient") || !d.IsResource("DomainResource") {
		t.Error("IsResource wrong")
	}
}

func TestChildType(t *testing.T) {
	d := Default()
	tests := []struct {
		parent, name string
		types        []string
		choice, ok   bool
	}{
		{"Patient", "name", []string{"HumanName"}, false, true},
		{"Patient", "id", []string{"string"}, false, true},
		{"Patient", "contact", []string{"Patient.contact"}, false, true},
		{"Patient.contact", "name", []string{"HumanName"}, false, true},
		{"Observation", "value", []string{"Quantity", "CodeableConcept", "string", "boolean", "integer", "Range", "Ratio", "SampledData", "time", "dateTime", "Period"}, true, true},
		{"Observation", "valueQuantity", nil, false, false},
		{"Observation.component", "code", []string{"CodeableConcept"}, false, true},
		{"Questionnaire.item", "item", []string{"Questionnaire.item"}, false, true},
		{"Extension", "url", []string{"uri"}, false, true},
		{"Element", "id", []string{"string"}, false, true},
		{"HumanName", "given", []string{"string"}, false, true},
		{"Timing", "repeat", []string{"Timing.repeat"}, false, true},
		{"Bundle.entry", "resource", []string{"Resource"}, false, true},
		{"Nope", "x", nil, false, false},
	}
	for _, tt := range tests {
		types, choice, ok := d.ChildType(tt.parent, tt.name)
		if diff := cmp.Diff(tt.types, types); diff != "" || choice != tt.choice || ok != tt.ok {
			t.Errorf("ChildType(%q, %q) = %v %v %v, want %v %v %v", tt.parent, tt.name, types, choice, ok, tt.types, tt.choice, tt.ok)
		}
	}
}

func TestIsSubtype(t *testing.T) {
	d := Default()
	tests := []struct {
		typ, base string
		want      bool
	}{
		{"Age", "Quantity", true},
		{"Patient", "DomainResource", true},
		{"Patient", "Resource", true},
		{"Bundle", "DomainResource", false},
		{"code", "string", true},
		{"string", "code", false},
		{"Observation.component", "BackboneElement", true},
		{"Observation.component", "Element", true},
		{"HumanName", "Element", true},
	}
	for _, tt := range tests {
		if got := d.IsSubtype(tt.typ, tt.base); got != tt.want {
			t.Errorf("IsSubtype(%q, %q) = %v", tt.typ, tt.base, got)
		}
	}
}

func TestValueSet(t *testing.T) {
	d := Default()
	vs := d.ValueSet("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1")
	if vs == nil {
		t.Fatal("administrative-gender missing")
	}
	if !vs.Contains("http://hl7.org/fhir/administrative-gender", "male") || vs.ContainsCode("mal") {
		t.Error("administrative-gender contents wrong")
	}
	if _, ok := d.Unexpanded("http://hl7.org/fhir/ValueSet/mimetypes"); !ok {
		t.Error("mimetypes should be recorded as unexpanded")
	}
}

func TestSearchParams(t *testing.T) {
	d := Default()
	n := 0
	for _, p := range d.AllSearchParams() {
		if p.Source == "core" {
			n++
		}
	}
	if n != 1375 {
		t.Errorf("core search parameters: got %d, want 1375", n)
	}
	for _, c := range []struct{ typ, code, ptype string }{
		{"Patient", "birthdate", "date"}, {"Patient", "_id", "token"}, {"Patient", "_text", "string"},
		{"Observation", "code-value-quantity", "composite"}, {"Patient", "race", "token"}, {"Bundle", "_lastUpdated", "date"},
	} {
		p := d.SearchParam(c.typ, c.code)
		if p == nil || p.Type != c.ptype {
			t.Errorf("SearchParam(%s, %s) = %+v", c.typ, c.code, p)
		}
	}
	if d.SearchParam("Bundle", "_text") != nil {
		t.Error("Bundle is not a DomainResource")
	}
	pc := d.Compartment("Patient")
	if pc == nil || cmp.Diff([]string{"subject", "performer"}, pc.Params("Observation")) != "" {
		t.Errorf("Patient compartment Observation: %v", pc.Params("Observation"))
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestElementOrder checks that elements keep the snapshot order, which is
// the order FHIR JSON serializes them in.
func TestElementOrder(t *testing.T) {
	pt := Default().Type("Patient")
	var got []string
	for _, e := range pt.Elements[:10] {
		got = append(got, e.Name)
	}
	want := []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension", "identifier", "active"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Patient element order (-want +got):\n%s", diff)
	}
	if c, ok := pt.JSONChild("deceasedDateTime"); !ok || c.Type != "dateTime" || c.Element.Name != "deceased" {
		t.Errorf("JSONChild(deceasedDateTime) = %+v, %v", c, ok)
	}
	if re := Default().Type("id").Regex; re == nil || !re.MatchString("a-1.b") || re.MatchString("a b") {
		t.Error("id regex missing or wrong")
	}
}
