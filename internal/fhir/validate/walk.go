package validate

import (
	"encoding/json"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// resourceCtx tracks what the rules on contained resources and local
// references need (https://hl7.org/fhir/R4/references.html#contained).
type resourceCtx struct {
	obj       map[string]any
	typ       string
	contained bool         // this resource is itself contained
	ids       []string     // ids of its contained resources
	localRefs []string     // "#..." references seen anywhere in it
	parent    *resourceCtx // the container, for a contained resource
}

// validateResource checks an object that must be a resource: at the root,
// in contained, in Bundle.entry.resource or Parameters.parameter.resource.
func (s *state) validateResource(obj map[string]any, contained bool) {
	rt, ok := obj["resourceType"].(string)
	if len(s.path) == 0 {
		root := rt
		if !ok || root == "" {
			root = "Resource"
		}
		s.push(root, -1)
		defer s.pop()
	}
	if !ok {
		s.errorf("structure", "missing or non-string resourceType")
		return
	}
	ti := s.v.types[rt]
	if ti == nil || !ti.isResource || ti.t.Abstract {
		s.errorf("structure", "unknown or abstract resource type %q", rt)
		return
	}
	ctx := &resourceCtx{obj: obj, typ: rt, contained: contained}
	if contained {
		ctx.parent = s.res
	}
	outer := s.res
	s.res = ctx
	if c, ok := obj["contained"].([]any); ok {
		for _, r := range c {
			if m, ok := r.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					ctx.ids = append(ctx.ids, id)
				}
			}
		}
	}
	s.validateObject(obj, ti, true)
	if contained {
		s.checkContainedRules(obj)
	}
	s.checkLocalRefs(ctx)
	s.invariants(ti.constraints, obj, obj, rt)
	s.res = outer
	if contained && outer != nil {
		// References inside a contained resource count for the container's
		// dom-3 check: contained resources may refer to each other.
		outer.localRefs = append(outer.localRefs, ctx.localRefs...)
	}
}

// validateObject checks the properties of a JSON object of type ti.
func (s *state) validateObject(obj map[string]any, ti *typeInfo, isResource bool) {
	if len(obj) == 0 {
		s.errorf("value", "an object must have content (ele-1)")
		return
	}
	var choices [4]*defs.Element
	nchoices := 0
	for key, val := range obj {
		if isResource && key == "resourceType" {
			continue
		}
		if len(key) > 1 && key[0] == '_' {
			s.primitiveExtension(obj, ti, key, val)
			continue
		}
		c := ti.children[key]
		if c == nil {
			s.push(key, -1)
			s.errorf("structure", "unrecognized element %q in %s", key, ti.name)
			s.pop()
			continue
		}
		if c.elem.Choice {
			dup := false
			for _, e := range choices[:nchoices] {
				if e == c.elem {
					dup = true
				}
			}
			if dup {
				s.push(key, -1)
				s.errorf("structure", "more than one type given for the choice element %s[x]", c.elem.Name)
				s.pop()
			} else if nchoices < len(choices) {
				choices[nchoices] = c.elem
				nchoices++
			}
		}
		s.property(obj, key, val, c)
	}
	for _, r := range ti.required {
		if !hasAny(obj, r.names) {
			name := r.elem.Name
			if r.elem.Choice {
				name += "[x]"
			}
			s.push(name, -1)
			s.errorf("required", "%s: minimum required = %d, but only found 0", r.elem.Path, r.elem.Min)
			s.pop()
		}
	}
}

func hasAny(obj map[string]any, names []string) bool {
	for _, n := range names {
		if _, ok := obj[n]; ok {
			return true
		}
	}
	return false
}

// property checks one property against its cardinality and type.
// https://hl7.org/fhir/R4/json.html#arrays: an element that may repeat is
// always an array, one that may not never is.
func (s *state) property(obj map[string]any, key string, val any, c *childInfo) {
	arr, isArr := val.([]any)
	if !c.array {
		s.push(key, -1)
		defer s.pop()
		if isArr {
			s.errorf("structure", "%s is not a repeating element: expected a single value, not an array", c.elem.Path)
			return
		}
		s.value(obj, key, -1, val, c)
		return
	}
	if !isArr {
		s.push(key, -1)
		s.errorf("structure", "%s is a repeating element: expected an array", c.elem.Path)
		s.pop()
		return
	}
	if len(arr) == 0 {
		s.push(key, -1)
		s.errorf("value", "arrays must not be empty")
		s.pop()
		return
	}
	if c.elem.Max > 1 && len(arr) > c.elem.Max {
		s.push(key, -1)
		s.errorf("structure", "%s: maximum allowed = %d, but found %d", c.elem.Path, c.elem.Max, len(arr))
		s.pop()
	}
	for i, item := range arr {
		s.push(key, i)
		s.value(obj, key, i, item, c)
		s.pop()
	}
}

// value checks one value (an array item, or the whole property).
func (s *state) value(obj map[string]any, key string, idx int, val any, c *childInfo) {
	if val == nil {
		// null is only allowed in a primitive array whose _key partner has
		// extensions at that index (https://hl7.org/fhir/R4/json.html#primitive).
		if c.prim == notPrimitive || idx < 0 || !partnerHasValue(obj, "_"+key, idx) {
			s.errorf("structure", "null is not allowed here")
		}
		return
	}
	if c.prim != notPrimitive {
		s.primitive(val, c)
		s.invariants(c.constraints, s.res.obj, val, c.typeName)
		return
	}
	if c.special == spResource {
		m, ok := val.(map[string]any)
		if !ok {
			s.errorf("structure", "expected a resource (a JSON object)")
			return
		}
		s.validateResource(m, c.elem.Name == "contained")
		return
	}
	m, ok := val.(map[string]any)
	if !ok {
		s.errorf("structure", "expected a JSON object for %s", c.typeName)
		return
	}
	s.validateObject(m, c.ti, false)
	switch c.special {
	case spReference:
		s.checkReference(m, c)
	case spExtension:
		s.checkExtension(m)
	case spCoding:
		s.checkCoding(m, c)
	case spCodeableConcept:
		s.checkCodeableConcept(m, c)
	}
	s.invariants(c.constraints, s.res.obj, m, c.typeName)
}

func partnerHasValue(obj map[string]any, partner string, idx int) bool {
	a, ok := obj[partner].([]any)
	return ok && idx < len(a) && a[idx] != nil
}

// primitiveExtension checks "_name": the id and extensions of a primitive
// (https://hl7.org/fhir/R4/json.html#primitive).
func (s *state) primitiveExtension(obj map[string]any, ti *typeInfo, key string, val any) {
	name := key[1:]
	c := ti.children[name]
	s.push(key, -1)
	defer s.pop()
	if c == nil {
		s.errorf("structure", "unrecognized element %q in %s", key, ti.name)
		return
	}
	if c.prim == notPrimitive {
		s.errorf("structure", "%s is not a primitive element and cannot have %s", name, key)
		return
	}
	if !c.array {
		m, ok := val.(map[string]any)
		if !ok {
			s.errorf("structure", "%s must be an object", key)
			return
		}
		s.validateObject(m, s.v.element, false)
		return
	}
	arr, ok := val.([]any)
	if !ok {
		s.errorf("structure", "%s must be an array, as %s repeats", key, name)
		return
	}
	values, hasValues := obj[name].([]any)
	if hasValues && len(values) != len(arr) {
		s.errorf("structure", "%s and %s must have the same length (%d != %d)", name, key, len(values), len(arr))
	}
	s.pop()
	for i, item := range arr {
		s.push(key, i)
		switch m := item.(type) {
		case nil:
			if !hasValues || i >= len(values) || values[i] == nil {
				s.errorf("structure", "null in %s without a value in %s", key, name)
			}
		case map[string]any:
			s.validateObject(m, s.v.element, false)
		default:
			s.errorf("structure", "%s items must be objects or null", key)
		}
		s.pop()
	}
	s.push(key, -1) // balanced by the deferred pop
}

// invariants hands the definitions' FHIRPath constraints to the hook.
func (s *state) invariants(cs []*defs.Constraint, res map[string]any, node any, nodeType string) {
	f := s.v.opts.Invariants
	if f == nil || len(cs) == 0 {
		return
	}
	for _, c := range cs {
		ok, err := f(c.Expression, res, node, nodeType)
		switch {
		case err != nil:
			s.report("warning", "invariant", "%s: could not evaluate %q: %v", c.Key, c.Expression, err)
		case !ok:
			sev := c.Severity
			if advisory[c.Key] || sev != "error" {
				sev = "warning"
			}
			s.report(sev, "invariant", "%s: %s", c.Key, c.Human)
		}
	}
}

// number reports whether v is a JSON number and its text.
func number(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	}
	return "", false
}
