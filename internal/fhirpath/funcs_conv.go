package fhirpath

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Conversion functions, FHIRPath §5.5.

// converter turns one System value into the target type; ok=false when it does not convert.
type converter func(v Value) (Value, bool)

func registerConversion(to, convertsTo string, conv converter) {
	register(to, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := singleInput(in)
		if err != nil || !ok {
			return nil, err
		}
		r, ok := conv(v)
		if !ok {
			return nil, nil
		}
		return Collection{r}, nil
	})
	register(convertsTo, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := singleInput(in)
		if err != nil || !ok {
			return nil, err
		}
		_, ok = conv(v)
		return boolResult(ok)
	})
}

// singleInput returns the only item of in as a System value where possible.
func singleInput(in Collection) (Value, bool, error) {
	if len(in) == 0 {
		return Value{}, false, nil
	}
	if len(in) > 1 {
		return Value{}, false, fmt.Errorf("expected a single item, found %d", len(in))
	}
	if hasNoValue(in[0]) {
		return Value{}, false, nil
	}
	if s, ok := in[0].system(); ok {
		return s, true, nil
	}
	return in[0], true, nil
}

var (
	integerText = regexp.MustCompile(`^[+-]?\d+$`)
	decimalText = regexp.MustCompile(`^[+-]?\d+(\.\d+)?$`)
)

func toBooleanConv(v Value) (Value, bool) {
	switch v.kind {
	case KindBoolean:
		return v, true
	case KindInteger:
		switch v.data.(int64) {
		case 0:
			return Boolean(false), true
		case 1:
			return Boolean(true), true
		}
	case KindDecimal:
		d := v.data.(Decimal)
		if d.Cmp(DecimalFromInt(0)) == 0 {
			return Boolean(false), true
		}
		if d.Cmp(DecimalFromInt(1)) == 0 {
			return Boolean(true), true
		}
	case KindString:
		switch strings.ToLower(v.data.(string)) {
		case "true", "t", "yes", "y", "1", "1.0":
			return Boolean(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return Boolean(false), true
		}
	}
	return Value{}, false
}

func toIntegerConv(v Value) (Value, bool) {
	switch v.kind {
	case KindInteger:
		return v, true
	case KindBoolean:
		if v.data.(bool) {
			return Integer(1), true
		}
		return Integer(0), true
	case KindString:
		s := v.data.(string)
		if integerText.MatchString(s) {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return Integer(i), true
			}
		}
	}
	return Value{}, false
}

func toDecimalConv(v Value) (Value, bool) {
	switch v.kind {
	case KindDecimal:
		return v, true
	case KindInteger:
		return DecimalValue(DecimalFromInt(v.data.(int64))), true
	case KindBoolean:
		if v.data.(bool) {
			return DecimalValue(DecimalFromInt(1)), true
		}
		return DecimalValue(DecimalFromInt(0)), true
	case KindString:
		s := v.data.(string)
		if decimalText.MatchString(s) {
			if d, err := ParseDecimal(s); err == nil {
				return DecimalValue(d), true
			}
		}
	}
	return Value{}, false
}

func toStringConv(v Value) (Value, bool) {
	switch v.kind {
	case KindNode, KindTypeInfo:
		return Value{}, false
	}
	return String(v.String()), true
}

func toQuantityConv(v Value) (Value, bool) {
	switch v.kind {
	case KindQuantity:
		return v, true
	case KindInteger, KindDecimal:
		return QuantityValue(Quantity{Value: toDecimal(v), Unit: "1"}), true
	case KindBoolean:
		d := DecimalFromInt(0)
		if v.data.(bool) {
			d = DecimalFromInt(1)
		}
		return QuantityValue(Quantity{Value: d, Unit: "1"}), true
	case KindString:
		if q, ok := parseQuantity(v.data.(string)); ok {
			return QuantityValue(q), true
		}
	}
	return Value{}, false
}

func toDateConv(v Value) (Value, bool) {
	switch v.kind {
	case KindDate:
		return v, true
	case KindDateTime:
		d := v.data.(DateTime)
		d.Kind, d.Precision, d.HasTZ, d.TZOffset = KindDate, min(d.Precision, PrecDay), false, 0
		d.clearBelow()
		return DateTimeValue(d), true
	case KindString:
		s := v.data.(string)
		if d, err := ParseDate(s); err == nil {
			return DateTimeValue(d), true
		}
		if d, err := ParseDateTime(s); err == nil {
			return toDateConv(DateTimeValue(d))
		}
	}
	return Value{}, false
}

func toDateTimeConv(v Value) (Value, bool) {
	switch v.kind {
	case KindDateTime:
		return v, true
	case KindDate:
		d := v.data.(DateTime)
		d.Kind = KindDateTime
		return DateTimeValue(d), true
	case KindString:
		if d, err := ParseDateTime(v.data.(string)); err == nil {
			return DateTimeValue(d), true
		}
	}
	return Value{}, false
}

func toTimeConv(v Value) (Value, bool) {
	switch v.kind {
	case KindTime:
		return v, true
	case KindString:
		if d, err := ParseTime(strings.TrimPrefix(v.data.(string), "T")); err == nil {
			return DateTimeValue(d), true
		}
	}
	return Value{}, false
}

func init() {
	registerConversion("toBoolean", "convertsToBoolean", toBooleanConv)
	registerConversion("toInteger", "convertsToInteger", toIntegerConv)
	registerConversion("toDecimal", "convertsToDecimal", toDecimalConv)
	registerConversion("toString", "convertsToString", toStringConv)
	registerConversion("toDate", "convertsToDate", toDateConv)
	registerConversion("toDateTime", "convertsToDateTime", toDateTimeConv)
	registerConversion("toTime", "convertsToTime", toTimeConv)
	register("convertsToQuantity", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		r, err := toQuantityFn(c, e, in, call)
		if err != nil {
			return nil, err
		}
		if len(in) == 0 {
			return nil, nil
		}
		return boolResult(len(r) == 1)
	})
	register("toQuantity", 0, 1, toQuantityFn)
}

// toQuantityFn converts to a Quantity, optionally in the given unit.
func toQuantityFn(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
	v, ok, err := singleInput(in)
	if err != nil || !ok {
		return nil, err
	}
	q, ok := toQuantityConv(v)
	if !ok {
		return nil, nil
	}
	if len(call.args) == 0 {
		return Collection{q}, nil
	}
	unit, ok, err := call.stringArg(c, e, 0)
	if err != nil || !ok {
		return nil, err
	}
	d, ok := convertQuantity(q.data.(Quantity), unit)
	if !ok {
		return nil, nil
	}
	return Collection{QuantityValue(Quantity{Value: d, Unit: unit})}, nil
}
