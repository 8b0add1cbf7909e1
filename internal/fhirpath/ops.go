package fhirpath

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

type binaryNode struct {
	op   string
	l, r node
	fn   func(c *ctx, a, b Collection) (Collection, error)
}

func newBinary(op string, l, r node) (node, error) {
	n := &binaryNode{op: op, l: l, r: r}
	switch op {
	case "|":
		n.fn = func(c *ctx, a, b Collection) (Collection, error) { return union(a, b), nil }
	case "and", "or", "xor", "implies":
		n.fn = logicOp(op)
	case "=", "!=":
		n.fn = func(c *ctx, a, b Collection) (Collection, error) {
			eq, ok := collectionsEqual(a, b)
			if !ok {
				return nil, nil
			}
			return Collection{Boolean(eq == (op == "="))}, nil
		}
	case "~", "!~":
		n.fn = func(c *ctx, a, b Collection) (Collection, error) {
			return Collection{Boolean(collectionsEquivalent(a, b) == (op == "~"))}, nil
		}
	case "<", ">", "<=", ">=":
		n.fn = comparisonOp(op)
	case "in":
		n.fn = func(c *ctx, a, b Collection) (Collection, error) { return membership(a, b) }
	case "contains":
		n.fn = func(c *ctx, a, b Collection) (Collection, error) { return membership(b, a) }
	case "&":
		n.fn = concatOp
	default:
		n.fn = arithmeticOp(op)
	}
	return n, nil
}

func (n *binaryNode) eval(c *ctx, e *env) (Collection, error) {
	a, err := n.l.eval(c, e)
	if err != nil {
		return nil, err
	}
	b, err := n.r.eval(c, e)
	if err != nil {
		return nil, err
	}
	return n.fn(c, a, b)
}

// union merges two collections without duplicates (FHIRPath §6.5 "|").
func union(a, b Collection) Collection {
	out := make(Collection, 0, len(a)+len(b))
	for _, src := range [2]Collection{a, b} {
		for _, v := range src {
			if !containsValue(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func containsValue(c Collection, v Value) bool {
	for _, x := range c {
		if eq, ok := valuesEqual(x, v); ok && eq {
			return true
		}
	}
	return false
}

// toBool applies singleton evaluation for a Boolean context (FHIRPath §4.5):
// empty is unknown, a Boolean is itself, any other single item is true.
func toBool(col Collection) (val, known bool, err error) {
	if len(col) == 0 {
		return false, false, nil
	}
	if len(col) > 1 {
		return false, false, fmt.Errorf("expected a single boolean, found %d items", len(col))
	}
	if hasNoValue(col[0]) {
		return false, false, nil
	}
	s, _ := col[0].system()
	if s.kind == KindBoolean {
		return s.data.(bool), true, nil
	}
	return true, true, nil
}

func logicOp(op string) func(c *ctx, a, b Collection) (Collection, error) {
	return func(c *ctx, a, b Collection) (Collection, error) {
		x, xk, err := toBool(a)
		if err != nil {
			return nil, err
		}
		y, yk, err := toBool(b)
		if err != nil {
			return nil, err
		}
		// three-valued logic, FHIRPath §6.5
		var r, known bool
		switch op {
		case "and":
			switch {
			case xk && !x || yk && !y:
				r, known = false, true
			case xk && yk:
				r, known = true, true
			}
		case "or":
			switch {
			case xk && x || yk && y:
				r, known = true, true
			case xk && yk:
				r, known = false, true
			}
		case "xor":
			if xk && yk {
				r, known = x != y, true
			}
		case "implies":
			switch {
			case xk && !x:
				r, known = true, true
			case yk && y:
				r, known = true, true
			case xk && yk:
				r, known = false, true
			}
		}
		if !known {
			return nil, nil
		}
		return Collection{Boolean(r)}, nil
	}
}

func collectionsEqual(a, b Collection) (bool, bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	if len(a) != len(b) {
		return false, true
	}
	for i := range a {
		eq, ok := valuesEqual(a[i], b[i])
		if !ok {
			return false, false
		}
		if !eq {
			return false, true
		}
	}
	return true, true
}

// collectionsEquivalent: order does not matter, empty ~ empty (FHIRPath §6.1.3).
func collectionsEquivalent(a, b Collection) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && valuesEquivalent(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// coerce converts a and b to comparable System values; a string meeting a
// date/time is parsed as one (model-free data has untyped date strings).
func coerce(a, b Value) (Value, Value, bool) {
	x, ok1 := a.system()
	y, ok2 := b.system()
	if !ok1 || !ok2 {
		return x, y, false
	}
	if x.kind == KindQuantity && isNumber(y.kind) {
		y = QuantityValue(Quantity{Value: toDecimal(y), Unit: "1"})
	} else if y.kind == KindQuantity && isNumber(x.kind) {
		x = QuantityValue(Quantity{Value: toDecimal(x), Unit: "1"})
	} else if x.kind == KindString && isTemporal(y.kind) {
		if d, ok := parseLike(x.data.(string), y.kind); ok {
			x = d
		}
	} else if y.kind == KindString && isTemporal(x.kind) {
		if d, ok := parseLike(y.data.(string), x.kind); ok {
			y = d
		}
	}
	return x, y, true
}

func isTemporal(k Kind) bool { return k == KindDate || k == KindDateTime || k == KindTime }

func parseLike(s string, k Kind) (Value, bool) {
	if k == KindTime {
		d, err := ParseTime(s)
		return DateTimeValue(d), err == nil
	}
	if !strings.Contains(s, "T") {
		if d, err := ParseDate(s); err == nil {
			return DateTimeValue(d), true
		}
	}
	d, err := ParseDateTime(s)
	return DateTimeValue(d), err == nil
}

func isNumber(k Kind) bool { return k == KindInteger || k == KindDecimal }

func toDecimal(v Value) Decimal {
	if v.kind == KindInteger {
		return DecimalFromInt(v.data.(int64))
	}
	return v.data.(Decimal)
}

// valuesEqual is item equality (FHIRPath §6.1.1); ok=false means "empty"
// (partial dates that cannot be decided, incomparable calendar units).
func valuesEqual(a, b Value) (bool, bool) {
	if hasNoValue(a) || hasNoValue(b) {
		return hasNoValue(a) && hasNoValue(b) && reflect.DeepEqual(a.ext, b.ext), true
	}
	if a.kind == KindNode && b.kind == KindNode {
		_, am := a.data.(map[string]any)
		_, bm := b.data.(map[string]any)
		if am || bm {
			return am && bm && reflect.DeepEqual(a.data, b.data), true
		}
	}
	x, y, ok := coerce(a, b)
	if !ok {
		return reflect.DeepEqual(a.data, b.data), true
	}
	switch {
	case isNumber(x.kind) && isNumber(y.kind):
		if x.kind == KindInteger && y.kind == KindInteger {
			return x.data.(int64) == y.data.(int64), true
		}
		return toDecimal(x).Cmp(toDecimal(y)) == 0, true
	case isTemporal(x.kind) && isTemporal(y.kind):
		if (x.kind == KindTime) != (y.kind == KindTime) {
			return false, true
		}
		c, ok := compareDateTimes(x.data.(DateTime), y.data.(DateTime))
		return c == 0, ok
	case x.kind == KindQuantity && y.kind == KindQuantity:
		qa, qb := x.data.(Quantity), y.data.(Quantity)
		c, ok := compareQuantities(qa, qb)
		if !ok {
			if isCalendarYM(qa.Unit) || isCalendarYM(qb.Unit) {
				return false, false
			}
			return false, true
		}
		return c == 0, true
	case x.kind != y.kind:
		return false, true
	case x.kind == KindTypeInfo:
		return x.data == y.data, true
	}
	return x.data == y.data, true
}

func isCalendarYM(u string) bool {
	switch u {
	case "year", "years", "month", "months", "a", "mo":
		return true
	}
	return false
}

// valuesEquivalent is item equivalence (FHIRPath §6.1.3).
func valuesEquivalent(a, b Value) bool {
	if a.kind == KindNode && b.kind == KindNode {
		am, aok := a.data.(map[string]any)
		bm, bok := b.data.(map[string]any)
		if aok || bok {
			return aok && bok && reflect.DeepEqual(am, bm)
		}
	}
	x, y, ok := coerce(a, b)
	if !ok {
		return false
	}
	switch {
	case x.kind == KindString && y.kind == KindString:
		return normalizeSpace(x.data.(string)) == normalizeSpace(y.data.(string))
	case isNumber(x.kind) && isNumber(y.kind):
		dx, dy := toDecimal(x), toDecimal(y)
		s := min(dx.scale, dy.scale)
		return dx.Round(s).Cmp(dy.Round(s)) == 0
	case isTemporal(x.kind) && isTemporal(y.kind):
		dx, dy := x.data.(DateTime), y.data.(DateTime)
		c, ok := compareDateTimes(dx, dy)
		return ok && c == 0
	}
	eq, ok := valuesEqual(x, y)
	return ok && eq
}

// normalizeSpace lower-cases s and makes every white-space character a plain
// space; runs are not collapsed (FHIRPath §6.1.3 string equivalence).
func normalizeSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
}

// compareValues orders two single items (FHIRPath §6.2); ok=false is empty.
func compareValues(a, b Value) (int, bool, error) {
	x, y, ok := coerce(a, b)
	if !ok {
		return 0, false, fmt.Errorf("cannot compare %s with %s", a.Type(), b.Type())
	}
	switch {
	case isNumber(x.kind) && isNumber(y.kind):
		if x.kind == KindInteger && y.kind == KindInteger {
			xi, yi := x.data.(int64), y.data.(int64)
			switch {
			case xi < yi:
				return -1, true, nil
			case xi > yi:
				return 1, true, nil
			}
			return 0, true, nil
		}
		return toDecimal(x).Cmp(toDecimal(y)), true, nil
	case x.kind == KindString && y.kind == KindString:
		return strings.Compare(x.data.(string), y.data.(string)), true, nil
	case isTemporal(x.kind) && isTemporal(y.kind) && (x.kind == KindTime) == (y.kind == KindTime):
		c, ok := compareDateTimes(x.data.(DateTime), y.data.(DateTime))
		return c, ok, nil
	case x.kind == KindQuantity && y.kind == KindQuantity:
		c, ok := compareQuantities(x.data.(Quantity), y.data.(Quantity))
		return c, ok, nil
	}
	return 0, false, fmt.Errorf("cannot compare %s with %s", x.Type(), y.Type())
}

func comparisonOp(op string) func(c *ctx, a, b Collection) (Collection, error) {
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
		r, ok, err := compareValues(a[0], b[0])
		if err != nil || !ok {
			return nil, err
		}
		var res bool
		switch op {
		case "<":
			res = r < 0
		case ">":
			res = r > 0
		case "<=":
			res = r <= 0
		default:
			res = r >= 0
		}
		return Collection{Boolean(res)}, nil
	}
}

func membership(item, coll Collection) (Collection, error) {
	if len(item) == 0 {
		return nil, nil
	}
	if len(item) > 1 {
		return nil, fmt.Errorf("membership test needs a single item, found %d", len(item))
	}
	return Collection{Boolean(containsValue(coll, item[0]))}, nil
}

func concatOp(c *ctx, a, b Collection) (Collection, error) {
	var sb strings.Builder
	for _, col := range [2]Collection{a, b} {
		if len(col) > 1 {
			return nil, fmt.Errorf("& needs single items, found %d", len(col))
		}
		if len(col) == 1 && !hasNoValue(col[0]) {
			s, _ := col[0].system()
			if s.kind != KindString {
				return nil, fmt.Errorf("& needs strings, found %s", s.Type())
			}
			sb.WriteString(s.data.(string))
		}
	}
	return Collection{String(sb.String())}, nil
}
