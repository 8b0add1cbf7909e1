package fhirpath

import (
	"fmt"
	"time"
)

// EvalError is an evaluation failure (FHIRPath signals an error rather than
// an empty result, e.g. single() on two items or 'a' - 'b').
type EvalError struct {
	Expr string
	Msg  string
}

func (e *EvalError) Error() string { return fmt.Sprintf("fhirpath: evaluating %q: %s", e.Expr, e.Msg) }

type node interface {
	eval(c *ctx, e *env) (Collection, error)
}

// ctx holds what is fixed for one evaluation.
type ctx struct {
	opts     *Options
	model    Model
	resource Collection
	context  Collection
	now      time.Time
	nowSet   bool
}

// env is the iteration state: $this (the focus of a leading identifier), $index, $total.
type env struct {
	this   Collection
	index  int
	total  Collection
	parent *env
	one    [1]Value
}

func (c *ctx) errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

func (c *ctx) timeNow() time.Time {
	if !c.nowSet {
		if c.opts.Now != nil {
			c.now = c.opts.Now()
		} else {
			c.now = time.Now()
		}
		c.nowSet = true
	}
	return c.now
}

var noOptions Options

// Evaluate runs the expression against input, which may be a JSON node
// (typically a resource as map[string]any), a Value or a Collection. The
// input is also %resource and %context.
func (e *Expression) Evaluate(input any, opts *Options) (Collection, error) {
	if opts == nil {
		opts = &noOptions
	}
	// one allocation for the whole evaluation state
	st := &struct {
		c  ctx
		en env
	}{}
	var in Collection
	switch x := input.(type) {
	case nil:
	case Collection:
		in = x
	case []Value:
		in = x
	case Value:
		st.en.one[0] = x
		in = st.en.one[:]
	default:
		st.en.one[0] = rootValue(x, opts)
		in = st.en.one[:]
	}
	st.c = ctx{opts: opts, model: opts.Model, context: in, resource: in}
	st.en.this, st.en.index = in, -1
	res, err := e.root.eval(&st.c, &st.en)
	if err != nil {
		return nil, &EvalError{Expr: e.src, Msg: err.Error()}
	}
	return res, nil
}

func rootValue(x any, opts *Options) Value {
	typ := opts.RootType
	if m, ok := x.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			typ = rt
		}
	}
	v := Value{data: x, typ: typ}
	if opts.Paths {
		v.path = typ
	}
	return v
}

// ---- terms ----

type literalNode struct {
	v     Value
	empty bool
}

func (n *literalNode) eval(*ctx, *env) (Collection, error) {
	if n.empty {
		return nil, nil
	}
	return Collection{n.v}, nil
}

type specialNode struct{ name string }

func (n *specialNode) eval(c *ctx, e *env) (Collection, error) {
	switch n.name {
	case "$this":
		return e.this, nil
	case "$index":
		for x := e; x != nil; x = x.parent {
			if x.index >= 0 {
				return Collection{Integer(int64(x.index))}, nil
			}
		}
		return nil, nil
	default: // $total
		for x := e; x != nil; x = x.parent {
			if x.total != nil {
				return x.total, nil
			}
		}
		return nil, nil
	}
}

type varNode struct{ name string }

func (n *varNode) eval(c *ctx, e *env) (Collection, error) {
	if v, ok := c.opts.Variables[n.name]; ok {
		return toCollection(v, c.opts), nil
	}
	switch n.name {
	case "resource", "rootResource":
		return c.resource, nil
	case "context":
		return c.context, nil
	case "ucum":
		return Collection{String(ucumSystem)}, nil
	case "sct":
		return Collection{String("http://snomed.info/sct")}, nil
	case "loinc":
		return Collection{String("http://loinc.org")}, nil
	}
	if len(n.name) > 3 && n.name[:3] == "vs-" {
		return Collection{String("http://hl7.org/fhir/ValueSet/" + n.name[3:])}, nil
	}
	if len(n.name) > 4 && n.name[:4] == "ext-" {
		return Collection{String("http://hl7.org/fhir/StructureDefinition/" + n.name[4:])}, nil
	}
	return nil, c.errorf("undefined variable %%%s", n.name)
}

// toCollection converts a caller-supplied variable to a collection.
func toCollection(v any, opts *Options) Collection {
	switch x := v.(type) {
	case nil:
		return nil
	case Collection:
		return x
	case []Value:
		return x
	case Value:
		return Collection{x}
	case bool:
		return Collection{Boolean(x)}
	case string:
		return Collection{String(x)}
	case int:
		return Collection{Integer(int64(x))}
	case int64:
		return Collection{Integer(x)}
	case Decimal:
		return Collection{DecimalValue(x)}
	case DateTime:
		return Collection{DateTimeValue(x)}
	case Quantity:
		return Collection{QuantityValue(x)}
	case []any:
		out := make(Collection, 0, len(x))
		for _, it := range x {
			out = append(out, rootValue(it, &Options{}))
		}
		return out
	}
	return Collection{rootValue(v, &Options{})}
}

type identNode struct{ name string }

// eval of a leading identifier: a type name matching the focus selects the
// focus itself ("Patient.name" on a Patient); otherwise it is a child name.
func (n *identNode) eval(c *ctx, e *env) (Collection, error) {
	if nm := n.name; nm != "" && nm[0] >= 'A' && nm[0] <= 'Z' {
		all := true
		var matched Collection
		for i, v := range e.this {
			if v.kind == KindNode && c.nodeIs(v, "", nm) {
				if !all {
					matched = append(matched, v)
				}
				continue
			}
			if all {
				matched = append(Collection{}, e.this[:i]...)
				all = false
			}
		}
		if all && len(e.this) > 0 {
			return e.this, nil
		}
		if len(matched) > 0 {
			return matched, nil
		}
	}
	return c.children(e.this, n.name), nil
}

type memberNode struct {
	left node
	name string
}

func (n *memberNode) eval(c *ctx, e *env) (Collection, error) {
	in, err := n.left.eval(c, e)
	if err != nil {
		return nil, err
	}
	return c.children(in, n.name), nil
}

type indexNode struct{ left, index node }

func (n *indexNode) eval(c *ctx, e *env) (Collection, error) {
	in, err := n.left.eval(c, e)
	if err != nil {
		return nil, err
	}
	ix, err := n.index.eval(c, e)
	if err != nil {
		return nil, err
	}
	if len(ix) == 0 {
		return nil, nil
	}
	i, ok := asInteger(ix[0])
	if len(ix) != 1 || !ok {
		return nil, c.errorf("indexer must be a single integer")
	}
	if i < 0 || int(i) >= len(in) {
		return nil, nil
	}
	return Collection{in[i]}, nil
}

type unaryNode struct {
	neg bool
	x   node
}

func (n *unaryNode) eval(c *ctx, e *env) (Collection, error) {
	in, err := n.x.eval(c, e)
	if err != nil || len(in) == 0 {
		return nil, err
	}
	if len(in) > 1 {
		return nil, c.errorf("unary %s needs a single item, found %d", map[bool]string{true: "-", false: "+"}[n.neg], len(in))
	}
	v, _ := in[0].system()
	switch v.kind {
	case KindInteger, KindDecimal, KindQuantity:
	default:
		return nil, c.errorf("polarity operator needs a number or quantity, found %s", in[0].Type())
	}
	if !n.neg {
		return Collection{v}, nil
	}
	r, _ := negateLiteral(v)
	return Collection{r}, nil
}

func negateLiteral(v Value) (Value, bool) {
	switch x := v.data.(type) {
	case int64:
		if v.kind == KindInteger {
			return Integer(-x), true
		}
	case Decimal:
		return DecimalValue(x.Neg()), true
	case Quantity:
		return QuantityValue(Quantity{Value: x.Value.Neg(), Unit: x.Unit}), true
	}
	return v, false
}

func asInteger(v Value) (int64, bool) {
	s, ok := v.system()
	if !ok || s.kind != KindInteger {
		return 0, false
	}
	return s.data.(int64), true
}

// ---- function calls ----

type funcDef struct {
	minArgs, maxArgs int
	typeArg          bool // first argument is a type specifier
	fn               func(c *ctx, e *env, in Collection, call *callNode) (Collection, error)
}

type callNode struct {
	target node // nil: the function applies to $this
	def    *funcDef
	args   []node
	name   string
	typ    typeSpec
}

func (n *callNode) eval(c *ctx, e *env) (Collection, error) {
	in := e.this
	if n.target != nil {
		var err error
		if in, err = n.target.eval(c, e); err != nil {
			return nil, err
		}
	}
	r, err := n.def.fn(c, e, in, n)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", n.name, err)
	}
	return r, nil
}

// arg evaluates argument i with the caller's $this as focus (FHIRPath §5: non-lambda arguments).
func (n *callNode) arg(c *ctx, e *env, i int) (Collection, error) {
	if i >= len(n.args) {
		return nil, nil
	}
	return n.args[i].eval(c, e)
}

// singleArg evaluates argument i and requires at most one item.
func (n *callNode) singleArg(c *ctx, e *env, i int) (Value, bool, error) {
	r, err := n.arg(c, e, i)
	if err != nil {
		return Value{}, false, err
	}
	if len(r) == 0 {
		return Value{}, false, nil
	}
	if len(r) > 1 {
		return Value{}, false, fmt.Errorf("argument %d must be a single item, found %d", i+1, len(r))
	}
	s, ok := r[0].system()
	if !ok {
		return r[0], true, nil
	}
	return s, true, nil
}

// stringArg evaluates argument i as a single string.
func (n *callNode) stringArg(c *ctx, e *env, i int) (string, bool, error) {
	v, ok, err := n.singleArg(c, e, i)
	if err != nil || !ok {
		return "", ok, err
	}
	if v.kind != KindString {
		return "", false, fmt.Errorf("argument %d must be a string, found %s", i+1, v.Type())
	}
	return v.data.(string), true, nil
}

// intArg evaluates argument i as a single integer.
func (n *callNode) intArg(c *ctx, e *env, i int) (int64, bool, error) {
	v, ok, err := n.singleArg(c, e, i)
	if err != nil || !ok {
		return 0, ok, err
	}
	if v.kind != KindInteger {
		return 0, false, fmt.Errorf("argument %d must be an integer, found %s", i+1, v.Type())
	}
	return v.data.(int64), true, nil
}

// each evaluates argument i once per input item with $this and $index set (FHIRPath §5.2).
func (n *callNode) each(c *ctx, e *env, in Collection, i int, f func(idx int, item Value, r Collection) (bool, error)) error {
	sub := &env{parent: e, total: nil}
	for idx, item := range in {
		sub.one[0] = item
		sub.this = sub.one[:]
		sub.index = idx
		r, err := n.args[i].eval(c, sub)
		if err != nil {
			return err
		}
		more, err := f(idx, item, r)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
