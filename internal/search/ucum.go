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

// canonicalize sets the canonical UCUM form of a quantity when its unit is
// in the table.
func canonicalize(q *store.Quantity, value float64) {
	if q.System != ucumSystem {
		return
	}
	f, ok := ucumFactors[q.Code]
	if !ok {
		return
	}
	q.CanonicalCode = f.canon
	switch q.Code {
	case "K":
		q.CanonicalValue = value - 273.15
	case "[degF]":
		q.CanonicalValue = (value - 32) * 5 / 9
	default:
		q.CanonicalValue = value * f.factor
	}
}
