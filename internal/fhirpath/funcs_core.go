package fhirpath

import (
	"fmt"
)

// functions is the function table, filled in by init functions of the funcs_*.go files.
var functions = map[string]*funcDef{}

func register(name string, minArgs, maxArgs int, fn func(c *ctx, e *env, in Collection, call *callNode) (Collection, error)) {
	functions[name] = &funcDef{minArgs: minArgs, maxArgs: maxArgs, fn: fn}
}

func boolResult(b bool) (Collection, error) { return Collection{Boolean(b)}, nil }

func init() {
	// §5.1 existence
	register("empty", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return boolResult(len(in) == 0)
	})
	register("exists", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(call.args) == 0 {
			return boolResult(len(in) > 0)
		}
		found := false
		err := call.each(c, e, in, 0, func(_ int, _ Value, r Collection) (bool, error) {
			b, known, err := toBool(r)
			if err != nil {
				return false, err
			}
			found = known && b
			return !found, nil
		})
		return Collection{Boolean(found)}, err
	})
	register("all", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		ok := true
		err := call.each(c, e, in, 0, func(_ int, _ Value, r Collection) (bool, error) {
			b, known, err := toBool(r)
			if err != nil {
				return false, err
			}
			ok = known && b
			return ok, nil
		})
		return Collection{Boolean(ok)}, err
	})
	boolAgg := func(name string, want bool, all bool) {
		register(name, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
			for _, v := range in {
				s, _ := v.system()
				if s.kind != KindBoolean {
					return nil, fmt.Errorf("expects booleans, found %s", v.Type())
				}
				if hit := s.data.(bool) == want; hit != all {
					return boolResult(!all)
				}
			}
			return boolResult(all)
		})
	}
	boolAgg("allTrue", true, true)
	boolAgg("allFalse", false, true)
	boolAgg("anyTrue", true, false)
	boolAgg("anyFalse", false, false)
	register("subsetOf", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		return boolResult(subset(in, other))
	})
	register("supersetOf", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		return boolResult(subset(other, in))
	})
	register("count", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return Collection{Integer(int64(len(in)))}, nil
	})
	register("distinct", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return union(in, nil), nil
	})
	register("isDistinct", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return boolResult(len(union(in, nil)) == len(in))
	})

	// §5.2 filtering and projection
	register("where", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		err := call.each(c, e, in, 0, func(_ int, item Value, r Collection) (bool, error) {
			b, known, err := toBool(r)
			if err != nil {
				return false, err
			}
			if known && b {
				out = append(out, item)
			}
			return true, nil
		})
		return out, err
	})
	register("select", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		err := call.each(c, e, in, 0, func(_ int, _ Value, r Collection) (bool, error) {
			out = append(out, r...)
			return true, nil
		})
		return out, err
	})
	register("repeat", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		queue := in
		for len(queue) > 0 {
			var next Collection
			err := call.each(c, e, queue, 0, func(_ int, _ Value, r Collection) (bool, error) {
				if len(out)+len(r) > maxRepeat {
					return false, fmt.Errorf("repeat() produced more than %d items", maxRepeat)
				}
				for _, v := range r {
					if !containsValue(out, v) {
						out = append(out, v)
						next = append(next, v)
					}
				}
				return true, nil
			})
			if err != nil {
				return nil, err
			}
			queue = next
		}
		return out, nil
	})
	functions["ofType"] = &funcDef{minArgs: 1, maxArgs: 1, typeArg: true,
		fn: func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
			return c.ofType(in, call.typ)
		}}
	functions["is"] = &funcDef{minArgs: 1, maxArgs: 1, typeArg: true,
		fn: func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
			return c.isOp(in, call.typ)
		}}
	functions["as"] = &funcDef{minArgs: 1, maxArgs: 1, typeArg: true,
		fn: func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
			return c.asOp(in, call.typ)
		}}

	// §5.3 subsetting
	register("single", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) > 1 {
			return nil, fmt.Errorf("expected at most one item, found %d", len(in))
		}
		return in, nil
	})
	register("first", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[:1:1], nil
	})
	register("last", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[len(in)-1:], nil
	})
	register("tail", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) <= 1 {
			return nil, nil
		}
		return in[1:], nil
	})
	register("skip", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		n, ok, err := call.intArg(c, e, 0)
		if err != nil || !ok {
			return nil, err
		}
		if n <= 0 {
			return in, nil
		}
		if int(n) >= len(in) {
			return nil, nil
		}
		return in[n:], nil
	})
	register("take", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		n, ok, err := call.intArg(c, e, 0)
		if err != nil || !ok || n <= 0 {
			return nil, err
		}
		if int(n) >= len(in) {
			return in, nil
		}
		return in[:n:n], nil
	})
	register("intersect", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, v := range in {
			if containsValue(other, v) && !containsValue(out, v) {
				out = append(out, v)
			}
		}
		return out, nil
	})
	register("exclude", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, v := range in {
			if !containsValue(other, v) {
				out = append(out, v)
			}
		}
		return out, nil
	})

	// §5.4 combining
	register("union", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		return union(in, other), nil
	})
	register("combine", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		other, err := call.arg(c, e, 0)
		if err != nil {
			return nil, err
		}
		out := make(Collection, 0, len(in)+len(other))
		return append(append(out, in...), other...), nil
	})

	// §5.5 iif
	register("iif", 2, 3, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) > 1 {
			return nil, fmt.Errorf("iif() applies to at most one item, found %d", len(in))
		}
		sub := e
		if call.target != nil {
			sub = &env{parent: e, this: in, index: -1}
		}
		cond, err := call.args[0].eval(c, sub)
		if err != nil {
			return nil, err
		}
		if len(cond) > 1 {
			return nil, fmt.Errorf("criterion must be a single boolean")
		}
		b, known := false, false
		if len(cond) == 1 {
			s, _ := cond[0].system()
			if s.kind != KindBoolean {
				return nil, fmt.Errorf("criterion must be a boolean, found %s", s.Type())
			}
			b, known = s.data.(bool), true
		}
		if known && b {
			return call.args[1].eval(c, sub)
		}
		if len(call.args) > 2 {
			return call.args[2].eval(c, sub)
		}
		return nil, nil
	})

	// sum, min, max, avg (FHIRPath 2.0 aggregates)
	register("sum", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, n, err := total(in)
		if err != nil || n == 0 {
			return nil, err
		}
		return Collection{v}, nil
	})
	register("min", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) { return extremum(in, -1) })
	register("max", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) { return extremum(in, 1) })
	register("avg", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		v, n, err := total(in)
		if err != nil || n == 0 {
			return nil, err
		}
		r, ok, err := arith("/", v, Integer(int64(n)))
		if err != nil || !ok {
			return nil, err
		}
		return Collection{r}, nil
	})

	// §7 aggregate
	register("aggregate", 1, 2, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var total Collection
		if len(call.args) > 1 {
			var err error
			if total, err = call.arg(c, e, 1); err != nil {
				return nil, err
			}
		}
		sub := &env{parent: e}
		for i, v := range in {
			sub.one[0] = v
			sub.this, sub.index = sub.one[:], i
			sub.total = total
			if sub.total == nil {
				sub.total = Collection{}
			}
			r, err := call.args[0].eval(c, sub)
			if err != nil {
				return nil, err
			}
			total = append(Collection(nil), r...) // r may alias the reused $this slot
		}
		return total, nil
	})
}

// maxRepeat bounds repeat(): an expression such as repeat($this + 1) never
// runs out of new items.
const maxRepeat = 10000

// extremum returns the smallest (sign -1) or largest (sign 1) item.
func extremum(in Collection, sign int) (Collection, error) {
	var best Value
	found := false
	for _, v := range in {
		if hasNoValue(v) {
			continue
		}
		s, ok := v.system()
		if !ok {
			return nil, fmt.Errorf("cannot compare %s", v.Type())
		}
		if !found {
			best, found = s, true
			continue
		}
		c, ok, err := compareValues(s, best)
		if err != nil {
			return nil, err
		}
		if ok && c*sign > 0 {
			best = s
		}
	}
	if !found {
		return nil, nil
	}
	return Collection{best}, nil
}

// total adds the items (numbers or quantities); n counts them.
func total(in Collection) (Value, int, error) {
	var acc Value
	n := 0
	for _, v := range in {
		if hasNoValue(v) {
			continue
		}
		s, _ := v.system()
		if n == 0 {
			if !isNumber(s.kind) && s.kind != KindQuantity {
				return Value{}, 0, fmt.Errorf("cannot add %s", v.Type())
			}
			acc, n = s, 1
			continue
		}
		r, ok, err := arith("+", acc, s)
		if err != nil {
			return Value{}, 0, err
		}
		if !ok {
			return Value{}, 0, fmt.Errorf("cannot add %s to %s", s.Type(), acc.Type())
		}
		acc = r
		n++
	}
	return acc, n, nil
}

func subset(a, b Collection) bool {
	for _, v := range a {
		if !containsValue(b, v) {
			return false
		}
	}
	return true
}
