package fhirpath

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

const ucumSystem = "http://unitsofmeasure.org"

// Quantity is a FHIRPath Quantity: a decimal value with a UCUM unit or a
// calendar duration keyword ("year", "days", ...). The default unit is "1".
type Quantity struct {
	Value Decimal
	Unit  string
}

// calendarUCUM maps the calendar duration keywords of FHIRPath §4.1 (Quantity)
// to their UCUM codes.
var calendarUCUM = map[string]string{
	"year": "a", "years": "a", "month": "mo", "months": "mo", "week": "wk", "weeks": "wk",
	"day": "d", "days": "d", "hour": "h", "hours": "h", "minute": "min", "minutes": "min",
	"second": "s", "seconds": "s", "millisecond": "ms", "milliseconds": "ms",
}

// calendarSingular maps a calendar keyword to its singular form.
func calendarSingular(u string) (string, bool) {
	if _, ok := calendarUCUM[u]; !ok {
		return "", false
	}
	return strings.TrimSuffix(u, "s"), true
}

// String renders the quantity like toString(): "1 'wk'" or "1 week".
func (q Quantity) String() string {
	if _, ok := calendarUCUM[q.Unit]; ok {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// quantityFromNode reads a FHIR Quantity (or Age, Duration, ...) JSON object.
// Without a known type it accepts objects that look like a Quantity.
func quantityFromNode(m map[string]any, typ string) (Quantity, bool) {
	switch typ {
	case "Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity", "":
	default:
		return Quantity{}, false
	}
	v, ok := m["value"]
	if !ok {
		return Quantity{}, false
	}
	d, ok := toDecimalJSON(v)
	if !ok {
		return Quantity{}, false
	}
	unit := "1"
	if c, ok := m["code"].(string); ok && (m["system"] == nil || m["system"] == ucumSystem) {
		unit = c
	} else if u, ok := m["unit"].(string); ok {
		unit = u
	} else if typ == "" {
		return Quantity{}, false
	}
	return Quantity{Value: d, Unit: unit}, true
}

// dims are exponents of the base dimensions: m, g, s, mol, K, A, cd,
// calendar month, arbitrary unit.
type dims [9]int8

const dimCalMonth = 7

type unitDef struct {
	factor *big.Rat
	dim    dims
}

func ud(f string, d dims) unitDef {
	r, ok := new(big.Rat).SetString(f)
	if !ok {
		panic("bad factor " + f)
	}
	return unitDef{r, d}
}

// ucumAtoms covers the UCUM units that clinical data uses most; metric ones
// (true) take SI prefixes. Units outside this set compare only when spelled
// identically.
var ucumAtoms = map[string]struct {
	def    unitDef
	metric bool
}{
	"m":       {ud("1", dims{1}), true},
	"g":       {ud("1", dims{0, 1}), true},
	"s":       {ud("1", dims{0, 0, 1}), true},
	"mol":     {ud("1", dims{0, 0, 0, 1}), true},
	"eq":      {ud("1", dims{0, 0, 0, 1}), true},
	"K":       {ud("1", dims{0, 0, 0, 0, 1}), true},
	"A":       {ud("1", dims{0, 0, 0, 0, 0, 1}), true},
	"cd":      {ud("1", dims{0, 0, 0, 0, 0, 0, 1}), true},
	"l":       {ud("1/1000", dims{3}), true},
	"L":       {ud("1/1000", dims{3}), true},
	"min":     {ud("60", dims{0, 0, 1}), false},
	"h":       {ud("3600", dims{0, 0, 1}), false},
	"d":       {ud("86400", dims{0, 0, 1}), false},
	"wk":      {ud("604800", dims{0, 0, 1}), false},
	"mo":      {ud("2629800", dims{0, 0, 1}), false},
	"a":       {ud("31557600", dims{0, 0, 1}), false},
	"Hz":      {ud("1", dims{0, 0, -1}), true},
	"N":       {ud("1000", dims{1, 1, -2}), true},
	"Pa":      {ud("1000", dims{-1, 1, -2}), true},
	"bar":     {ud("100000000", dims{-1, 1, -2}), true},
	"J":       {ud("1000", dims{2, 1, -2}), true},
	"W":       {ud("1000", dims{2, 1, -3}), true},
	"cal":     {ud("4184", dims{2, 1, -2}), true},
	"m[Hg]":   {ud("133322000", dims{-1, 1, -2}), true},
	"[in_i]":  {ud("0.0254", dims{1}), false},
	"[ft_i]":  {ud("0.3048", dims{1}), false},
	"[yd_i]":  {ud("0.9144", dims{1}), false},
	"[mi_i]":  {ud("1609.344", dims{1}), false},
	"[lb_av]": {ud("453.59237", dims{0, 1}), false},
	"[oz_av]": {ud("28.349523125", dims{0, 1}), false},
	"[gr]":    {ud("0.06479891", dims{0, 1}), false},
	"%":       {ud("1/100", dims{}), false},
	"[ppm]":   {ud("1/1000000", dims{}), false},
	"U":       {ud("1/60000000", dims{0, 0, -1, 1}), true},
	"[iU]":    {ud("1", dims{0, 0, 0, 0, 0, 0, 0, 0, 1}), true},
	"[IU]":    {ud("1", dims{0, 0, 0, 0, 0, 0, 0, 0, 1}), true},
	"kat":     {ud("1", dims{0, 0, -1, 1}), true},
	"[drp]":   {ud("1/20000000", dims{3}), false},
}

var ucumPrefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9", "M": "1e6",
	"k": "1e3", "h": "1e2", "da": "10", "d": "1/10", "c": "1/100", "m": "1/1000",
	"u": "1/1000000", "n": "1/1000000000", "p": "1/1000000000000", "f": "1/1000000000000000",
	"a": "1/1000000000000000000",
}

func ratFromString(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

// canonicalUnit converts a unit (UCUM expression or calendar keyword) to a
// factor and dimension vector.
func canonicalUnit(u string) (unitDef, error) {
	if c, ok := calendarUCUM[u]; ok {
		switch c {
		case "a":
			return ud("12", dims{dimCalMonth: 1}), nil
		case "mo":
			return ud("1", dims{dimCalMonth: 1}), nil
		}
		u = c
	}
	p := &unitParser{s: u}
	d, err := p.expr()
	if err == nil && p.i != len(p.s) {
		err = fmt.Errorf("unexpected %q in unit %q", p.s[p.i:], u)
	}
	if err == nil && d.factor.Sign() == 0 {
		err = fmt.Errorf("unit %q has a zero factor", u)
	}
	return d, err
}

type unitParser struct {
	s string
	i int
}

func (p *unitParser) expr() (unitDef, error) {
	acc := unitDef{factor: big.NewRat(1, 1)}
	op := byte('.')
	if p.i < len(p.s) && p.s[p.i] == '/' {
		op = '/'
		p.i++
	}
	for {
		t, err := p.term()
		if err != nil {
			return acc, err
		}
		acc = combine(acc, t, op == '/')
		if p.i >= len(p.s) || (p.s[p.i] != '.' && p.s[p.i] != '/') {
			return acc, nil
		}
		op = p.s[p.i]
		p.i++
	}
}

func combine(a, b unitDef, div bool) unitDef {
	r := unitDef{factor: new(big.Rat)}
	if div {
		r.factor.Quo(a.factor, b.factor)
	} else {
		r.factor.Mul(a.factor, b.factor)
	}
	for i := range a.dim {
		if div {
			r.dim[i] = a.dim[i] - b.dim[i]
		} else {
			r.dim[i] = a.dim[i] + b.dim[i]
		}
	}
	return r
}

func (p *unitParser) term() (unitDef, error) {
	if p.i >= len(p.s) {
		return unitDef{}, fmt.Errorf("unit %q ends early", p.s)
	}
	var base unitDef
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		d, err := p.expr()
		if err != nil {
			return d, err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return d, fmt.Errorf("missing ) in unit %q", p.s)
		}
		p.i++
		base = d
	case c == '{':
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return unitDef{}, fmt.Errorf("unclosed annotation in unit %q", p.s)
		}
		p.i += end + 1
		return unitDef{factor: big.NewRat(1, 1)}, nil
	case c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		n := ratFromString(p.s[start:p.i])
		if p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '^') && p.s[start:p.i] == "10" {
			p.i++
			e := p.exponent()
			n = new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs8(e))), nil))
			if e < 0 {
				n.Inv(n)
			}
		}
		if n.Sign() == 0 {
			return unitDef{}, fmt.Errorf("zero factor in unit %q", p.s)
		}
		base = unitDef{factor: n}
		p.skipAnnotation()
		return base, nil
	default:
		start := p.i
		depth := 0
		for p.i < len(p.s) {
			ch := p.s[p.i]
			if ch == '[' {
				depth++
			} else if ch == ']' {
				depth--
			} else if depth == 0 && (strings.IndexByte("./(){}+-", ch) >= 0 || ch >= '0' && ch <= '9') {
				break
			}
			p.i++
		}
		d, err := lookupAtom(p.s[start:p.i])
		if err != nil {
			return d, err
		}
		base = d
	}
	if e := p.exponent(); e != 1 {
		r := unitDef{factor: big.NewRat(1, 1)}
		for k := int8(0); k < abs8(e); k++ {
			r = combine(r, base, false)
		}
		if e < 0 {
			r = combine(unitDef{factor: big.NewRat(1, 1)}, r, true)
		}
		base = r
	}
	p.skipAnnotation()
	return base, nil
}

func (p *unitParser) skipAnnotation() {
	if p.i < len(p.s) && p.s[p.i] == '{' {
		if end := strings.IndexByte(p.s[p.i:], '}'); end >= 0 {
			p.i += end + 1
		}
	}
}

func abs8(e int8) int8 {
	if e < 0 {
		return -e
	}
	return e
}

// exponent reads an optional signed integer exponent (default 1).
func (p *unitParser) exponent() int8 {
	start := p.i
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		p.i++
	}
	ds := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if ds == p.i {
		p.i = start
		return 1
	}
	var n int8
	for _, c := range p.s[ds:p.i] {
		n = n*10 + int8(c-'0')
	}
	if p.s[start] == '-' {
		n = -n
	}
	return n
}

func lookupAtom(a string) (unitDef, error) {
	if a == "" {
		return unitDef{}, fmt.Errorf("empty unit")
	}
	if at, ok := ucumAtoms[a]; ok {
		return at.def, nil
	}
	for _, n := range []int{2, 1} {
		if len(a) <= n {
			continue
		}
		pf, ok := ucumPrefixes[a[:n]]
		if !ok {
			continue
		}
		if at, ok := ucumAtoms[a[n:]]; ok && at.metric {
			return unitDef{factor: new(big.Rat).Mul(ratFromString(pf), at.def.factor), dim: at.def.dim}, nil
		}
	}
	return unitDef{}, fmt.Errorf("unknown unit %q", a)
}

// convertQuantity expresses q in unit `to`; ok is false when the units are
// not comparable. Calendar years and months do not convert to UCUM 'a' and
// 'mo' (FHIRPath §6.1 quantity equality).
func convertQuantity(q Quantity, to string) (Decimal, bool) {
	if q.Unit == to {
		return q.Value, true
	}
	if s1, ok := calendarSingular(q.Unit); ok {
		if s2, ok := calendarSingular(to); ok && s1 == s2 {
			return q.Value, true
		}
	}
	from, err1 := canonicalUnit(q.Unit)
	dest, err2 := canonicalUnit(to)
	if err1 != nil || err2 != nil || from.dim != dest.dim {
		return Decimal{}, false
	}
	f := new(big.Rat).Quo(from.factor, dest.factor)
	r := new(big.Rat).Mul(q.Value.rat(), f)
	return decimalFromRat(r, q.Value.scale), true
}

// compareQuantities orders a and b after unit conversion.
func compareQuantities(a, b Quantity) (int, bool) {
	bv, ok := convertQuantity(b, a.Unit)
	if !ok {
		return 0, false
	}
	return a.Value.Cmp(bv), true
}

var quantityText = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-zA-Z]+))?$`)

// parseQuantity parses the text form used by toQuantity(): "5.5 'mg'", "3 days", "4".
func parseQuantity(s string) (Quantity, bool) {
	m := quantityText.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Quantity{}, false
	}
	d, err := ParseDecimal(m[1])
	if err != nil {
		return Quantity{}, false
	}
	unit := "1"
	switch {
	case m[2] != "":
		unit = m[2]
	case m[3] != "":
		if _, ok := calendarUCUM[m[3]]; !ok {
			return Quantity{}, false
		}
		unit = m[3]
	}
	return Quantity{Value: d, Unit: unit}, true
}

// mulUnits and divUnits build the unit of a product or quotient.
func mulUnits(a, b string) string {
	a, b = ucumOf(a), ucumOf(b)
	switch {
	case a == "1":
		return b
	case b == "1":
		return a
	}
	return wrapUnit(a) + "." + wrapUnit(b)
}

func divUnits(a, b string) string {
	a, b = ucumOf(a), ucumOf(b)
	switch {
	case a == b:
		return "1"
	case b == "1":
		return a
	}
	return wrapUnit(a) + "/" + wrapUnit(b)
}

func ucumOf(u string) string {
	if c, ok := calendarUCUM[u]; ok {
		return c
	}
	return u
}

func wrapUnit(u string) string {
	if strings.ContainsAny(u, "./") {
		return "(" + u + ")"
	}
	return u
}

func toDecimalJSON(v any) (Decimal, bool) {
	switch x := v.(type) {
	case interface{ String() string }:
		d, err := ParseDecimal(x.String())
		return d, err == nil
	case float64:
		return DecimalFromFloat(x)
	case int:
		return DecimalFromInt(int64(x)), true
	case int64:
		return DecimalFromInt(x), true
	}
	return Decimal{}, false
}
