package store

import "time"

// Index is the set of search-index rows of one resource version, one slice
// per search parameter type (https://hl7.org/fhir/R4/search.html#ptypes).
// Param is the SearchParameter code ("identifier", "birthdate", ...).
type Index struct {
	Tokens       []Token
	Strings      []String
	Dates        []Date
	Numbers      []Number
	Quantities   []Quantity
	References   []Reference
	URIs         []URI
	Composites   []Composite
	Compartments []CompartmentRef
}

// Token is a coded value: Coding, CodeableConcept, Identifier, code, boolean,
// ContactPoint, ... System may be empty ("no system"). Text holds display or
// CodeableConcept.text for the :text modifier; stores lower-case it and
// match :text as a prefix, so indexers should put the normalized text here
// when folding beyond case matters.
//
// Identifier types, for :of-type, are indexed as an extra Token with Param
// "<param>:of-type", System "<type system>|<type code>" and Code the
// identifier value.
type Token struct {
	Param  string
	System string
	Code   string
	Text   string
}

// String is a string value. Norm is the value normalized for the default
// and :contains matches (lower case, accents removed, white space collapsed;
// see search.NormalizeString); Exact is the value as written, for :exact.
type String struct {
	Param string
	Norm  string
	Exact string
}

// Date is a date, dateTime, instant, Period or Timing value as the closed
// interval [Low, High] it covers at its precision (UTC). An open end of a
// Period is the zero time for Low or the far future for High.
type Date struct {
	Param string
	Low   time.Time
	High  time.Time
}

// Number is a numeric value with the interval its precision implies:
// 100 covers [99.5, 100.5). Value keeps the text.
type Number struct {
	Param string
	Value string
	Low   float64
	High  float64
}

// Quantity is a Quantity value, in its written unit and, when it can be
// converted, in canonical UCUM units (CanonicalCode/CanonicalValue).
type Quantity struct {
	Param          string
	System         string
	Code           string
	Unit           string
	Value          string
	Low            float64
	High           float64
	CanonicalCode  string
	CanonicalValue float64
}

// Reference is a reference value. For a relative (or resolvable local
// absolute) reference, TargetType and TargetID are set; URL holds the
// reference as written (absolute URLs, canonicals with their version
// stripped into Version). Identifier-only references are indexed as Tokens
// under the same Param with the :identifier modifier handled by search.
type Reference struct {
	Param      string
	TargetType string
	TargetID   string
	URL        string
	Version    string
}

// URI is a uri, url or canonical value.
type URI struct {
	Param string
	Value string
}

// Composite is one combination of a composite parameter's components
// (https://hl7.org/fhir/R4/search.html#composite): each component is stored
// in its own typed form.
type Composite struct {
	Param      string
	Components []CompositePart
}

// CompositePart is one component value of a Composite.
type CompositePart struct {
	Token    *Token
	String   *String
	Date     *Date
	Number   *Number
	Quantity *Quantity
	Ref      *Reference
	URI      *URI
}

// CompartmentRef says this resource is in a compartment
// (https://hl7.org/fhir/R4/compartmentdefinition.html): Type is
// "Patient", "Encounter", "RelatedPerson", "Practitioner" or "Device".
type CompartmentRef struct {
	Type string
	ID   string
}
