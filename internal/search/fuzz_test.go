package search

import (
	"net/url"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

func FuzzDateRange(f *testing.F) {
	for _, s := range []string{"2013", "2013-01", "2013-01-14", "2013-01-14T10:00", "2013-01-14T10:00:00.123+05:30", "2013-02-30", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := DateRange(s)
		if err == nil && hi.Before(lo) {
			t.Errorf("DateRange(%q) = [%v, %v]: high before low", s, lo, hi)
		}
	})
}

func FuzzNumberRange(f *testing.F) {
	for _, s := range []string{"100", "100.00", "1e2", "-5.5", "0", "0.001", "123456789012345678901", "1e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, lo, hi, err := NumberRange(s)
		if err == nil && !(lo <= v && v <= hi) {
			t.Errorf("NumberRange(%q) = %v not in [%v, %v)", s, v, lo, hi)
		}
	})
}

func FuzzNormalizeString(f *testing.F) {
	for _, s := range []string{"Peter", "Zoë  Müller", "ΑΘΗΝΑ", " a\tb ", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeString(s)
		if NormalizeString(n) != n {
			t.Errorf("NormalizeString is not idempotent on %q: %q then %q", s, n, NormalizeString(n))
		}
	})
}

// FuzzCompile checks that no query string makes the compiler panic, and
// that lenient compilation never fails on parameters.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"name=peter", "subject:Patient.name=x", "_has:Observation:patient:code=1", "code-value-quantity=a|b$lt5",
		"value-quantity=5.4|http://unitsofmeasure.org|mg", `identifier=a\|b`, "_sort=-date&_include=Observation:patient",
		"date=ge2013-01&_count=5", "_has:Observation:patient:_has:AuditEvent:entity:agent=1", "subject.organization.name=a,b",
	} {
		f.Add("Observation", s)
	}
	c := NewCompiler(defs.Default())
	f.Fuzz(func(t *testing.T, typ, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		if typ != "" && !c.isConcrete(typ) {
			return
		}
		_, _ = c.Compile(typ, params, true)
		if _, err := c.Compile(typ, params, false); err != nil {
			t.Errorf("lenient Compile(%q, %q): %v", typ, query, err)
		}
	})
}

// FuzzIndex checks that no parseable resource makes the Indexer panic or
// produce malformed rows.
func FuzzIndex(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"p","name":[{"family":"X","given":["a","b"]}],"birthDate":"2000-01","identifier":[{"system":"s","value":"v","type":{"coding":[{"code":"MR"}]}}]}`,
		`{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueQuantity":{"value":1.50,"code":"mg","system":"http://unitsofmeasure.org"},"subject":{"reference":"Patient/p"},"effectivePeriod":{"start":"2020","end":"2021-02-03T04:05:06Z"},"component":[{"code":{"text":"c"},"valueRange":{"low":{"value":1}}}]}`,
		`{"resourceType":"Encounter","id":"e","status":"finished","class":{"code":"AMB"},"participant":[{"individual":{"reference":"http://x/fhir/Practitioner/1","identifier":{"value":"n"}}}]}`,
		`{"resourceType":"MedicationRequest","id":"m","status":"active","intent":"order","subject":{"reference":"#c"},"dosageInstruction":[{"timing":{"event":["2020-01-01T10:00:00+01:00"],"repeat":{"boundsPeriod":{"end":"2020"}}}}]}`,
	} {
		f.Add([]byte(s))
	}
	ix, err := NewIndexer(defs.Default())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fhir.Parse(data, fhir.ParseOptions{})
		if err != nil {
			return
		}
		got, err := ix.Index(res)
		if err != nil {
			return
		}
		checkRows(t, "fuzzed resource", got)
	})
}
