package storetest

import (
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store"
)

const (
	loinc  = "http://loinc.org"
	snomed = "http://snomed.info/sct"
	gender = "http://hl7.org/fhir/administrative-gender"
	mrn    = "http://hospital.example/mrn"
	ucum   = "http://unitsofmeasure.org"
	v20203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// span is the interval a date of the given precision covers.
func span(s string) (time.Time, time.Time) {
	for _, layout := range []string{"2006", "2006-01", "2006-01-02", "2006-01-02T15:04:05"} {
		if len(s) != len(layout) {
			continue
		}
		t, err := time.Parse(layout, s)
		if err != nil {
			panic(err)
		}
		var end time.Time
		switch layout {
		case "2006":
			end = t.AddDate(1, 0, 0)
		case "2006-01":
			end = t.AddDate(0, 1, 0)
		case "2006-01-02":
			end = t.AddDate(0, 0, 1)
		default:
			end = t.Add(time.Second)
		}
		return t, end.Add(-time.Microsecond)
	}
	panic("bad date " + s)
}

func date(param, s string) store.Date {
	lo, hi := span(s)
	return store.Date{Param: param, Low: lo, High: hi}
}

func qty(param string, v float64, code string) store.Quantity {
	return store.Quantity{Param: param, System: ucum, Code: code, Unit: code, Low: v - 0.5, High: v + 0.5, CanonicalCode: code, CanonicalValue: v}
}

func ref(param, typ, id string) store.Reference {
	return store.Reference{Param: param, TargetType: typ, TargetID: id, URL: typ + "/" + id}
}

func code(param, system, c, text string) store.Token {
	return store.Token{Param: param, System: system, Code: c, Text: text}
}

// fixture writes the search data set. Every resource gets a distinct
// lastUpdated: 2024-01-01 plus its position in days.
func fixture(t *testing.T, s store.Store) {
	t.Helper()
	name := func(norm, exact string) store.String { return store.String{Param: "family", Norm: norm, Exact: exact} }
	ws := []store.Write{
		write("Organization", "o1", 1, store.Index{
			Strings: []store.String{{Param: "name", Norm: "acme health", Exact: "Acme Health"}},
		}),
		write("Organization", "o2", 1, store.Index{
			Strings: []store.String{{Param: "name", Norm: "beta clinic", Exact: "Beta Clinic"}},
		}),
		write("Patient", "p1", 1, store.Index{
			Strings: []store.String{name("smith", "Smith")},
			Tokens: []store.Token{code("gender", gender, "male", ""), code("active", "", "true", ""),
				code("identifier", mrn, "111", ""), code("identifier"+":of-type", v20203+"|MR", "111", "")},
			Dates:        []store.Date{date("birthdate", "1980-05-01")},
			References:   []store.Reference{ref("organization", "Organization", "o1")},
			Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
		}),
		write("Patient", "p2", 1, store.Index{
			Strings:      []store.String{name("smithson", "Smithson")},
			Tokens:       []store.Token{code("gender", gender, "female", ""), code("identifier", mrn, "222", "")},
			Dates:        []store.Date{date("birthdate", "1990")},
			References:   []store.Reference{ref("organization", "Organization", "o2")},
			Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p2"}},
		}),
		write("Patient", "p3", 1, store.Index{
			Strings:      []store.String{name("jones", "Jones")},
			Tokens:       []store.Token{code("gender", gender, "male", ""), code("identifier", "http://other.example", "111", "")},
			References:   []store.Reference{{Param: "organization", URL: "http://other.example/Organization/x"}},
			Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p3"}},
		}),
		write("Patient", "p4", 1, store.Index{
			Strings: []store.String{name("smithers", "Smithers")},
			Tokens:  []store.Token{code("gender", gender, "male", "")},
		}),
		obs("ob1", "8480-6", "Systolic blood pressure", "p1", 120, "2020-01-15", 0.8),
		obs("ob2", "8462-4", "Diastolic blood pressure", "p1", 80, "2020-02-01", 0.25),
		obs("ob3", "8480-6", "Systolic blood pressure", "p2", 140, "2021-06-01T10:00:00", -1),
		obs("ob4", "8480-6", "", "p3", 110, "2022", -1),
		write("ValueSet", "vs1", 1, store.Index{URIs: []store.URI{{Param: "url", Value: "http://example.org/fhir/ValueSet/abc"}}}),
		write("ValueSet", "vs2", 1, store.Index{URIs: []store.URI{{Param: "url", Value: "http://example.org/fhir/ValueSet/abc/sub"}}}),
	}
	ws[len(ws)-3].Index.Tokens = append(ws[len(ws)-3].Index.Tokens, code("code", snomed, "271649006", "Systolic"))
	for i := range ws {
		ws[i].LastUpdated = day("2024-01-01").AddDate(0, 0, i)
	}
	mustPut(t, s, ws...)
	// p4 is deleted: nothing may find it.
	mustPut(t, s, deletion("Patient", "p4", 2))
}

func obs(id, loincCode, text, patient string, value float64, when string, prob float64) store.Write {
	ix := store.Index{
		Tokens:       []store.Token{code("code", loinc, loincCode, text), code("status", "http://hl7.org/fhir/observation-status", "final", "")},
		Quantities:   []store.Quantity{qty("value-quantity", value, "mm[Hg]")},
		References:   []store.Reference{ref("subject", "Patient", patient)},
		Dates:        []store.Date{date("date", when)},
		Compartments: []store.CompartmentRef{{Type: "Patient", ID: patient}},
		Composites: []store.Composite{{Param: "code-value-quantity", Components: []store.CompositePart{
			{Token: &store.Token{System: loinc, Code: loincCode}},
			{Quantity: &store.Quantity{System: ucum, Code: "mm[Hg]", Unit: "mm[Hg]", Low: value - 0.5, High: value + 0.5, CanonicalCode: "mm[Hg]", CanonicalValue: value}},
		}}},
	}
	if prob >= 0 {
		ix.Numbers = []store.Number{{Param: "probability", Low: prob - 0.005, High: prob + 0.005}}
	}
	return write("Observation", id, 1, ix)
}
