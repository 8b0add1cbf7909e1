package fhirpath

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number: coef × 10^-scale. Values are immutable;
// every operation returns a new Decimal. The scale is kept so that "1.0" and
// "1" print as written and so that precision-aware functions (lowBoundary,
// equivalence) know how many digits the author gave (FHIRPath §4.1 Decimal).
type Decimal struct {
	coef  *big.Int
	scale int32
}

// divisionScale is the number of fraction digits kept by division; FHIRPath
// asks for at least 8 digits of decimal precision.
const divisionScale = 8

var bigTen = big.NewInt(10)

// pow10 returns 10^n as a new big.Int.
func pow10(n int32) *big.Int {
	if n <= 0 {
		return big.NewInt(1)
	}
	if n < 19 {
		return big.NewInt(int64(math.Pow10(int(n))))
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// DecimalFromInt returns the Decimal equal to i.
func DecimalFromInt(i int64) Decimal { return Decimal{coef: big.NewInt(i)} }

// ParseDecimal parses decimal text such as "-12.50" or JSON exponent forms like "1e3".
func ParseDecimal(s string) (Decimal, error) {
	orig := s
	exp := int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil || e > 400 || e < -400 {
			return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
		}
		exp = e
		s = s[:i]
	}
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
	}
	c, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
	}
	if neg {
		c.Neg(c)
	}
	scale := int64(len(frac)) - exp
	if scale < 0 {
		c.Mul(c, pow10(int32(-scale)))
		scale = 0
	}
	return Decimal{coef: c, scale: int32(scale)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DecimalFromFloat converts f using its shortest exact-looking representation.
func DecimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'f', -1, 64))
	return d, err == nil
}

func (d Decimal) c() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// Scale returns the number of digits after the decimal point.
func (d Decimal) Scale() int { return int(d.scale) }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.c().Sign() }

// String formats the decimal with its scale, e.g. "1.50".
func (d Decimal) String() string {
	s := d.c().String()
	if d.scale <= 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) <= int(d.scale) {
		s = strings.Repeat("0", int(d.scale)-len(s)+1) + s
	}
	p := len(s) - int(d.scale)
	s = s[:p] + "." + s[p:]
	if neg {
		s = "-" + s
	}
	return s
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// rescale returns the coefficient of d expressed at scale s (s >= d.scale).
func (d Decimal) rescale(s int32) *big.Int {
	if s == d.scale {
		return d.c()
	}
	return new(big.Int).Mul(d.c(), pow10(s-d.scale))
}

func align(a, b Decimal) (*big.Int, *big.Int, int32) {
	s := max(a.scale, b.scale)
	return a.rescale(s), b.rescale(s), s
}

// Cmp compares a and b numerically.
func (d Decimal) Cmp(o Decimal) int {
	x, y, _ := align(d, o)
	return x.Cmp(y)
}

// Add returns d+o.
func (d Decimal) Add(o Decimal) Decimal {
	x, y, s := align(d, o)
	return Decimal{coef: new(big.Int).Add(x, y), scale: s}
}

// Sub returns d-o.
func (d Decimal) Sub(o Decimal) Decimal {
	x, y, s := align(d, o)
	return Decimal{coef: new(big.Int).Sub(x, y), scale: s}
}

// Mul returns d×o.
func (d Decimal) Mul(o Decimal) Decimal {
	return Decimal{coef: new(big.Int).Mul(d.c(), o.c()), scale: d.scale + o.scale}.trimTo(max(d.scale, o.scale))
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{coef: new(big.Int).Neg(d.c()), scale: d.scale} }

// Abs returns |d|.
func (d Decimal) Abs() Decimal { return Decimal{coef: new(big.Int).Abs(d.c()), scale: d.scale} }

// Div returns d/o rounded to divisionScale fraction digits with trailing zeros
// removed; ok is false for division by zero.
func (d Decimal) Div(o Decimal) (Decimal, bool) {
	if o.Sign() == 0 {
		return Decimal{}, false
	}
	// d/o = (dc/10^ds)/(oc/10^os); compute at scale divisionScale+1 then round.
	s := int32(divisionScale + 1)
	num := new(big.Int).Mul(d.c(), pow10(s+o.scale))
	den := new(big.Int).Mul(o.c(), pow10(d.scale))
	q := new(big.Int).Quo(num, den)
	r := Decimal{coef: q, scale: s}.Round(divisionScale)
	return r.trimTo(0), true
}

// trimTo removes trailing zero fraction digits down to scale min.
func (d Decimal) trimTo(minScale int32) Decimal {
	c := d.c()
	s := d.scale
	if s <= minScale || c.Sign() == 0 && s <= minScale {
		return d
	}
	c = new(big.Int).Set(c)
	m := new(big.Int)
	for s > minScale {
		q, r := new(big.Int).QuoRem(c, bigTen, m)
		if r.Sign() != 0 {
			break
		}
		c = q
		s--
	}
	return Decimal{coef: c, scale: s}
}

// Round rounds half away from zero to n fraction digits.
func (d Decimal) Round(n int32) Decimal {
	if n >= d.scale {
		return Decimal{coef: d.rescale(n), scale: n}
	}
	div := pow10(d.scale - n)
	c := d.c()
	q, r := new(big.Int).QuoRem(c, div, new(big.Int))
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(div) >= 0 {
		if c.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Decimal{coef: q, scale: n}
}

// Truncate drops the fraction (toward zero) and keeps scale n digits.
func (d Decimal) truncTo(n int32) Decimal {
	if n >= d.scale {
		return Decimal{coef: d.rescale(n), scale: n}
	}
	q := new(big.Int).Quo(d.c(), pow10(d.scale-n))
	return Decimal{coef: q, scale: n}
}

// floorTo rounds toward negative infinity at n fraction digits.
func (d Decimal) floorTo(n int32) Decimal {
	t := d.truncTo(n)
	if d.Sign() < 0 && t.Cmp(d) != 0 {
		t = Decimal{coef: new(big.Int).Sub(t.coef, big.NewInt(1)), scale: n}
	}
	return t
}

// ceilTo rounds toward positive infinity at n fraction digits.
func (d Decimal) ceilTo(n int32) Decimal {
	t := d.truncTo(n)
	if d.Sign() > 0 && t.Cmp(d) != 0 {
		t = Decimal{coef: new(big.Int).Add(t.coef, big.NewInt(1)), scale: n}
	}
	return t
}

// Int64 returns the integer part of d, and whether it fits in an int64.
func (d Decimal) Int64() (int64, bool) {
	t := d.truncTo(0)
	if !t.coef.IsInt64() {
		return 0, false
	}
	return t.coef.Int64(), true
}

// IsInteger reports whether d has no fractional value.
func (d Decimal) IsInteger() bool { return d.truncTo(0).Cmp(d) == 0 }

// rat returns d as an exact rational.
func (d Decimal) rat() *big.Rat {
	return new(big.Rat).SetFrac(d.c(), pow10(d.scale))
}

// decimalFromRat converts r, keeping up to divisionScale fraction digits
// (at least minScale) with trailing zeros removed.
func decimalFromRat(r *big.Rat, minScale int32) Decimal {
	s := max(int32(divisionScale), minScale)
	num := new(big.Int).Mul(r.Num(), pow10(s+1))
	q := new(big.Int).Quo(num, r.Denom())
	return Decimal{coef: q, scale: s + 1}.Round(s).trimTo(minScale)
}
