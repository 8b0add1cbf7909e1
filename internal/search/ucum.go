package search

import "github.com/openchart/openchart/internal/store"

const ucumSystem = "http://unitsofmeasure.org"

// ucumFactors converts common UCUM units to one unit per dimension
// (https://ucum.org/ucum, base and derived units): value * factor is the
// value in the canonical unit. The table is deliberately small; a quantity
// in any other unit keeps only its written unit.
var ucumFactors = map[string]struct {
	canon  string
	factor float64
}{
	"kg": {"g", 1e3}, "g": {"g", 1}, "mg": {"g", 1e-3}, "ug": {"g", 1e-6}, "ng": {"g", 1e-9},
	"[lb_av]": {"g", 453.59237}, "[oz_av]": {"g", 28.349523125},
	"m": {"m", 1}, "cm": {"m", 1e-2}, "mm": {"m", 1e-3}, "km": {"m", 1e3},
	"[in_i]": {"m", 0.0254}, "[ft_i]": {"m", 0.3048},
	"s": {"s", 1}, "ms": {"s", 1e-3}, "min": {"s", 60}, "h": {"s", 3600}, "d": {"s", 86400},
	"wk": {"s", 604800}, "mo": {"s", 2629800}, "a": {"s", 31557600},
	"L": {"L", 1}, "dL": {"L", 0.1}, "mL": {"L", 1e-3}, "uL": {"L", 1e-6},
	"Cel": {"Cel", 1}, "K": {"Cel", 1}, "[degF]": {"Cel", 1},
	"mg/dL": {"g/L", 1e-2}, "g/dL": {"g/L", 10}, "g/L": {"g/L", 1}, "mg/L": {"g/L", 1e-3},
	"mm[Hg]": {"mm[Hg]", 1}, "kg/m2": {"kg/m2", 1}, "%": {"%", 1},
}

// toCanonical converts a value in UCUM unit code to the table's canonical
// unit; ok is false for a unit not in the table.
func toCanonical(code string, v float64) (canon string, out float64, ok bool) {
	f, ok := ucumFactors[code]
	if !ok {
		return "", 0, false
	}
	switch code {
	case "K":
		return f.canon, v - 273.15, true
	case "[degF]":
		return f.canon, (v - 32) * 5 / 9, true
	}
	return f.canon, v * f.factor, true
}

// canonicalize sets the canonical UCUM form of a stored quantity when its
// unit is in the table.
func canonicalize(q *store.Quantity, value float64) {
	if q.System != ucumSystem {
		return
	}
	if canon, v, ok := toCanonical(q.Code, value); ok {
		q.CanonicalCode, q.CanonicalValue = canon, v
	}
}

// canonicalQuantity rewrites a quantity search value given in a UCUM unit
// of the table into the table's canonical unit, so that it matches stored
// quantities written in any unit of the same dimension through their
// canonical form (https://hl7.org/fhir/R4/search.html#quantity: "the
// server may choose to convert"). Only an explicit UCUM system is
// converted: a bare code may also be matched against unit texts.
func canonicalQuantity(p *store.Predicate) {
	if p.System != ucumSystem {
		return
	}
	canon, num, ok := toCanonical(p.Code, p.Number)
	if !ok || canon == p.Code {
		return
	}
	_, lo, _ := toCanonical(p.Code, p.NumLow)
	_, hi, _ := toCanonical(p.Code, p.NumHigh)
	p.Code, p.Number, p.NumLow, p.NumHigh = canon, num, lo, hi
}
