package sqlgen

import (
	"strings"

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
	r := &Rows{}
	type tk struct {
		param, system, code string
		comp                int32
	}
	seen := make(map[tk]struct{}, len(ix.Tokens))
	texts := map[[2]string]struct{}{}
	addToken := func(t *store.Token, param string, comp int32) {
		k := tk{param, t.System, t.Code, comp}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			r.Tokens = append(r.Tokens, TokenRow{param, t.System, t.Code, comp})
		}
		if t.Text != "" && comp == 0 {
			norm := strings.ToLower(t.Text)
			tkey := [2]string{param, norm}
			if _, dup := texts[tkey]; !dup {
				texts[tkey] = struct{}{}
				r.Strings = append(r.Strings, StringRow{param + TextSuffix, norm, t.Text, 0})
			}
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
	cseen := map[store.CompartmentRef]struct{}{}
	for _, c := range ix.Compartments {
		if _, dup := cseen[c]; !dup {
			cseen[c] = struct{}{}
			r.Compartments = append(r.Compartments, c)
		}
	}
	return r
}

func quantityRow(q *store.Quantity, param string, comp int32) QuantityRow {
	return QuantityRow{param, q.System, q.Code, q.Unit, q.Low, q.High, q.CanonicalCode, q.CanonicalValue, comp}
}

// Len is the number of rows.
func (r *Rows) Len() int {
	return len(r.Tokens) + len(r.Strings) + len(r.Dates) + len(r.Numbers) + len(r.Quantities) +
		len(r.References) + len(r.URIs) + len(r.Compartments)
}
