package validate

import (
	"sync"

	"github.com/openchart/openchart/internal/fhirpath"
)

// FHIRPathInvariants returns an InvariantFunc that evaluates constraint
// expressions with the FHIRPath engine (https://hl7.org/fhir/R4/conformance-rules.html#constraints).
// Each expression is compiled once and shared by all callers. A constraint
// holds when its expression yields true or nothing; an expression that does
// not compile or fails to evaluate is reported by the validator as a
// warning, never silently passed.
func FHIRPathInvariants(m fhirpath.Model) InvariantFunc {
	var cache sync.Map // expression -> *compiled
	type compiled struct {
		expr *fhirpath.Expression
		err  error
	}
	// The options of an evaluation are taken from a pool: the resource
	// variables change from call to call, the rest does not, and a fresh
	// options value and variables map per invariant were among the
	// validator's most frequent allocations. Evaluate keeps neither.
	pool := sync.Pool{New: func() any {
		return &fhirpath.Options{Model: m, Resolve: fhirpath.ReferenceStub, Variables: make(map[string]any, 2)}
	}}
	return func(expr string, res map[string]any, node any, nodeType string) (bool, error) {
		v, ok := cache.Load(expr)
		if !ok {
			e, err := fhirpath.Compile(expr)
			v, _ = cache.LoadOrStore(expr, &compiled{e, err})
		}
		c := v.(*compiled)
		if c.err != nil {
			return false, c.err
		}
		opts := pool.Get().(*fhirpath.Options)
		opts.Variables["resource"], opts.Variables["rootResource"] = res, res
		out, err := c.expr.Evaluate(fhirpath.NodeValue(node, nodeType), opts)
		opts.Variables["resource"], opts.Variables["rootResource"] = nil, nil
		pool.Put(opts)
		if err != nil {
			return false, err
		}
		if len(out) == 0 {
			return true, nil
		}
		b, isBool := out[0].Primitive()
		return len(out) == 1 && isBool && b == true, nil
	}
}
