package fhirpath

import "fmt"

// lowBoundary, highBoundary, precision and comparable (FHIRPath 2.0 / R5
// additions that FHIR R4 invariants and the conformance suite use).

const maxDecimalPrecision = 28

func init() {
	register("lowBoundary", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return boundary(c, e, in, call, false)
	})
	register("highBoundary", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return boundary(c, e, in, call, true)
	})
	register("precision", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := singleInput(in)
		if err != nil || !ok {
			return nil, err
		}
		switch x := v.data.(type) {
		case Decimal:
			return Collection{Integer(int64(x.scale))}, nil
		case int64:
			return Collection{Integer(0)}, nil
		case DateTime:
			return Collection{Integer(int64(dateDigits(x.Kind, x.Precision)))}, nil
		}
		return nil, nil
	})
	register("comparable", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := singleInput(in)
		if err != nil || !ok {
			return nil, err
		}
		o, ok, err := call.singleArg(c, e, 0)
		if err != nil || !ok {
			return nil, err
		}
		v, o, _ = coerce(v, o)
		if isNumber(v.kind) && isNumber(o.kind) {
			return boolResult(true)
		}
		if v.kind != KindQuantity || o.kind != KindQuantity {
			return nil, nil
		}
		_, cmp := compareQuantities(v.data.(Quantity), o.data.(Quantity))
		return boolResult(cmp)
	})
}

func boundary(c *ctx, e *env, in Collection, call *callNode, high bool) (Collection, error) {
	v, ok, err := singleInput(in)
	if err != nil || !ok {
		return nil, err
	}
	if v.kind == KindString {
		if d, ok := parseLike(v.data.(string), KindDateTime); ok {
			v = d
		}
	}
	p, hasP, err := call.intArg(c, e, 0)
	if err != nil {
		return nil, err
	}
	switch x := v.data.(type) {
	case int64:
		return decimalBoundary(DecimalFromInt(x), p, hasP, high)
	case Decimal:
		return decimalBoundary(x, p, hasP, high)
	case DateTime:
		return dateBoundary(x, p, hasP, high)
	}
	return nil, nil
}

func decimalBoundary(d Decimal, p int64, hasP, high bool) (Collection, error) {
	if !hasP {
		p = divisionScale
	}
	if p < 0 || p > maxDecimalPrecision {
		return nil, nil
	}
	half := Decimal{coef: DecimalFromInt(5).coef, scale: d.scale + 1}
	var b Decimal
	if high {
		b = d.Add(half)
	} else {
		b = d.Sub(half)
	}
	prec := int32(p)
	switch {
	case prec >= b.scale:
		b = Decimal{coef: b.rescale(prec), scale: prec}
	case high:
		b = b.ceilTo(prec)
	default:
		b = b.floorTo(prec)
	}
	return Collection{DecimalValue(b)}, nil
}

func dateDigits(k Kind, p Precision) int {
	if k == KindTime {
		return [...]int{0, 0, 0, 0, 2, 4, 6, 9}[p]
	}
	return [...]int{0, 4, 6, 8, 10, 12, 14, 17}[p]
}

func dateBoundary(d DateTime, p int64, hasP, high bool) (Collection, error) {
	target := Precision(0)
	if !hasP {
		target = PrecMillisecond
		if d.Kind == KindDate {
			target = PrecDay
		}
	} else {
		for q := PrecYear; q <= PrecMillisecond; q++ {
			if (d.Kind != KindTime || q >= PrecHour) && int64(dateDigits(d.Kind, q)) == p {
				target = q
			}
		}
	}
	if target == 0 || d.Kind == KindDate && target > PrecDay {
		return nil, nil
	}
	r := d
	if target <= d.Precision {
		r.Precision = target
		r.clearBelow()
		return Collection{DateTimeValue(r)}, nil
	}
	for q := d.Precision + 1; q <= target; q++ {
		switch q {
		case PrecMonth:
			r.Month = pick(high, 12, 1)
		case PrecDay:
			r.Day = pick(high, daysIn(r.Year, r.Month), 1)
		case PrecHour:
			r.Hour = pick(high, 23, 0)
		case PrecMinute:
			r.Minute = pick(high, 59, 0)
		case PrecSecond:
			r.Second = pick(high, 59, 0)
		case PrecMillisecond:
			r.Millisecond = pick(high, 999, 0)
		}
	}
	r.Precision = target
	if r.Kind == KindDateTime && !r.HasTZ && target >= PrecHour {
		// unknown offset: the widest range runs from +14:00 to -12:00
		r.HasTZ, r.TZOffset = true, pick(high, -12*60, 14*60)
	}
	if r.Kind == KindDateTime && target <= PrecDay {
		r.HasTZ = false
	}
	return Collection{DateTimeValue(r)}, nil
}

func pick(high bool, hi, lo int) int {
	if high {
		return hi
	}
	return lo
}

var _ = fmt.Sprintf
