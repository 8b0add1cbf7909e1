package fhirpath

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/openchart/openchart/internal/fhir/defs"
)

func loadJSON(tb testing.TB, name string) any {
	tb.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// BenchmarkSearchParamExtraction evaluates typical search parameter
// expressions the way indexing does on every write: compiled once, evaluated
// per resource, with the definitions as model.
func BenchmarkSearchParamExtraction(b *testing.B) {
	obs := loadJSON(b, "observation-synthea.json")
	pat := loadJSON(b, "patient-synthea.json")
	opts := &Options{Model: defs.Default(), Resolve: ReferenceStub}
	cases := []struct {
		name, expr string
		input      any
		want       int
	}{
		{"Patient.name", "Patient.name", pat, 2},
		{"Observation.code", "Observation.code", obs, 1},
		{"value-quantity", "(Observation.value as Quantity) | (Observation.value as SampledData)", obs, 1},
		{"subject-patient", "Observation.subject.where(resolve() is Patient)", obs, 1},
		{"Patient.birthdate", "Patient.birthDate", pat, 1},
	}
	for _, c := range cases {
		e := MustCompile(c.expr)
		b.Run(c.name, func(b *testing.B) {
			r, err := e.Evaluate(c.input, opts)
			if err != nil || len(r) != c.want {
				b.Fatalf("%s: got %d items (%v), want %d", c.expr, len(r), err, c.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Evaluate(c.input, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Compile("Observation.component.where(code.coding.exists(system = 'http://loinc.org' and code = '8480-6')).value as Quantity"); err != nil {
			b.Fatal(err)
		}
	}
}
