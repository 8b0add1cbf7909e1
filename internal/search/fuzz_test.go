package search

import (
	"net/url"
	"testing"

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
