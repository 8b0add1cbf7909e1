package search

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/store"
)

// Open ends of date intervals: a Period without a start covers everything
// before its end, one without an end everything after its start
// (https://hl7.org/fhir/R4/search.html#date).
var (
	OpenLow  = time.Time{}
	OpenHigh = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// DateRange returns the closed interval [low, high] (UTC) that a FHIR date,
// dateTime or instant, or a date search value, covers at its precision
// (https://hl7.org/fhir/R4/search.html#date): "2013" covers the whole year,
// "2013-01-14T10:00" that minute, "2013-01-14T10:00:00.25" a hundredth of a
// second. High is the last microsecond of the interval because stores keep
// microseconds (PostgreSQL timestamptz); a value finer than that is
// truncated to a single microsecond.
//
// A value with a time of day but no time zone, or a bare date, is taken as
// UTC: the specification leaves it to the server, and UTC keeps results
// independent of where the server runs. A "+hh:mm" offset whose "+" was
// decoded to a space by URL decoding is accepted.
func DateRange(s string) (low, high time.Time, err error) {
	f, ok := scanDate(s)
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("%q is not a valid date", s)
	}
	low = time.Date(f.year, time.Month(f.month), f.day, f.hour, f.min, f.sec, f.nsec, f.loc)
	var end time.Time
	switch f.prec {
	case precYear:
		end = low.AddDate(1, 0, 0)
	case precMonth:
		end = low.AddDate(0, 1, 0)
	case precDay:
		end = low.AddDate(0, 0, 1)
	case precMinute:
		end = low.Add(time.Minute)
	case precSecond:
		end = low.Add(time.Second)
	default: // a fraction of f.digits digits
		unit := time.Duration(math.Pow10(max(9-f.digits, 0)))
		if unit < time.Microsecond {
			t := low.UTC().Truncate(time.Microsecond)
			return t, t, nil
		}
		end = low.Add(unit)
	}
	return low.UTC(), end.Add(-time.Microsecond).UTC(), nil
}

// Date precisions (https://hl7.org/fhir/R4/datatypes.html#dateTime).
const (
	precYear = iota
	precMonth
	precDay
	precMinute
	precSecond
	precFraction
)

// dateFields are the parts of a date, dateTime or instant as written.
type dateFields struct {
	year, month, day, hour, min, sec, nsec int
	prec                                   int
	digits                                 int // fraction digits, for precFraction
	loc                                    *time.Location
}

// scanDate parses YYYY[-MM[-DD[Thh:mm[:ss[.f+]][zone]]]], checking ranges.
func scanDate(s string) (dateFields, bool) {
	f := dateFields{month: 1, day: 1, loc: time.UTC}
	p := s
	num := func(n int, lo, hi int) (int, bool) {
		if len(p) < n {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := p[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p = p[n:]
		return v, lo <= v && v <= hi
	}
	sep := func(c byte) bool {
		if p == "" || p[0] != c {
			return false
		}
		p = p[1:]
		return true
	}
	var ok bool
	if f.year, ok = num(4, 0, 9999); !ok {
		return f, false
	}
	if p == "" {
		return f, true // precYear
	}
	if !sep('-') {
		return f, false
	}
	if f.month, ok = num(2, 1, 12); !ok {
		return f, false
	}
	if f.prec = precMonth; p == "" {
		return f, true
	}
	if !sep('-') {
		return f, false
	}
	if f.day, ok = num(2, 1, daysIn(f.year, f.month)); !ok {
		return f, false
	}
	if f.prec = precDay; p == "" {
		return f, true
	}
	if !sep('T') {
		return f, false
	}
	if f.hour, ok = num(2, 0, 23); !ok || !sep(':') {
		return f, false
	}
	if f.min, ok = num(2, 0, 59); !ok {
		return f, false
	}
	f.prec = precMinute
	if sep(':') {
		if f.sec, ok = num(2, 0, 59); !ok {
			return f, false
		}
		f.prec = precSecond
		if sep('.') {
			for f.digits < len(p) && p[f.digits] >= '0' && p[f.digits] <= '9' {
				f.digits++
			}
			if f.digits == 0 {
				return f, false
			}
			frac := p[:min(f.digits, 9)]
			p = p[f.digits:]
			n, _ := strconv.Atoi(frac)
			for i := len(frac); i < 9; i++ {
				n *= 10
			}
			f.nsec, f.prec = n, precFraction
		}
	}
	if p != "" {
		if f.loc, ok = parseZone(p); !ok {
			return f, false
		}
	}
	return f, true
}

// parseZone parses "Z", "+hh:mm" or "-hh:mm" (" hh:mm" too: a URL-decoded "+").
func parseZone(z string) (*time.Location, bool) {
	if z == "Z" {
		return time.UTC, true
	}
	if len(z) != 6 || z[3] != ':' {
		return nil, false
	}
	sign := 1
	switch z[0] {
	case '+', ' ':
	case '-':
		sign = -1
	default:
		return nil, false
	}
	h, err1 := strconv.Atoi(z[1:3])
	m, err2 := strconv.Atoi(z[4:6])
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return nil, false
	}
	off := sign * (h*3600 + m*60)
	if off == 0 {
		return time.UTC, true
	}
	return time.FixedZone("", off), true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// errNotNumber is returned for text that is not a FHIR decimal.
var errNotNumber = errors.New("not a number")

// NumberRange returns a decimal's value and the half-open interval
// [low, high) its precision implies: half a unit of its last significant
// digit either side (https://hl7.org/fhir/R4/search.html#number). So "100"
// covers [99.5, 100.5), "100.00" covers [99.995, 100.005) and "1e2", with a
// single significant figure, covers [50, 150). (The specification's prose
// example gives [95, 105) for 1e2, which does not follow its own
// significant-figures rule; this follows the rule.)
func NumberRange(s string) (value, low, high float64, err error) {
	neg, mant, exp, ok := scanDecimal(s)
	if !ok {
		return 0, 0, 0, errNotNumber
	}
	value, err = strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, 0, errNotNumber
	}
	// low and high are (10*mant -/+ 5) * 10^(exp-1), exact decimals rounded
	// once to float64.
	if len(mant) <= 17 {
		m, _ := strconv.ParseUint(mant, 10, 64)
		lo := strconv.FormatUint(10*m-min(10*m, 5), 10) + "e" + strconv.Itoa(exp-1)
		hi := strconv.FormatUint(10*m+5, 10) + "e" + strconv.Itoa(exp-1)
		low, _ = strconv.ParseFloat(lo, 64)
		high, _ = strconv.ParseFloat(hi, 64)
		if m == 0 {
			low = -high
		}
	} else {
		m, _ := new(big.Int).SetString(mant, 10)
		m.Mul(m, big.NewInt(10))
		lo := new(big.Int).Sub(m, big.NewInt(5)).String() + "e" + strconv.Itoa(exp-1)
		hi := new(big.Int).Add(m, big.NewInt(5)).String() + "e" + strconv.Itoa(exp-1)
		low, _ = strconv.ParseFloat(lo, 64)
		high, _ = strconv.ParseFloat(hi, 64)
	}
	if neg {
		low, high = -high, -low
	}
	return value, low, high, nil
}

// scanDecimal checks s is a decimal as FHIR writes it (optionally with an
// exponent, as search values may be) and returns its significant digits
// (leading zeros stripped; "0" for zero) and the power of ten of the last one.
func scanDecimal(s string) (neg bool, mant string, exp int, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var digits []byte
	intDigits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		digits = append(digits, s[i])
		intDigits++
		i++
	}
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
			frac++
			i++
		}
		if frac == 0 {
			return false, "", 0, false
		}
	}
	if intDigits == 0 {
		return false, "", 0, false
	}
	exp = -frac
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 400 || e < -400 || s[i+1:] == "" {
			return false, "", 0, false
		}
		exp += e
		i = len(s)
	}
	if i != len(s) {
		return false, "", 0, false
	}
	m := strings.TrimLeft(string(digits), "0")
	if m == "" {
		m = "0"
	}
	return neg, m, exp, true
}

// prefixes are the comparison prefixes of ordered parameter types
// (https://hl7.org/fhir/R4/search.html#prefix).
var prefixes = map[string]store.Op{
	"eq": store.OpEq, "ne": store.OpNe, "gt": store.OpGt, "lt": store.OpLt, "ge": store.OpGe,
	"le": store.OpLe, "sa": store.OpSa, "eb": store.OpEb, "ap": store.OpAp,
}

// cutPrefix splits a comparison prefix off an ordered search value. Without
// a known two-letter prefix followed by a digit or sign the value is taken
// whole with eq.
func cutPrefix(v string) (store.Op, string) {
	if len(v) > 2 {
		if op, ok := prefixes[v[:2]]; ok {
			if c := v[2]; c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
				return op, v[2:]
			}
		}
	}
	return store.OpEq, v
}
