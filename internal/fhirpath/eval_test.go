package fhirpath

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir/defs"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

const testPatient = `{
  "resourceType": "Patient", "id": "p1",
  "contained": [{"resourceType": "Organization", "id": "org", "name": "Acme"}],
  "managingOrganization": {"reference": "#org"},
  "generalPractitioner": [{"reference": "Practitioner/42"}],
  "name": [{"family": "Chalmers", "given": ["Peter", null, "Jim"],
            "_given": [null, {"extension": [{"url": "http://example.org/x", "valueString": "no value"}]}, {"id": "g3"}]}],
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "deceasedBoolean": false,
  "gender": "male"
}`

const testObservation = `{
  "resourceType": "Observation", "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
  "component": [
    {"code": {"coding": [{"code": "8480-6"}]}, "valueQuantity": {"value": 120, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    {"code": {"coding": [{"code": "8462-4"}]}, "valueQuantity": {"value": 80.0, "code": "mm[Hg]", "system": "http://unitsofmeasure.org"}}
  ],
  "valueString": "see components"
}`

// TestEvaluate covers semantics that are easy to get wrong; each result is
// rendered with Type():String() so the type bookkeeping is checked too.
func TestEvaluate(t *testing.T) {
	pat := decodeJSON(t, testPatient)
	obs := decodeJSON(t, testObservation)
	model := Model(defs.Default())
	tests := []struct {
		name, expr string
		input      any
		model      Model
		want       []string
	}{
		{"exact decimals", "0.1 + 0.2 = 0.3", nil, nil, []string{"Boolean:true"}},
		{"decimal keeps scale", "1.10 * 2", nil, nil, []string{"Decimal:2.20"}},
		{"division", "1 / 3", nil, nil, []string{"Decimal:0.33333333"}},
		{"integer division and modulo", "(-7 div 2) | (-7 mod 2)", nil, nil, []string{"Integer:-3", "Integer:-1"}},
		{"partial dates compare to empty", "@2018-03 < @2018-03-01", nil, nil, nil},
		{"seconds and milliseconds are one precision", "@T10:30:00 = @T10:30:00.000", nil, nil, []string{"Boolean:true"}},
		{"timezones normalise", "@2012-04-15T15:00:00+02:00 = @2012-04-15T16:00:00+03:00", nil, nil, []string{"Boolean:true"}},
		{"month arithmetic clamps", "@2020-01-31 + 1 month", nil, nil, []string{"Date:2020-02-29"}},
		{"calendar and UCUM durations", "7 days = 1 'wk'", nil, nil, []string{"Boolean:true"}},
		{"calendar months are not UCUM months", "1 month = 1 'mo'", nil, nil, nil},
		{"UCUM conversion", "1 'kg' = 1000 'g'", nil, nil, []string{"Boolean:true"}},
		{"three-valued and", "{} and false", nil, nil, []string{"Boolean:false"}},
		{"three-valued implies", "{} implies true", nil, nil, []string{"Boolean:true"}},
		{"string equivalence", "'A b' ~ 'a\tB'", nil, nil, []string{"Boolean:true"}},
		{"leading type name", "Patient.name.family", pat, nil, []string{":Chalmers"}},
		{"leading type name mismatch", "Observation.status", pat, nil, nil},
		{"null primitive skipped by value, kept by extension", "name.given.count()", pat, nil, []string{"Integer:3"}},
		{"primitive without value", "name.given[1].hasValue()", pat, nil, []string{"Boolean:false"}},
		{"primitive extension", "name.given[1].extension.value", pat, nil, []string{"string:no value"}},
		{"primitive id", "name.given[2].id", pat, model, []string{"string:g3"}},
		{"birthDate extension", "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", pat, model, []string{"dateTime:1974-12-25T14:35:45-05:00"}},
		{"typed date compares as date", "Patient.birthDate < @1975", pat, model, []string{"Boolean:true"}},
		{"untyped date string compares as date", "Patient.birthDate = @1974-12-25", pat, nil, []string{"Boolean:true"}},
		{"choice element with model", "Patient.deceased", pat, model, []string{"boolean:false"}},
		{"choice element model-free", "Patient.deceased", pat, nil, []string{"boolean:false"}},
		{"choice type test", "Observation.value is string", obs, model, []string{"Boolean:true"}},
		{"backbone element type", "Observation.component.first().type().name", obs, model, []string{"String:Observation.component"}},
		{"complex type", "Patient.name.type().name", pat, model, []string{"String:HumanName"}},
		{"code type", "Patient.gender", pat, model, []string{"code:male"}},
		{"code is a string", "Patient.gender is string", pat, model, []string{"Boolean:true"}},
		{"FHIR boolean is not System.Boolean", "Patient.deceased is Boolean", pat, model, []string{"Boolean:false"}},
		{"quantity from node", "Observation.component.value.where($this > 100 'mm[Hg]')", obs, model, []string{"Quantity:120 'mm[Hg]'"}},
		{"quantity value navigation", "(Observation.component[1].value as Quantity).value", obs, model, []string{"decimal:80.0"}},
		{"contained reference", "Patient.managingOrganization.resolve().name", pat, model, []string{"string:Acme"}},
		{"contained resource type", "Patient.contained.first() is Organization", pat, model, []string{"Boolean:true"}},
		{"unresolved without resolver", "Patient.generalPractitioner.resolve()", pat, model, nil},
		{"index variable", "Patient.name.given.select($index)", pat, nil, []string{"Integer:0", "Integer:1", "Integer:2"}},
		{"aggregate", "(1 | 2 | 3).aggregate($total + $this, 0)", nil, nil, []string{"Integer:6"}},
		{"environment variables", "%ucum & '|' & %`vs-x`", nil, nil, []string{"String:http://unitsofmeasure.org|http://hl7.org/fhir/ValueSet/x"}},
		{"lowBoundary of a date", "@2014-02.lowBoundary()", nil, nil, []string{"Date:2014-02-01"}},
		{"toQuantity with unit", "'1 \\'cm\\''.toQuantity('mm')", nil, nil, []string{"Quantity:10 'mm'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Evaluate(tc.input, &Options{Model: tc.model})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range res {
				got = append(got, v.Type()+":"+v.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func TestResolveCallback(t *testing.T) {
	pat := decodeJSON(t, testPatient)
	opts := &Options{Resolve: ReferenceStub, Model: defs.Default()}
	res, err := MustCompile("Patient.generalPractitioner.where(resolve() is Practitioner)").Evaluate(pat, opts)
	if err != nil || len(res) != 1 {
		t.Fatalf("got %v, %v", res, err)
	}
	if got := res[0].Type(); got != "Reference" {
		t.Errorf("Type() = %q, want Reference", got)
	}
}

func TestAccessors(t *testing.T) {
	pat := decodeJSON(t, testPatient)
	res, err := MustCompile("Patient.birthDate | Patient.name").Evaluate(pat, &Options{Model: defs.Default(), Paths: true})
	if err != nil || len(res) != 2 {
		t.Fatalf("got %v, %v", res, err)
	}
	bd, name := res[0], res[1]
	if bd.Type() != "date" || bd.JSON() != "1974-12-25" || bd.Path() != "Patient.birthDate" || bd.Extension() == nil {
		t.Errorf("birthDate: type %q json %v path %q ext %v", bd.Type(), bd.JSON(), bd.Path(), bd.Extension())
	}
	p, ok := bd.Primitive()
	if d, isDate := p.(DateTime); !ok || !isDate || d.Kind != KindDate || d.Year != 1974 {
		t.Errorf("Primitive() = %#v, %v", p, ok)
	}
	if _, ok := name.Object(); !ok || name.Type() != "HumanName" || name.Path() != "Patient.name[0]" {
		t.Errorf("name: type %q path %q", name.Type(), name.Path())
	}
	if _, ok := name.Primitive(); ok {
		t.Error("HumanName has no primitive value")
	}
}

func TestNow(t *testing.T) {
	fixed := time.Date(2024, 2, 29, 13, 5, 0, 0, time.UTC)
	res, err := MustCompile("today() | now()").Evaluate(nil, &Options{Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range res {
		got = append(got, v.String())
	}
	if diff := cmp.Diff([]string{"2024-02-29", "2024-02-29T13:05:00.000Z"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ expr, wantErr string }{
		{"Patient.name.", "1:14: expected a name or function after '.', found end of expression"},
		{"name.where(given = 'x'", "1:23: expected ')', found end of expression"},
		{"1 +\n  foo()", "2:3: unknown function foo"},
		{"'abc", "1:1: unterminated ' literal"},
		{"@2020-13-01", "1:1: invalid date literal @2020-13-01"},
		{"Patient.name.take()", "1:18: function take takes 1 argument(s), found 0"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Compile(%q) = %v, want a syntax error containing %q", tc.expr, err, tc.wantErr)
		}
	}
	// evaluation errors
	for _, expr := range []string{"(1 | 2).single()", "'a' - 'b'", "(1 | 2) = 1 and (1|2)", "%undefined"} {
		if _, err := MustCompile(expr).Evaluate(nil, nil); err == nil {
			t.Errorf("Evaluate(%q) succeeded, want an error", expr)
		}
	}
}

// TestConcurrentEvaluate shares one compiled expression between goroutines,
// as search indexing does; run with -race.
func TestConcurrentEvaluate(t *testing.T) {
	pat := decodeJSON(t, testPatient)
	e := MustCompile("Patient.name.where(given.first().matches('^P')).family | Patient.birthDate.toString()")
	opts := &Options{Model: defs.Default()}
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				r, err := e.Evaluate(pat, opts)
				if err == nil && len(r) != 2 {
					err = errors.New("wrong result count")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
