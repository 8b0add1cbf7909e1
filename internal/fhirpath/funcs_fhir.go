package fhirpath

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Tree navigation, utility and FHIR-specific functions (FHIRPath §5.8, §5.9,
// FHIR R4 §2.1.9.1.6 additional functions).

func init() {
	register("not", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		b, known, err := toBool(in)
		if err != nil || !known {
			return nil, err
		}
		return boolResult(!b)
	})
	register("children", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		for _, v := range in {
			out = c.allChildren(v, out)
		}
		return out, nil
	})
	register("descendants", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		queue := in
		for len(queue) > 0 {
			var next Collection
			for _, v := range queue {
				next = c.allChildren(v, next)
			}
			out = append(out, next...)
			queue = next
		}
		return out, nil
	})
	register("trace", 1, 2, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		name, _, err := call.stringArg(c, e, 0)
		if err != nil {
			return nil, err
		}
		if c.opts.Trace == nil {
			return in, nil
		}
		shown := in
		if len(call.args) > 1 {
			shown = nil
			err := call.each(c, e, in, 1, func(_ int, _ Value, r Collection) (bool, error) {
				shown = append(shown, r...)
				return true, nil
			})
			if err != nil {
				return nil, err
			}
		}
		c.opts.Trace(name, shown)
		return in, nil
	})
	register("now", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return Collection{DateTimeValue(nowValue(c.timeNow(), KindDateTime))}, nil
	})
	register("today", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return Collection{DateTimeValue(nowValue(c.timeNow(), KindDate))}, nil
	})
	register("timeOfDay", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		return Collection{DateTimeValue(nowValue(c.timeNow(), KindTime))}, nil
	})
	register("type", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		out := make(Collection, len(in))
		for i, v := range in {
			out[i] = typeOf(v)
		}
		return out, nil
	})
	register("extension", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		url, ok, err := call.stringArg(c, e, 0)
		if err != nil || !ok {
			return nil, err
		}
		var out Collection
		for _, x := range c.children(in, "extension") {
			if m, ok := x.data.(map[string]any); ok && m["url"] == url {
				out = append(out, x)
			}
		}
		return out, nil
	})
	register("hasValue", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) != 1 {
			return boolResult(false)
		}
		v := in[0]
		if v.kind != KindNode {
			return boolResult(v.kind != KindTypeInfo && v.kind != KindQuantity)
		}
		return boolResult(v.isPrimitiveNode() && v.data != nil && v.typ != "xhtml")
	})
	register("getValue", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) != 1 || !in[0].isPrimitiveNode() || in[0].data == nil {
			return nil, nil
		}
		s, ok := in[0].system()
		if !ok {
			return nil, nil
		}
		return Collection{s}, nil
	})
	register("resolve", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		var out Collection
		for _, v := range in {
			r, err := c.resolve(v)
			if err != nil {
				return nil, err
			}
			if r != nil {
				out = append(out, rootValue(r, &noOptions))
			}
		}
		return out, nil
	})
	register("memberOf", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		vs, ok, err := call.stringArg(c, e, 0)
		if err != nil || !ok || len(in) != 1 || c.opts.MemberOf == nil {
			return nil, err
		}
		b, err := c.opts.MemberOf(in[0], vs)
		if err != nil {
			return nil, err
		}
		return boolResult(b)
	})
	register("htmlChecks", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		s, ok, err := inputString(in)
		if err != nil || !ok {
			return boolResult(false)
		}
		return boolResult(htmlLooksSafe(s))
	})
	register("conformsTo", 1, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		url, ok, err := call.stringArg(c, e, 0)
		if err != nil || !ok || len(in) == 0 {
			return nil, err
		}
		const core = "http://hl7.org/fhir/StructureDefinition/"
		if !strings.HasPrefix(url, core) {
			return nil, fmt.Errorf("cannot check conformance to %s", url)
		}
		for _, v := range in {
			if !c.nodeIs(v, "FHIR", strings.TrimPrefix(url, core)) {
				return boolResult(false)
			}
		}
		return boolResult(true)
	})
	for _, name := range []string{"slice", "elementDefinition", "checkModifiers"} {
		name := name
		register(name, 0, 2, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
			return nil, fmt.Errorf("%s() is not supported", name)
		})
	}
	register("sort", 0, 10, sortFn)
}

func nowValue(t time.Time, k Kind) DateTime {
	_, off := t.Zone()
	d := DateTime{Kind: k, Year: t.Year(), Month: int(t.Month()), Day: t.Day(), Hour: t.Hour(),
		Minute: t.Minute(), Second: t.Second(), Millisecond: t.Nanosecond() / 1e6}
	switch k {
	case KindDate:
		d.Precision = PrecDay
	case KindDateTime:
		d.Precision, d.HasTZ, d.TZOffset = PrecMillisecond, true, off/60
	case KindTime:
		d.Precision = PrecMillisecond
	}
	d.clearBelow()
	return d
}

// allChildren appends every child element of v, in key order.
func (c *ctx) allChildren(v Value, out Collection) Collection {
	m, ok := v.data.(map[string]any)
	if !ok || v.kind != KindNode {
		if v.ext != nil {
			out = c.childrenOf(v, "id", out)
			out = c.childrenOf(v, "extension", out)
		}
		return out
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == "resourceType" {
			continue
		}
		if k[0] == '_' {
			if _, ok := m[k[1:]]; ok {
				continue
			}
			k = k[1:]
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = c.emit(out, v, k, m[k], m["_"+k], c.keyType(v.typ, k))
	}
	return out
}

// keyType finds the FHIR type of JSON property key (possibly a choice key
// such as valueQuantity) of a node of type parent.
func (c *ctx) keyType(parent, key string) string {
	if c.model != nil && parent != "" {
		if types, choice, ok := c.model.ChildType(parent, key); ok && !choice {
			return types[0]
		}
		for i := 1; i < len(key); i++ {
			if key[i] < 'A' || key[i] > 'Z' {
				continue
			}
			if types, choice, ok := c.model.ChildType(parent, key[:i]); ok && choice {
				for _, t := range types {
					if upperFirst(t) == key[i:] {
						return t
					}
				}
			}
		}
		return ""
	}
	return ""
}

// resolve finds the resource a Reference (or reference string) points to.
func (c *ctx) resolve(v Value) (any, error) {
	var ref string
	switch x := v.data.(type) {
	case string:
		ref = x
	case map[string]any:
		ref, _ = x["reference"].(string)
	}
	if ref == "" {
		return nil, nil
	}
	if strings.HasPrefix(ref, "#") {
		for _, r := range c.resource {
			m, _ := r.data.(map[string]any)
			cont, _ := m["contained"].([]any)
			for _, x := range cont {
				if cm, ok := x.(map[string]any); ok && cm["id"] == ref[1:] {
					return cm, nil
				}
			}
		}
		return nil, nil
	}
	if c.opts.Resolve == nil {
		return nil, nil
	}
	return c.opts.Resolve(ref)
}

// ReferenceStub is a resolver for Options.Resolve that does not fetch
// anything: for a literal reference "Type/id" (relative or absolute) it
// returns {"resourceType": Type, "id": id}, which is enough for the
// "resolve() is Patient" tests in search parameter expressions.
func ReferenceStub(ref string) (any, error) {
	ref, _, _ = strings.Cut(ref, "/_history/")
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return nil, nil
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if typ == "" || typ[0] < 'A' || typ[0] > 'Z' || id == "" {
		return nil, nil
	}
	return map[string]any{"resourceType": typ, "id": id}, nil
}

// htmlLooksSafe is the basic narrative check of htmlChecks(): an xhtml div
// without scripts, event handlers or forms (FHIR R4 Narrative rules).
func htmlLooksSafe(s string) bool {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "<div") || !strings.HasSuffix(t, "</div>") {
		return false
	}
	l := strings.ToLower(t)
	for _, bad := range []string{"<script", "<form", "<iframe", "<object", "<embed", "javascript:", " onclick", " onload", " onerror", " onmouse"} {
		if strings.Contains(l, bad) {
			return false
		}
	}
	return true
}

// sortFn implements sort() with optional key expressions; a key written
// with a leading minus sorts descending.
func sortFn(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
	type keyed struct {
		v    Value
		keys []Collection
	}
	items := make([]keyed, len(in))
	desc := make([]bool, len(call.args))
	exprs := make([]node, len(call.args))
	for i, a := range call.args {
		exprs[i] = a
		if u, ok := a.(*unaryNode); ok && u.neg {
			exprs[i], desc[i] = u.x, true
		}
	}
	sub := &env{parent: e}
	for i, v := range in {
		items[i].v = v
		sub.one[0] = v
		sub.this, sub.index = sub.one[:], i
		for _, x := range exprs {
			r, err := x.eval(c, sub)
			if err != nil {
				return nil, err
			}
			items[i].keys = append(items[i].keys, append(Collection(nil), r...))
		}
	}
	var sortErr error
	cmp := func(a, b Collection) int {
		if len(a) == 0 || len(b) == 0 {
			return len(a) - len(b)
		}
		r, _, err := compareValues(a[0], b[0])
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return r
	}
	sort.SliceStable(items, func(i, j int) bool {
		if len(exprs) == 0 {
			return cmp(Collection{items[i].v}, Collection{items[j].v}) < 0
		}
		for k := range exprs {
			r := cmp(items[i].keys[k], items[j].keys[k])
			if desc[k] {
				r = -r
			}
			if r != 0 {
				return r < 0
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make(Collection, len(items))
	for i := range items {
		out[i] = items[i].v
	}
	return out, nil
}
