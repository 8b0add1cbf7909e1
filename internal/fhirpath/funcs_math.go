package fhirpath

import (
	"fmt"
	"math"
)

// Math functions, FHIRPath §5.7.

func numberInput(in Collection) (Value, bool, error) {
	v, ok, err := singleInput(in)
	if err != nil || !ok {
		return v, ok, err
	}
	if !isNumber(v.kind) && v.kind != KindQuantity {
		return v, false, fmt.Errorf("expected a number, found %s", v.Type())
	}
	return v, true, nil
}

func floatFn(name string, f func(float64) float64) {
	register(name, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok || v.kind == KindQuantity {
			return nil, err
		}
		return floatResult(f(toDecimal(v).Float64()))
	})
}

// intFn registers ceiling, floor and truncate, which return Integers.
func intFn(name string, f func(Decimal) Decimal) {
	register(name, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok {
			return nil, err
		}
		if q, isQ := v.data.(Quantity); isQ {
			return Collection{QuantityValue(Quantity{Value: f(q.Value), Unit: q.Unit})}, nil
		}
		if v.kind == KindInteger {
			return Collection{v}, nil
		}
		i, fits := f(v.data.(Decimal)).Int64()
		if !fits {
			return nil, fmt.Errorf("result out of range")
		}
		return Collection{Integer(i)}, nil
	})
}

func init() {
	register("abs", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok {
			return nil, err
		}
		switch x := v.data.(type) {
		case int64:
			if x < 0 {
				x = -x
			}
			return Collection{Integer(x)}, nil
		case Decimal:
			return Collection{DecimalValue(x.Abs())}, nil
		case Quantity:
			return Collection{QuantityValue(Quantity{Value: x.Value.Abs(), Unit: x.Unit})}, nil
		}
		return nil, nil
	})
	intFn("ceiling", func(d Decimal) Decimal { return d.ceilTo(0) })
	intFn("floor", func(d Decimal) Decimal { return d.floorTo(0) })
	intFn("truncate", func(d Decimal) Decimal { return d.truncTo(0) })
	floatFn("exp", math.Exp)
	floatFn("ln", math.Log)
	floatFn("sqrt", math.Sqrt)
	register("log", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok || v.kind == KindQuantity {
			return nil, err
		}
		b, ok, err := call.singleArg(c, e, 0)
		if err != nil || !ok || !isNumber(b.kind) {
			return nil, err
		}
		return floatResult(math.Log(toDecimal(v).Float64()) / math.Log(toDecimal(b).Float64()))
	})
	register("power", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok || v.kind == KindQuantity {
			return nil, err
		}
		p, ok, err := call.singleArg(c, e, 0)
		if err != nil || !ok || !isNumber(p.kind) {
			return nil, err
		}
		if v.kind == KindInteger && p.kind == KindInteger && p.data.(int64) >= 0 {
			f := math.Pow(float64(v.data.(int64)), float64(p.data.(int64)))
			if math.Abs(f) < 1<<62 {
				return Collection{Integer(int64(f))}, nil
			}
		}
		return floatResult(math.Pow(toDecimal(v).Float64(), toDecimal(p).Float64()))
	})
	register("round", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, ok, err := numberInput(in)
		if err != nil || !ok {
			return nil, err
		}
		n, _, err := call.intArg(c, e, 0)
		if err != nil {
			return nil, err
		}
		if n < 0 || n > maxDecimalPrecision {
			return nil, fmt.Errorf("precision must be between 0 and %d", maxDecimalPrecision)
		}
		if q, isQ := v.data.(Quantity); isQ {
			return Collection{QuantityValue(Quantity{Value: q.Value.Round(int32(n)), Unit: q.Unit})}, nil
		}
		return Collection{DecimalValue(toDecimal(v).Round(int32(n)))}, nil
	})
}
