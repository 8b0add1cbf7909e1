package search

import (
	"regexp"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// The SearchParameter expressions of FHIR R4 and US Core are, for all but a
// few dozen branches, plain paths with an occasional type cast or a
// where() on a literal or on resolve()'s type. Those are compiled into a
// pathExpr and walked directly over the JSON, with the element types taken
// from the definitions: no FHIRPath machinery, no allocation beyond the
// result list. Anything else goes to the FHIRPath engine.

// pathExpr is one union branch: Root.step.step...
type pathExpr struct {
	root  string // the type the branch starts from; "" for a relative path
	steps []pathStep
}

// pathStep selects a child element, then optionally narrows the result.
type pathStep struct {
	name string
	cast string // as(T) / ofType(T): keep only values of type T
	// where(resolve() is T): keep References whose target type is T.
	resolveIs string
	// where(field = 'lit'): keep nodes whose primitive child field is lit.
	field, lit string
}

// typed is a node of the JSON tree with its FHIR type and, when known, the
// element that holds it (for required-binding code systems).
type typed struct {
	node any
	typ  string
	elem *defs.Element
}

var (
	reAsGroup   = regexp.MustCompile(`^\(([^()]*) as ([A-Za-z]+)\)(.*)$`)
	reIdent     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	reResolveIs = regexp.MustCompile(`^resolve\(\)\s+is\s+([A-Za-z]+)$`)
	reFieldLit  = regexp.MustCompile(`^([A-Za-z]+)\s*=\s*'([^'\\]*)'$`)
)

// parsePath compiles one union branch, or returns nil when it is beyond the
// simple subset. relative says the branch has no root type (component
// expressions).
func parsePath(branch string, relative bool) *pathExpr {
	b := strings.TrimSpace(branch)
	if m := reAsGroup.FindStringSubmatch(b); m != nil {
		b = strings.TrimSpace(m[1]) + ".as(" + m[2] + ")" + m[3]
	}
	segs, ok := splitSegments(b)
	if !ok || len(segs) == 0 {
		return nil
	}
	pe := &pathExpr{}
	if !relative {
		if !reIdent.MatchString(segs[0]) {
			return nil
		}
		pe.root, segs = segs[0], segs[1:]
	}
	for _, s := range segs {
		if reIdent.MatchString(s) {
			pe.steps = append(pe.steps, pathStep{name: s})
			continue
		}
		fn, arg, ok := splitCall(s)
		if !ok || len(pe.steps) == 0 {
			return nil
		}
		last := &pe.steps[len(pe.steps)-1]
		if last.cast != "" || last.resolveIs != "" || last.field != "" {
			return nil
		}
		switch fn {
		case "as", "ofType":
			if !reIdent.MatchString(arg) {
				return nil
			}
			last.cast = arg
		case "where":
			if m := reResolveIs.FindStringSubmatch(arg); m != nil {
				last.resolveIs = m[1]
			} else if m := reFieldLit.FindStringSubmatch(arg); m != nil {
				last.field, last.lit = m[1], m[2]
			} else {
				return nil
			}
		default:
			return nil
		}
	}
	return pe
}

// splitSegments splits at dots outside parentheses and quotes.
func splitSegments(s string) ([]string, bool) {
	var out []string
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '\'' {
				quoted = false
			}
		case c == '\'':
			quoted = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, false
			}
		case c == '.' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if depth != 0 || quoted {
		return nil, false
	}
	return append(out, strings.TrimSpace(s[start:])), true
}

// splitCall splits "fn(arg)".
func splitCall(s string) (fn, arg string, ok bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") || !reIdent.MatchString(s[:i]) {
		return "", "", false
	}
	return s[:i], strings.TrimSpace(s[i+1 : len(s)-1]), true
}

// walker evaluates pathExprs over JSON with the definitions' types.
type walker struct {
	d *defs.Definitions
}

// eval appends the values of pe, starting from node of type typ, to out.
// sc provides the intermediate buffers, reused across calls.
func (w *walker) eval(pe *pathExpr, node any, typ string, out []typed, sc *scratch) []typed {
	cur := append(sc.a[:0], typed{node: node, typ: typ})
	next := sc.b[:0]
	for i := range pe.steps {
		st := &pe.steps[i]
		next = next[:0]
		for _, t := range cur {
			next = w.children(t, st, next)
		}
		cur, next = next, cur
		if len(cur) == 0 {
			break
		}
	}
	out = append(out, cur...)
	sc.a, sc.b = cur[:0], next[:0]
	return out
}

// scratch holds reusable buffers for one Index call.
type scratch struct {
	a, b []typed
	vals []typed
	comp []typed
}

// children appends the values of step st under t.
func (w *walker) children(t typed, st *pathStep, out []typed) []typed {
	obj, ok := t.node.(map[string]any)
	if !ok {
		return out
	}
	ty := w.d.Type(t.typ)
	if ty == nil {
		return out
	}
	el := ty.Element(st.name)
	start := len(out)
	if el == nil {
		// A choice element by its JSON name ("valueDateTime"), as a few
		// US Core expressions write it.
		c, ok := ty.JSONChild(st.name)
		if !ok {
			return out
		}
		out = appendValues(out, obj[st.name], c.Type, c.Element)
		if st.cast != "" {
			out = w.keepType(out, start, st.cast)
		}
		return w.filter(out, start, st)
	}
	if el.Choice {
		if st.cast != "" {
			key := st.name + strings.ToUpper(st.cast[:1]) + st.cast[1:]
			out = appendValues(out, obj[key], st.cast, el)
		} else {
			for key, v := range obj {
				if !strings.HasPrefix(key, st.name) || len(key) == len(st.name) {
					continue
				}
				if c, ok := ty.JSONChild(key); ok && c.Element == el {
					out = appendValues(out, v, c.Type, el)
				}
			}
		}
	} else if len(el.TypeNames) > 0 {
		out = appendValues(out, obj[st.name], el.TypeNames[0], el)
		if st.cast != "" {
			out = w.keepType(out, start, st.cast)
		}
	}
	return w.filter(out, start, st)
}

// filter applies a step's where() to out[start:].
func (w *walker) filter(out []typed, start int, st *pathStep) []typed {
	switch {
	case st.resolveIs != "":
		out = keep(out, start, func(v typed) bool { return referenceType(v.node) == st.resolveIs })
	case st.field != "":
		out = keep(out, start, func(v typed) bool {
			m, _ := v.node.(map[string]any)
			s, _ := m[st.field].(string)
			return s == st.lit
		})
	}
	return out
}

func appendValues(out []typed, v any, typ string, el *defs.Element) []typed {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			if e != nil {
				out = append(out, typed{node: e, typ: typ, elem: el})
			}
		}
	default:
		out = append(out, typed{node: x, typ: typ, elem: el})
	}
	return out
}

func (w *walker) keepType(out []typed, start int, typ string) []typed {
	return keep(out, start, func(v typed) bool { return w.d.IsSubtype(v.typ, typ) })
}

// keep filters out[start:] in place.
func keep(out []typed, start int, ok func(typed) bool) []typed {
	n := start
	for _, v := range out[start:] {
		if ok(v) {
			out[n] = v
			n++
		}
	}
	return out[:n]
}

// referenceType is the resource type a Reference node points at, from its
// literal reference ("Patient/1", "http://x/fhir/Patient/1") or its type
// element: what resolve() is T needs, without a database.
func referenceType(node any) string {
	m, _ := node.(map[string]any)
	if m == nil {
		return ""
	}
	if ref, ok := m["reference"].(string); ok {
		if typ, _, ok := splitAnyReference(ref); ok {
			return typ
		}
	}
	s, _ := m["type"].(string)
	return s
}

// splitAnyReference splits a relative "Type/id[/_history/v]" reference or
// an absolute one that ends in Type/id[/_history/v] ([base]/Type/id).
// It runs for every reference of every resource written, so it avoids
// regular expressions and allocation.
func splitAnyReference(ref string) (typ, id string, ok bool) {
	if strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") || strings.IndexByte(ref, '?') >= 0 {
		return "", "", false
	}
	abs := false
	if i := strings.Index(ref, "://"); i >= 0 {
		abs = true
		ref = ref[i+3:]
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	j := strings.LastIndexByte(ref, '/')
	if j <= 0 {
		return "", "", false
	}
	id = ref[j+1:]
	head := ref[:j]
	k := strings.LastIndexByte(head, '/')
	if k >= 0 {
		if !abs {
			return "", "", false // a relative reference is exactly Type/id
		}
		typ = head[k+1:]
	} else {
		if abs {
			return "", "", false // host/id: no type
		}
		typ = head
	}
	if !isTypeName(typ) || !isID(id) {
		return "", "", false
	}
	return typ, id, true
}

// isTypeName reports whether s looks like a resource type name.
func isTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isID reports whether s is a valid logical id
// (https://hl7.org/fhir/R4/datatypes.html#id).
func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
