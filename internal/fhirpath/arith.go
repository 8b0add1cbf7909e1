package fhirpath

import (
	"fmt"
	"math"
	"math/big"
)

// arithmeticOp implements + - * / div mod (FHIRPath §6.6).
func arithmeticOp(op string) func(c *ctx, a, b Collection) (Collection, error) {
	return func(c *ctx, a, b Collection) (Collection, error) {
		if len(a) == 0 || len(b) == 0 {
			return nil, nil
		}
		if len(a) > 1 || len(b) > 1 {
			return nil, fmt.Errorf("%s needs single items on both sides", op)
		}
		if hasNoValue(a[0]) || hasNoValue(b[0]) {
			return nil, nil
		}
		x, ok1 := a[0].system()
		y, ok2 := b[0].system()
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("cannot apply %s to %s and %s", op, a[0].Type(), b[0].Type())
		}
		r, ok, err := arith(op, x, y)
		if err != nil || !ok {
			return nil, err
		}
		return Collection{r}, nil
	}
}

func arith(op string, x, y Value) (Value, bool, error) {
	switch {
	case x.kind == KindInteger && y.kind == KindInteger:
		return intArith(op, x.data.(int64), y.data.(int64))
	case isNumber(x.kind) && isNumber(y.kind):
		return decArith(op, toDecimal(x), toDecimal(y))
	case x.kind == KindString && y.kind == KindString && op == "+":
		return String(x.data.(string) + y.data.(string)), true, nil
	case isTemporal(x.kind) && y.kind == KindQuantity && (op == "+" || op == "-"):
		return dateArith(op, x.data.(DateTime), y.data.(Quantity))
	case x.kind == KindQuantity && y.kind == KindQuantity:
		return quantityArith(op, x.data.(Quantity), y.data.(Quantity))
	case x.kind == KindQuantity && isNumber(y.kind):
		return quantityArith(op, x.data.(Quantity), Quantity{Value: toDecimal(y), Unit: "1"})
	case isNumber(x.kind) && y.kind == KindQuantity:
		return quantityArith(op, Quantity{Value: toDecimal(x), Unit: "1"}, y.data.(Quantity))
	}
	return Value{}, false, fmt.Errorf("cannot apply %s to %s and %s", op, x.Type(), y.Type())
}

func intArith(op string, a, b int64) (Value, bool, error) {
	switch op {
	case "+":
		return Integer(a + b), true, nil
	case "-":
		return Integer(a - b), true, nil
	case "*":
		return Integer(a * b), true, nil
	case "/":
		return decArith(op, DecimalFromInt(a), DecimalFromInt(b))
	case "div":
		if b == 0 {
			return Value{}, false, nil
		}
		return Integer(a / b), true, nil
	case "mod":
		if b == 0 {
			return Value{}, false, nil
		}
		return Integer(a % b), true, nil
	}
	return Value{}, false, fmt.Errorf("unknown operator %s", op)
}

func decArith(op string, a, b Decimal) (Value, bool, error) {
	switch op {
	case "+":
		return DecimalValue(a.Add(b)), true, nil
	case "-":
		return DecimalValue(a.Sub(b)), true, nil
	case "*":
		return DecimalValue(a.Mul(b)), true, nil
	case "/":
		q, ok := a.Div(b)
		if !ok {
			return Value{}, false, nil
		}
		return DecimalValue(q), true, nil
	case "div":
		if b.Sign() == 0 {
			return Value{}, false, nil
		}
		q := new(decimalQuo).quo(a, b)
		return Integer(q), true, nil
	case "mod":
		if b.Sign() == 0 {
			return Value{}, false, nil
		}
		q := new(decimalQuo).quo(a, b)
		return DecimalValue(a.Sub(b.Mul(DecimalFromInt(q)))), true, nil
	}
	return Value{}, false, fmt.Errorf("unknown operator %s", op)
}

type decimalQuo struct{}

// quo returns the truncated integer quotient a/b.
func (decimalQuo) quo(a, b Decimal) int64 {
	x, y, _ := align(a, b)
	return new(big.Int).Quo(x, y).Int64()
}

// dateArith adds or subtracts a time-valued quantity (FHIRPath §6.6.1).
func dateArith(op string, d DateTime, q Quantity) (Value, bool, error) {
	unit, ok := calendarSingular(q.Unit)
	if !ok {
		switch q.Unit {
		case "wk":
			unit = "week"
		case "d":
			unit = "day"
		case "h":
			unit = "hour"
		case "min":
			unit = "minute"
		case "s":
			unit = "second"
		case "ms":
			unit = "millisecond"
		default:
			return Value{}, false, fmt.Errorf("cannot add a quantity in '%s' to a date/time", q.Unit)
		}
	}
	v := q.Value
	if op == "-" {
		v = v.Neg()
	}
	var n int64
	if unit == "second" && !v.IsInteger() {
		ms, _ := v.Mul(DecimalFromInt(1000)).Int64()
		n, unit = ms, "millisecond"
	} else {
		n, _ = v.Int64()
	}
	n, unit = toDatePrecision(d, n, unit)
	if unit == "millisecond" && d.Precision == PrecSecond && n%1000 != 0 {
		d.Precision = PrecMillisecond
	}
	r, err := d.addDuration(n, unit)
	if err != nil {
		return Value{}, false, err
	}
	return DateTimeValue(r), true, nil
}

func quantityArith(op string, a, b Quantity) (Value, bool, error) {
	switch op {
	case "+", "-":
		if a.Unit != b.Unit && (isCalendarYM(a.Unit) || isCalendarYM(b.Unit)) && isCalendar(a.Unit) != isCalendar(b.Unit) {
			// calendar years/months and UCUM 'a'/'mo' have no exact ratio to other time units
			return Value{}, false, nil
		}
		// the sum is expressed in the finer of the two units: 7 days + 12 hours = 180 hours
		unit := a.Unit
		if fa, err1 := canonicalUnit(a.Unit); err1 == nil {
			if fb, err2 := canonicalUnit(b.Unit); err2 == nil && fb.factor.Cmp(fa.factor) < 0 {
				unit = b.Unit
			}
		}
		av, ok1 := convertQuantity(a, unit)
		bv, ok2 := convertQuantity(b, unit)
		if !ok1 || !ok2 {
			return Value{}, false, nil
		}
		v := av.Add(bv)
		if op == "-" {
			v = av.Sub(bv)
		}
		return QuantityValue(Quantity{Value: v, Unit: unit}), true, nil
	case "*":
		return QuantityValue(Quantity{Value: a.Value.Mul(b.Value), Unit: mulUnits(a.Unit, b.Unit)}), true, nil
	case "/":
		q, ok := a.Value.Div(b.Value)
		if !ok {
			return Value{}, false, nil
		}
		return QuantityValue(Quantity{Value: q, Unit: divUnits(a.Unit, b.Unit)}), true, nil
	}
	return Value{}, false, fmt.Errorf("cannot apply %s to quantities", op)
}

// durationMillis gives the length of the fixed calendar units; year and month
// use 365 and 30 days for the conversion of FHIRPath §6.6.1 ("the duration is
// converted to the precision of the date, truncating").
var durationMillis = map[string]int64{
	"year": 365 * 86400000, "month": 30 * 86400000, "week": 7 * 86400000, "day": 86400000,
	"hour": 3600000, "minute": 60000, "second": 1000, "millisecond": 1,
}

var precisionUnit = [...]string{PrecYear: "year", PrecMonth: "month", PrecDay: "day", PrecHour: "hour",
	PrecMinute: "minute", PrecSecond: "second", PrecMillisecond: "millisecond"}

// toDatePrecision re-expresses n units at the precision of d when the unit is
// finer than what d records (@2016 + 365 days = @2017).
func toDatePrecision(d DateTime, n int64, unit string) (int64, string) {
	p := d.Precision
	if d.Kind == KindTime || p >= PrecSecond {
		return n, unit
	}
	pu := precisionUnit[p]
	um, pm := durationMillis[unit], durationMillis[pu]
	if um >= pm || um == 0 {
		return n, unit
	}
	if unit == "month" && pu == "year" {
		return n / 12, pu
	}
	return n * um / pm, pu
}

func isCalendar(u string) bool {
	_, ok := calendarUCUM[u]
	return ok
}

// floatResult converts a float math result back to a Decimal; NaN/Inf are empty.
func floatResult(f float64) (Collection, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	d, ok := DecimalFromFloat(f)
	if !ok {
		return nil, nil
	}
	return Collection{DecimalValue(d)}, nil
}
