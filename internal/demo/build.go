package demo

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// Code systems, as FHIR R4 and US Core name them
// (https://hl7.org/fhir/R4/terminologies-systems.html).
const (
	sysLOINC   = "http://loinc.org"
	sysSNOMED  = "http://snomed.info/sct"
	sysICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	sysRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysCVX     = "http://hl7.org/fhir/sid/cvx"
	sysUCUM    = "http://unitsofmeasure.org"
	sysNPI     = "http://hl7.org/fhir/sid/us-npi"
	sysNUCC    = "http://nucc.org/provider-taxonomy"
	sysOMB     = "urn:oid:2.16.840.1.113883.6.238" // CDC Race & Ethnicity
	sysBCP47   = "urn:ietf:bcp:47"
	sysSOPT    = "https://nahdo.org/sopt" // Source of Payment Typology
	tho        = "http://terminology.hl7.org/CodeSystem/"
	usCore     = "http://hl7.org/fhir/us/core/"

	// The clinic's own identifier namespaces.
	sysMRN    = "http://riverside-fm.example.org/fhir/sid/mrn"
	sysMember = "http://riverside-fm.example.org/fhir/sid/member-id"
)

// code is one coded value: a FHIR Coding.
type code struct{ system, code, display string }

func (c code) coding() map[string]any {
	m := map[string]any{"system": c.system, "code": c.code}
	if c.display != "" {
		m["display"] = c.display
	}
	return m
}

// concept builds a CodeableConcept; text may be "" to use the first display.
func concept(text string, codes ...code) map[string]any {
	cs := make([]any, 0, len(codes))
	for _, c := range codes {
		cs = append(cs, c.coding())
	}
	m := map[string]any{}
	if len(cs) > 0 {
		m["coding"] = cs
	}
	if text == "" && len(codes) > 0 {
		text = codes[0].display
	}
	if text != "" {
		m["text"] = text
	}
	return m
}

// concepts wraps CodeableConcepts in a JSON array (for 0..* elements).
func concepts(cc ...map[string]any) []any {
	a := make([]any, len(cc))
	for i, c := range cc {
		a[i] = c
	}
	return a
}

func ref(typ, id, display string) map[string]any {
	m := map[string]any{"reference": typ + "/" + id}
	if display != "" {
		m["display"] = display
	}
	return m
}

func arr(xs ...any) []any { return xs }

// num formats v with dec decimals: FHIR decimals keep their precision in
// their text (https://hl7.org/fhir/R4/datatypes.html#decimal).
func num(v float64, dec int) json.Number {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if s == "-0" || (len(s) > 1 && s[0] == '-' && allZero(s[1:])) {
		s = s[1:]
	}
	return json.Number(s)
}

func allZero(s string) bool {
	for _, c := range s {
		if c != '0' && c != '.' {
			return false
		}
	}
	return true
}

func integer(n int) json.Number { return json.Number(strconv.Itoa(n)) }

// quantity is a UCUM Quantity; unit is shown to people, ucum is the code.
func quantity(v float64, dec int, unit, ucum string) map[string]any {
	return map[string]any{"value": num(v, dec), "unit": unit, "system": sysUCUM, "code": ucum}
}

// FHIR dateTime and date forms (https://hl7.org/fhir/R4/datatypes.html#dateTime).
func dateTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }
func date(t time.Time) string     { return t.Format("2006-01-02") }

func period(start, end time.Time) map[string]any {
	return map[string]any{"start": dateTime(start), "end": dateTime(end)}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func telecom(system, value, use string) map[string]any {
	m := map[string]any{"system": system, "value": value}
	if use != "" {
		m["use"] = use
	}
	return m
}

// address is a postal address in the clinic's town.
type address struct{ line, city, state, zip string }

func (a address) json(use string) map[string]any {
	m := map[string]any{
		"line": arr(a.line), "city": a.city, "state": a.state, "postalCode": a.zip, "country": "US",
	}
	if use != "" {
		m["use"] = use
	}
	return m
}

// resource starts a resource with its type, id and the tag that marks it as
// synthetic (v3-ActReason HTEST, "test health data"), so nobody mistakes
// the demo clinic for real patients.
func resource(typ, id string) map[string]any {
	return map[string]any{
		"resourceType": typ,
		"id":           id,
		"meta": map[string]any{
			"tag": arr(code{tho + "v3-ActReason", "HTEST", "test health data"}.coding()),
		},
	}
}
