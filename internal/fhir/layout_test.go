package fhir_test

import (
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// TestMarshalResourceOrder checks that resources are written in the
// definitions' element order, nested types, choice types, primitive
// companions and contained resources included, and that the result parses
// back to the same content.
func TestMarshalResourceOrder(t *testing.T) {
	in := `{"subject":{"display":"Ada","reference":"Patient/1"},"status":"final","valueQuantity":{"unit":"kg","value":72.50},
	"code":{"text":"Weight","coding":[{"display":"Body weight","code":"29463-7","system":"http://loinc.org"}]},
	"_status":{"extension":[{"valueString":"x","url":"http://example.org/e"}]},
	"contained":[{"name":[{"given":["A"],"family":"B"}],"id":"p1","resourceType":"Patient"}],
	"zzUnknown":1,"id":"o1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"},"resourceType":"Observation"}`
	res, err := fhir.Parse([]byte(in), fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(fhir.MarshalResource(res, defs.Default()))
	want := `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"},` +
		`"contained":[{"resourceType":"Patient","id":"p1","name":[{"family":"B","given":["A"]}]}],` +
		`"status":"final","_status":{"extension":[{"url":"http://example.org/e","valueString":"x"}]},` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}],"text":"Weight"},` +
		`"subject":{"reference":"Patient/1","display":"Ada"},"valueQuantity":{"value":72.50,"unit":"kg"},"zzUnknown":1}`
	if got != want {
		t.Errorf("MarshalResource =\n%s\nwant\n%s", got, want)
	}
	again, err := fhir.Parse([]byte(got), fhir.ParseOptions{})
	if err != nil || string(fhir.Marshal(again)) != string(fhir.Marshal(res)) {
		t.Errorf("content changed in the round trip: %v", err)
	}
}

func BenchmarkMarshalResource(b *testing.B) {
	res, err := fhir.Parse([]byte(`{"resourceType":"Observation","id":"o1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}],"text":"Weight"},"subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01T10:00:00Z","valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`), fhir.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	d := defs.Default()
	b.Run("by-definition", func(b *testing.B) {
		for b.Loop() {
			fhir.MarshalResource(res, d)
		}
	})
	b.Run("by-name", func(b *testing.B) {
		for b.Loop() {
			fhir.Marshal(res)
		}
	})
}
