package sqlgen

import (
	"slices"
	"strings"
	"sync"

	"github.com/openchart/openchart/internal/store"
)

// Rows is a store.Index flattened into the rows of the index side tables.
// Comp is 0 for ordinary rows; a component of the g-th composite value
// (g from 1) at position i is stored in its typed table under the composite
// parameter's code with Comp = g*CompStride + i, so that the components of
// one composite value can be joined back together.
type Rows struct {
	Tokens       []TokenRow
	Strings      []StringRow
	Dates        []DateRow
	Numbers      []NumberRow
	Quantities   []QuantityRow
	References   []ReferenceRow
	URIs         []URIRow
	Compartments []store.CompartmentRef
}

// CompStride separates composite values from component positions in Comp.
const CompStride = 16

// TokenRow is a row of idx_token.
type TokenRow struct {
	Param, System, Code string
	Comp                int32
}

// StringRow is a row of idx_string.
type StringRow struct {
	Param, Norm, Exact string
	Comp               int32
}

// DateRow is a row of idx_date; Low and High are Unix microseconds.
type DateRow struct {
	Param     string
	Low, High int64
	Comp      int32
}

// NumberRow is a row of idx_number.
type NumberRow struct {
	Param     string
	Low, High float64
	Comp      int32
}

// QuantityRow is a row of idx_quantity.
type QuantityRow struct {
	Param, System, Code, Unit string
	Low, High                 float64
	CanonCode                 string
	CanonValue                float64
	Comp                      int32
}

// ReferenceRow is a row of idx_reference.
type ReferenceRow struct {
	Param, TargetType, TargetID, URL, Version string
	Comp                                      int32
}

// URIRow is a row of idx_uri.
type URIRow struct {
	Param, Value string
	Comp         int32
}

// TextSuffix and OfTypeSuffix name the derived parameters that carry token
// texts (for :text) and identifier types (for :of-type, see store.Token).
const (
	TextSuffix   = ":text"
	OfTypeSuffix = ":of-type"
)

// Flatten turns ix into table rows. Token rows are deduplicated on
// (param, system, code) so that a count of matching rows for an exact
// system|code is a count of resources; token texts become string rows under
// Param+":text", lower-cased, so :text is a prefix search on an index.
func Flatten(ix *store.Index) *Rows {
	// Every slice is allocated once at its final size (composites add at
	// most one row per component), and duplicates are found by scanning
	// the rows already kept: a resource has tens of token rows, for which a
	// scan costs less than hashing into a map.
	var nTok, nStr, nDate, nNum, nQty, nRef, nURI int
	for _, c := range ix.Composites {
		for i, p := range c.Components {
			if i >= CompStride {
				break
			}
			switch {
			case p.Token != nil:
				nTok++
			case p.String != nil:
				nStr++
			case p.Date != nil:
				nDate++
			case p.Number != nil:
				nNum++
			case p.Quantity != nil:
				nQty++
			case p.Ref != nil:
				nRef++
			case p.URI != nil:
				nURI++
			}
		}
	}
	nText := 0
	for i := range ix.Tokens {
		if ix.Tokens[i].Text != "" {
			nText++
		}
	}
	r := &Rows{
		Tokens:       make([]TokenRow, 0, len(ix.Tokens)+nTok),
		Strings:      make([]StringRow, 0, len(ix.Strings)+nText+nStr),
		Dates:        make([]DateRow, 0, len(ix.Dates)+nDate),
		Numbers:      make([]NumberRow, 0, len(ix.Numbers)+nNum),
		Quantities:   make([]QuantityRow, 0, len(ix.Quantities)+nQty),
		References:   make([]ReferenceRow, 0, len(ix.References)+nRef),
		URIs:         make([]URIRow, 0, len(ix.URIs)+nURI),
		Compartments: make([]store.CompartmentRef, 0, len(ix.Compartments)),
	}
	// Resources with many tokens (code systems, value sets) dedupe with
	// maps instead, as a scan would be quadratic.
	var seen map[TokenRow]struct{}
	var texts map[[2]string]struct{}
	if cap(r.Tokens) > smallDedupe {
		seen = make(map[TokenRow]struct{}, cap(r.Tokens))
		texts = make(map[[2]string]struct{}, nText)
	}
	addToken := func(t *store.Token, param string, comp int32) {
		row := TokenRow{param, t.System, t.Code, comp}
		if seen != nil {
			if _, dup := seen[row]; !dup {
				seen[row] = struct{}{}
				r.Tokens = append(r.Tokens, row)
			}
		} else if !slices.Contains(r.Tokens, row) {
			r.Tokens = append(r.Tokens, row)
		}
		if t.Text != "" && comp == 0 {
			// Only token texts are in r.Strings yet: ix.Strings follow.
			norm := strings.ToLower(t.Text)
			tparam := textParam(param)
			if texts != nil {
				k := [2]string{tparam, norm}
				if _, dup := texts[k]; dup {
					return
				}
				texts[k] = struct{}{}
			} else if slices.ContainsFunc(r.Strings, func(s StringRow) bool { return s.Param == tparam && s.Norm == norm }) {
				return
			}
			r.Strings = append(r.Strings, StringRow{tparam, norm, t.Text, 0})
		}
	}
	for i := range ix.Tokens {
		addToken(&ix.Tokens[i], ix.Tokens[i].Param, 0)
	}
	for _, s := range ix.Strings {
		r.Strings = append(r.Strings, StringRow{s.Param, s.Norm, s.Exact, 0})
	}
	for _, d := range ix.Dates {
		r.Dates = append(r.Dates, DateRow{d.Param, Micros(d.Low), Micros(d.High), 0})
	}
	for _, n := range ix.Numbers {
		r.Numbers = append(r.Numbers, NumberRow{n.Param, n.Low, n.High, 0})
	}
	for _, q := range ix.Quantities {
		r.Quantities = append(r.Quantities, quantityRow(&q, q.Param, 0))
	}
	for _, x := range ix.References {
		r.References = append(r.References, ReferenceRow{x.Param, x.TargetType, x.TargetID, x.URL, x.Version, 0})
	}
	for _, u := range ix.URIs {
		r.URIs = append(r.URIs, URIRow{u.Param, u.Value, 0})
	}
	for g, c := range ix.Composites {
		for i, p := range c.Components {
			if i >= CompStride {
				break
			}
			comp := int32((g+1)*CompStride + i)
			switch {
			case p.Token != nil:
				addToken(p.Token, c.Param, comp)
			case p.String != nil:
				r.Strings = append(r.Strings, StringRow{c.Param, p.String.Norm, p.String.Exact, comp})
			case p.Date != nil:
				r.Dates = append(r.Dates, DateRow{c.Param, Micros(p.Date.Low), Micros(p.Date.High), comp})
			case p.Number != nil:
				r.Numbers = append(r.Numbers, NumberRow{c.Param, p.Number.Low, p.Number.High, comp})
			case p.Quantity != nil:
				r.Quantities = append(r.Quantities, quantityRow(p.Quantity, c.Param, comp))
			case p.Ref != nil:
				x := p.Ref
				r.References = append(r.References, ReferenceRow{c.Param, x.TargetType, x.TargetID, x.URL, x.Version, comp})
			case p.URI != nil:
				r.URIs = append(r.URIs, URIRow{c.Param, p.URI.Value, comp})
			}
		}
	}
	if len(ix.Compartments) > smallDedupe {
		cseen := make(map[store.CompartmentRef]struct{}, len(ix.Compartments))
		for _, c := range ix.Compartments {
			if _, dup := cseen[c]; !dup {
				cseen[c] = struct{}{}
				r.Compartments = append(r.Compartments, c)
			}
		}
		return r
	}
	for _, c := range ix.Compartments {
		if !slices.Contains(r.Compartments, c) {
			r.Compartments = append(r.Compartments, c)
		}
	}
	return r
}

// smallDedupe is the number of rows up to which Flatten finds duplicates
// by scanning.
const smallDedupe = 64

// textParams caches Param+TextSuffix for the parameters seen (a fixed set:
// those of the registry), so flattening allocates no parameter names.
var textParams sync.Map

func textParam(param string) string {
	if v, ok := textParams.Load(param); ok {
		return v.(string)
	}
	v, _ := textParams.LoadOrStore(param, param+TextSuffix)
	return v.(string)
}

func quantityRow(q *store.Quantity, param string, comp int32) QuantityRow {
	return QuantityRow{param, q.System, q.Code, q.Unit, q.Low, q.High, q.CanonicalCode, q.CanonicalValue, comp}
}

// Len is the number of rows.
func (r *Rows) Len() int {
	return len(r.Tokens) + len(r.Strings) + len(r.Dates) + len(r.Numbers) + len(r.Quantities) +
		len(r.References) + len(r.URIs) + len(r.Compartments)
}
