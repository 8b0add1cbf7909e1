package sqlgen

import (
	"math"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// cond is the condition on one row (alias a) of p's index table.
func (b *builder) cond(a string, p *store.Predicate) (string, error) {
	switch p.Kind {
	case store.KindToken:
		return b.tokenCond(a, p)
	case store.KindString:
		switch p.Op {
		case store.OpEq:
			return b.prefix(a+".norm", p.Norm), nil
		case store.OpExact:
			return a + ".exact = " + b.arg(p.Exact), nil
		case store.OpContains:
			return b.d.Contains(a+".norm", b.arg(p.Norm)), nil
		}
	case store.KindURI:
		v := p.Exact
		switch p.Op {
		case store.OpEq, store.OpExact:
			return a + ".value = " + b.arg(v), nil
		case store.OpAbove:
			return a + ".value <> '' AND " + b.d.HasPrefix(b.arg(v), a+".value"), nil
		case store.OpBelow:
			return b.prefix(a+".value", v), nil
		case store.OpContains:
			return b.d.Contains(a+".value", b.arg(v)), nil
		}
	case store.KindDate:
		return b.dateCond(p, a+".low", a+".high")
	case store.KindNumber:
		return b.numberCond(p, a+".low", a+".high")
	case store.KindQuantity:
		return b.quantityCond(a, p)
	case store.KindReference:
		return b.referenceCond(a, p), nil
	}
	return "", errs.Errorf(errs.NotSupported, "search parameter %q does not support this modifier or prefix", p.Param)
}

func (b *builder) tokenCond(a string, p *store.Predicate) (string, error) {
	switch p.Op {
	case store.OpEq, store.OpNot:
		return b.tokenMatch(a, p.AnySystem, p.System, p.Code), nil
	case store.OpText:
		return b.prefix(a+".norm", strings.ToLower(p.Norm)), nil
	case store.OpOfType:
		return a + ".system = " + b.arg(p.System+"|"+p.Code) + " AND " + a + ".code = " + b.arg(p.Exact), nil
	case store.OpIn, store.OpAbove, store.OpBelow:
		if len(p.Codes) == 0 {
			return "1 = 0", nil
		}
		ors := make([]string, len(p.Codes))
		for i, c := range p.Codes {
			ors[i] = "(" + b.tokenMatch(a, c.System == "", c.System, c.Code) + ")"
		}
		return "(" + strings.Join(ors, " OR ") + ")", nil
	}
	return "", errs.Errorf(errs.NotSupported, "token parameter %q does not support this modifier", p.Param)
}

// tokenMatch is system|code matching (https://hl7.org/fhir/R4/search.html#token).
func (b *builder) tokenMatch(a string, anySystem bool, system, code string) string {
	switch {
	case anySystem:
		return a + ".code = " + b.arg(code)
	case code == "":
		return a + ".system = " + b.arg(system)
	}
	return a + ".system = " + b.arg(system) + " AND " + a + ".code = " + b.arg(code)
}

// prefix is a starts-with match as a byte-order range, which both engines
// answer from a B-tree index.
func (b *builder) prefix(col, p string) string {
	if p == "" {
		return col + " IS NOT NULL"
	}
	return col + " >= " + b.arg(p) + " AND " + col + " < " + b.arg(p+prefixEnd)
}

// interval compares a stored range [lo, hi] with the search range [ql, qh]
// by the prefixes of https://hl7.org/fhir/R4/search.html#prefix; al and ah
// bound the widened range of ap. halfOpen says the ranges exclude their
// upper end (numbers), which changes sa, eb and ap at the edges.
func (b *builder) interval(op store.Op, lo, hi string, ql, qh, al, ah any, halfOpen bool) (string, error) {
	// Placeholders are added only when used: PostgreSQL cannot type an
	// unused parameter.
	var pl, ph string
	L := func() string {
		if pl == "" {
			pl = b.arg(ql)
		}
		return pl
	}
	H := func() string {
		if ph == "" {
			ph = b.arg(qh)
		}
		return ph
	}
	eq := func() string { return lo + " >= " + L() + " AND " + hi + " <= " + H() }
	switch op {
	case store.OpEq:
		return eq(), nil
	case store.OpNe:
		return "NOT (" + eq() + ")", nil
	case store.OpGt:
		return hi + " > " + H(), nil
	case store.OpLt:
		return lo + " < " + L(), nil
	case store.OpGe:
		return "(" + hi + " > " + H() + " OR (" + eq() + "))", nil
	case store.OpLe:
		return "(" + lo + " < " + L() + " OR (" + eq() + "))", nil
	case store.OpSa:
		if halfOpen {
			return lo + " >= " + H(), nil
		}
		return lo + " > " + H(), nil
	case store.OpEb:
		if halfOpen {
			return hi + " <= " + L(), nil
		}
		return hi + " < " + L(), nil
	case store.OpAp:
		if halfOpen {
			return lo + " < " + b.arg(ah) + " AND " + hi + " > " + b.arg(al), nil
		}
		return lo + " <= " + b.arg(ah) + " AND " + hi + " >= " + b.arg(al), nil
	}
	return "", errs.Errorf(errs.NotSupported, "this comparison is not supported on this parameter")
}

// dateCond: ap widens the search range by 10% of its distance from now
// (https://hl7.org/fhir/R4/search.html#prefix).
func (b *builder) dateCond(p *store.Predicate, lo, hi string) (string, error) {
	ql, qh := Micros(p.Low), Micros(p.High)
	al, ah := ql, qh
	if p.Op == store.OpAp {
		now := Micros(time.Now())
		gap := now - ql
		if now > qh {
			gap = now - qh
		} else if now >= ql {
			gap = 0
		}
		if gap < 0 {
			gap = -gap
		}
		al, ah = ql-gap/10, qh+gap/10
	}
	return b.interval(p.Op, lo, hi, ql, qh, al, ah, false)
}

// numberCond: ap widens to ±10% of the value, at least the precision range.
func (b *builder) numberCond(p *store.Predicate, lo, hi string) (string, error) {
	d := math.Abs(p.Number) / 10
	al, ah := math.Min(p.NumLow, p.Number-d), math.Max(p.NumHigh, p.Number+d)
	return b.interval(p.Op, lo, hi, p.NumLow, p.NumHigh, al, ah, true)
}

// quantityCond matches the value in the written unit, or, when the search
// unit is the stored canonical UCUM unit, the canonical value.
func (b *builder) quantityCond(a string, p *store.Predicate) (string, error) {
	rng, err := b.numberCond(p, a+".low", a+".high")
	if err != nil || p.Code == "" {
		return rng, err
	}
	code := b.arg(p.Code)
	var unit string
	if p.System != "" {
		unit = a + ".system = " + b.arg(p.System) + " AND " + a + ".code = " + code
	} else {
		unit = "(" + a + ".code = " + code + " OR " + a + ".unit = " + code + ")"
	}
	out := "(" + unit + " AND " + rng + ")"
	if p.System == "" || p.System == "http://unitsofmeasure.org" {
		canon, err := b.numberCond(p, a+".canon_value", a+".canon_value")
		if err != nil {
			return "", err
		}
		out = "(" + out + " OR (" + a + ".canon_code = " + code + " AND " + canon + "))"
	}
	return out, nil
}

func (b *builder) referenceCond(a string, p *store.Predicate) string {
	var parts []string
	switch {
	case p.URL != "":
		parts = append(parts, a+".url = "+b.arg(p.URL))
	case p.TargetID != "":
		parts = append(parts, a+".target_id = "+b.arg(p.TargetID))
		if p.TargetType != "" {
			parts = append(parts, a+".target_type = "+b.arg(p.TargetType))
		}
	case p.TargetType != "":
		parts = append(parts, a+".target_type = "+b.arg(p.TargetType))
	default:
		return "1 = 0"
	}
	if p.Version != "" {
		parts = append(parts, a+".version = "+b.arg(p.Version))
	}
	return strings.Join(parts, " AND ")
}

// sortExpr is the value a resource sorts by: for a parameter with several
// values the lowest ascending and the highest descending
// (https://hl7.org/fhir/R4/search.html#sort); NULL when it has none.
func (b *builder) sortExpr(r string, k store.Sort) (string, error) {
	kind := k.Kind
	switch k.Param {
	case "_id":
		kind = store.KindID
	case "_lastUpdated":
		kind = store.KindLastUpdated
	}
	agg := "min"
	if k.Desc {
		agg = "max"
	}
	var col string
	switch kind {
	case store.KindID:
		return r + ".id", nil
	case store.KindLastUpdated:
		return r + ".last_updated", nil
	case store.KindToken:
		col = "code"
	case store.KindString:
		col = "norm"
	case store.KindURI:
		col = "value"
	case store.KindReference:
		col = "target_type || '/' || target_id"
	case store.KindDate, store.KindNumber, store.KindQuantity:
		col = "low"
		if k.Desc {
			col = "high"
		}
	default:
		return "", errs.Errorf(errs.NotSupported, "cannot sort by %q", k.Param)
	}
	x := b.newAlias("o")
	col = x + "." + col
	if kind == store.KindReference {
		col = x + ".target_type || '/' || " + x + ".target_id"
	}
	return "(SELECT " + agg + "(" + col + ") FROM " + table(kind) + " " + x + " WHERE " + x + ".rkey = " + r +
		".rkey AND " + x + ".param = " + b.arg(k.Param) + ")", nil
}
