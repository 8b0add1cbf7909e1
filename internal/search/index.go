package search

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhirpath"
	"github.com/openchart/openchart/internal/store"
)

// Indexer extracts the search-index rows of resources: for every search
// parameter of the resource's type, its FHIRPath expression's values,
// converted by their FHIR type (https://hl7.org/fhir/R4/search.html#ptypes),
// and the compartments the resource belongs to
// (https://hl7.org/fhir/R4/compartmentdefinition.html). It is immutable
// and safe for concurrent use.
type Indexer struct {
	d      *defs.Definitions
	params *Registry
	base   string // this server's base URL with a trailing "/", or ""
	w      walker
	opts   *fhirpath.Options
	byType map[string]*typeIndex
	// unindexed lists parameters left out, with why (expressions the
	// FHIRPath engine cannot compile).
	unindexed []string
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release returns sc to the pool, dropping buffers grown by an unusually
// large resource so that the pool does not keep them (or its nodes) alive.
func (sc *scratch) release() {
	const keep = 256
	for _, b := range []*[]typed{&sc.a, &sc.b, &sc.vals, &sc.comp} {
		if cap(*b) > keep {
			*b = nil
		} else {
			clear((*b)[:cap(*b)])
		}
	}
	scratchPool.Put(sc)
}

// typeIndex is what indexing one resource type needs, computed once.
type typeIndex struct {
	// hint sizes the row slices up front.
	hint   struct{ tokens, refs int }
	params []*indexParam
	// compartments maps a reference parameter code to the compartment types
	// its targets put the resource in.
	compartments map[string][]string
	// focus lists the compartments whose focus is this type itself (a
	// Patient is in its own Patient compartment).
	focus []string
}

// indexParam is one search parameter prepared for one resource type.
type indexParam struct {
	code  string
	kind  store.Kind
	eval  evaluator
	comps []indexComp
}

// indexComp is one component of a composite parameter.
type indexComp struct {
	code string
	kind store.Kind
	eval evaluator
}

// evaluator yields the values of an expression: the simple-path fast path,
// or the FHIRPath engine.
type evaluator struct {
	paths []*pathExpr
	expr  *fhirpath.Expression
}

// NewIndexer prepares the embedded definitions' search parameters of every
// resource type: each expression is compiled once, and parameters are
// listed per type.
func NewIndexer(d *defs.Definitions) (*Indexer, error) {
	if d == nil {
		return nil, fmt.Errorf("search: no definitions")
	}
	return NewIndexerFrom(CoreRegistry(d))
}

// NewIndexerFrom is NewIndexer over the parameters of r, core and custom.
// Everything is prepared here, so custom parameters cost indexing nothing
// beyond their own evaluation.
func NewIndexerFrom(r *Registry) (*Indexer, error) {
	if r == nil || r.Defs() == nil {
		return nil, fmt.Errorf("search: no definitions")
	}
	d := r.Defs()
	ix := &Indexer{d: d, params: r, w: walker{d: d}, byType: map[string]*typeIndex{}}
	ix.opts = &fhirpath.Options{Model: d, Resolve: fhirpath.ReferenceStub}
	compiled := map[string]*fhirpath.Expression{}
	failed := map[string]bool{}
	compile := func(expr string) *fhirpath.Expression {
		if e, ok := compiled[expr]; ok {
			return e
		}
		if failed[expr] {
			return nil
		}
		e, err := fhirpath.Compile(expr)
		if err != nil {
			failed[expr] = true
			ix.unindexed = append(ix.unindexed, fmt.Sprintf("%q: %v", expr, err))
			return nil
		}
		compiled[expr] = e
		return e
	}
	for _, rt := range d.ResourceTypes() {
		ti := &typeIndex{compartments: map[string][]string{}}
		for _, sp := range r.SearchParams(rt) {
			if p := ix.prepare(rt, sp, compile); p != nil {
				ti.params = append(ti.params, p)
				switch p.kind {
				case store.KindToken:
					ti.hint.tokens++
				case store.KindReference:
					ti.hint.refs++
				}
			}
		}
		for _, name := range compartmentTypes {
			comp := d.Compartment(name)
			if comp == nil {
				continue
			}
			for _, code := range comp.Params(rt) {
				if code == "{def}" {
					ti.focus = append(ti.focus, name)
					continue
				}
				ti.compartments[code] = append(ti.compartments[code], name)
			}
		}
		if rt == "Patient" && !containsStr(ti.focus, "Patient") {
			ti.focus = append(ti.focus, "Patient")
		}
		ix.byType[rt] = ti
	}
	sort.Strings(ix.unindexed)
	return ix, nil
}

// compartmentTypes are the compartments of FHIR R4.
var compartmentTypes = []string{"Patient", "Encounter", "RelatedPerson", "Practitioner", "Device"}

func containsStr(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// WithBaseURL returns a copy of the Indexer that treats absolute references
// under base (this server's own base URL, "https://ehr.example/fhir") as
// the local references they are. Without it, every absolute reference is
// indexed by URL only.
func (ix *Indexer) WithBaseURL(base string) *Indexer {
	c := *ix
	c.base = ""
	if base != "" {
		c.base = strings.TrimSuffix(base, "/") + "/"
	}
	return &c
}

// Unindexed lists the search parameter expressions that could not be
// prepared and are therefore not indexed, with the reason.
func (ix *Indexer) Unindexed() []string { return ix.unindexed }

// prepare builds the indexParam of sp for resource type rt, or nil for
// parameters that have no index rows: _id and _lastUpdated (stores match
// them on the record), those without an expression (_text, _content...) and
// special ones.
func (ix *Indexer) prepare(rt string, sp *defs.SearchParam, compile func(string) *fhirpath.Expression) *indexParam {
	if _, special := specialKind(sp.Code); special || sp.Expression == "" {
		return nil
	}
	kind, ok := kindOf(sp.Type)
	if !ok {
		return nil
	}
	ev, ok := ix.evaluatorFor(rt, sp.Expression, false, compile)
	if !ok {
		return nil
	}
	p := &indexParam{code: sp.Code, kind: kind, eval: ev}
	if kind == store.KindComposite {
		for _, c := range sp.Component {
			def := ix.params.SearchParamByURL(c.Definition)
			if def == nil {
				return nil
			}
			ck, ok := kindOf(def.Type)
			if !ok || ck == store.KindComposite {
				return nil
			}
			cev, ok := ix.evaluatorFor("", c.Expression, true, compile)
			if !ok {
				return nil
			}
			p.comps = append(p.comps, indexComp{code: def.Code, kind: ck, eval: cev})
		}
	}
	return p
}

// evaluatorFor splits expr into union branches, keeps those that apply to
// resource type rt (all of them for a relative expression) and compiles
// them to simple paths; when any branch is beyond them, the whole
// expression goes to the FHIRPath engine instead. ok is false when nothing
// applies or nothing compiles.
func (ix *Indexer) evaluatorFor(rt, expr string, relative bool, compile func(string) *fhirpath.Expression) (evaluator, bool) {
	var ev evaluator
	simple := true
	for _, br := range splitUnion(expr) {
		pe := parsePath(br, relative)
		if pe == nil {
			simple = false
			break
		}
		if !relative && ix.d.Type(pe.root) == nil {
			// A branch without a type name ("name | alias" on
			// InsurancePlan) starts from the resource itself.
			pe = parsePath(br, true)
		} else if !relative && !ix.d.IsSubtype(rt, pe.root) {
			continue
		}
		ev.paths = append(ev.paths, pe)
	}
	if simple {
		return ev, len(ev.paths) > 0
	}
	ev = evaluator{expr: compile(expr)}
	return ev, ev.expr != nil
}

// splitUnion splits an expression at the "|" operators outside parentheses
// and quotes.
func splitUnion(expr string) []string {
	var out []string
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
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
		case c == '|' && depth == 0:
			out = append(out, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(expr[start:]))
}

// values appends the values of ev over node (of type typ) to out.
func (ix *Indexer) values(ev *evaluator, node any, typ string, out []typed, sc *scratch) ([]typed, error) {
	if ev.expr == nil {
		for _, pe := range ev.paths {
			out = ix.w.eval(pe, node, typ, out, sc)
		}
		return out, nil
	}
	var in any = node
	if m, ok := node.(map[string]any); !ok || m["resourceType"] == nil {
		in = fhirpath.NodeValue(node, typ)
	}
	col, err := ev.expr.Evaluate(in, ix.opts)
	if err != nil {
		return out, err
	}
	for _, v := range col {
		if t, ok := fromValue(v); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// fromValue turns a FHIRPath result into a typed JSON value.
func fromValue(v fhirpath.Value) (typed, bool) {
	if v.IsNode() {
		if v.JSON() == nil {
			return typed{}, false
		}
		return typed{node: v.JSON(), typ: v.Type()}, true
	}
	switch v.Kind() {
	case fhirpath.KindString:
		return typed{node: v.String(), typ: "string"}, true
	case fhirpath.KindBoolean:
		return typed{node: v.JSON(), typ: "boolean"}, true
	case fhirpath.KindInteger:
		return typed{node: v.JSON(), typ: "integer"}, true
	case fhirpath.KindDecimal:
		return typed{node: v.JSON(), typ: "decimal"}, true
	case fhirpath.KindDate:
		return typed{node: v.String(), typ: "date"}, true
	case fhirpath.KindDateTime:
		return typed{node: v.String(), typ: "dateTime"}, true
	case fhirpath.KindQuantity:
		return typed{node: v.JSON(), typ: "Quantity"}, true
	}
	return typed{}, false
}

// Index returns the index rows of a resource. Rows of _id and _lastUpdated
// are not produced: stores match those on the record itself. A value the
// definitions type in a way its parameter type does not cover (a string
// where a date is expected, say) gives no row.
func (ix *Indexer) Index(res map[string]any) (store.Index, error) {
	var out store.Index
	typ := fhir.TypeOf(res)
	ti := ix.byType[typ]
	if ti == nil {
		return out, errs.E("index", errs.Invalid, fmt.Sprintf("unknown resource type %q", typ))
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	out.Tokens = make([]store.Token, 0, ti.hint.tokens)
	out.References = make([]store.Reference, 0, ti.hint.refs)
	for _, p := range ti.params {
		buf, err := ix.values(&p.eval, res, typ, sc.vals[:0], sc)
		sc.vals = buf[:0]
		if err != nil {
			// The resource was validated before indexing; an expression
			// that still fails on it (single() over a repetition, say)
			// leaves that parameter without rows rather than refusing the
			// write.
			continue
		}
		n := rowCounts(&out)
		for _, v := range buf {
			ix.emit(&out, p, v, sc)
		}
		// The same value reached twice (a given name repeated across
		// names, the branches of a union, as FHIRPath's "|" would merge
		// them) is one row.
		out.Tokens = dedupe(out.Tokens, n[0])
		out.Strings = dedupe(out.Strings, n[1])
		out.Dates = dedupe(out.Dates, n[2])
		out.Numbers = dedupe(out.Numbers, n[3])
		out.Quantities = dedupe(out.Quantities, n[4])
		out.References = dedupe(out.References, n[5])
		out.URIs = dedupe(out.URIs, n[6])
	}
	ix.compartments(&out, ti, res)
	return out, nil
}

// emit adds the rows of one value of parameter p.
func (ix *Indexer) emit(out *store.Index, p *indexParam, v typed, sc *scratch) {
	switch p.kind {
	case store.KindToken:
		out.Tokens = appendTokens(ix.d, out.Tokens, p.code, v)
	case store.KindString:
		out.Strings = appendStrings(out.Strings, p.code, v)
	case store.KindDate:
		out.Dates = appendDates(out.Dates, p.code, v)
	case store.KindNumber:
		out.Numbers = appendNumbers(out.Numbers, p.code, v)
	case store.KindQuantity:
		out.Quantities = appendQuantities(out.Quantities, p.code, v)
	case store.KindReference:
		out.References, out.Tokens = appendReferences(out.References, out.Tokens, p.code, ix.base, v)
	case store.KindURI:
		out.URIs = appendURIs(out.URIs, p.code, v)
	case store.KindComposite:
		ix.emitComposite(out, p, v, sc)
	}
}

// emitComposite adds the combinations of a composite parameter's
// components found under one base value
// (https://hl7.org/fhir/R4/search.html#composite): a code with two codings
// and one value gives two rows.
func (ix *Indexer) emitComposite(out *store.Index, p *indexParam, base typed, sc *scratch) {
	// The parts of each component; no combination without every one.
	var small [4][]store.CompositePart
	all := small[:0]
	n := 1
	for _, c := range p.comps {
		vals, err := ix.values(&c.eval, base.node, base.typ, sc.comp[:0], sc)
		sc.comp = vals[:0]
		if err != nil {
			return
		}
		var parts []store.CompositePart
		for _, v := range vals {
			parts = componentParts(ix.d, ix.base, parts, c, v)
		}
		if len(parts) == 0 {
			return
		}
		all = append(all, parts)
		n *= len(parts)
	}
	// Every combination, the last component varying fastest, all of them
	// in one backing array.
	k := len(all)
	backing := make([]store.CompositePart, n*k)
	for i := range n {
		combo := backing[i*k : (i+1)*k : (i+1)*k]
		r := i
		for j := k - 1; j >= 0; j-- {
			combo[j] = all[j][r%len(all[j])]
			r /= len(all[j])
		}
		out.Composites = append(out.Composites, store.Composite{Param: p.code, Components: combo})
	}
}

// componentParts converts one component value into its typed parts.
func componentParts(d *defs.Definitions, base string, dst []store.CompositePart, c indexComp, v typed) []store.CompositePart {
	switch c.kind {
	case store.KindToken:
		// One part per distinct system|code: the extra row that carries a
		// CodeableConcept's text would only duplicate combinations.
		start := len(dst)
		toks := appendTokens(d, nil, c.code, v)
	tokens:
		for i := range toks {
			t := &toks[i]
			if strings.HasSuffix(t.Param, ofTypeSuffix) {
				continue
			}
			for _, p := range dst[start:] {
				if p.Token.System == t.System && p.Token.Code == t.Code {
					continue tokens
				}
			}
			dst = append(dst, store.CompositePart{Token: t})
		}
	case store.KindString:
		for _, s := range appendStrings(nil, c.code, v) {
			dst = append(dst, store.CompositePart{String: &s})
		}
	case store.KindDate:
		for _, x := range appendDates(nil, c.code, v) {
			dst = append(dst, store.CompositePart{Date: &x})
		}
	case store.KindNumber:
		for _, x := range appendNumbers(nil, c.code, v) {
			dst = append(dst, store.CompositePart{Number: &x})
		}
	case store.KindQuantity:
		for _, x := range appendQuantities(nil, c.code, v) {
			dst = append(dst, store.CompositePart{Quantity: &x})
		}
	case store.KindReference:
		refs, _ := appendReferences(nil, nil, c.code, base, v)
		for _, x := range refs {
			dst = append(dst, store.CompositePart{Ref: &x})
		}
	case store.KindURI:
		for _, x := range appendURIs(nil, c.code, v) {
			dst = append(dst, store.CompositePart{URI: &x})
		}
	}
	return dst
}

// compartments adds the compartments the resource is in: those of each
// reference target reached through the parameters the
// CompartmentDefinitions list for its type, and its own when it is a
// compartment's focus.
func (ix *Indexer) compartments(out *store.Index, ti *typeIndex, res map[string]any) {
	add := func(c store.CompartmentRef) {
		for _, e := range out.Compartments {
			if e == c {
				return
			}
		}
		out.Compartments = append(out.Compartments, c)
	}
	if id := fhir.IDOf(res); id != "" {
		for _, name := range ti.focus {
			add(store.CompartmentRef{Type: name, ID: id})
		}
	}
	if len(ti.compartments) == 0 {
		return
	}
	for _, r := range out.References {
		for _, name := range ti.compartments[r.Param] {
			if r.TargetType == name && r.TargetID != "" {
				add(store.CompartmentRef{Type: name, ID: r.TargetID})
			}
		}
	}
}

// rowCounts are the lengths of the row slices that dedupe works on.
func rowCounts(ix *store.Index) [7]int {
	return [7]int{len(ix.Tokens), len(ix.Strings), len(ix.Dates), len(ix.Numbers), len(ix.Quantities), len(ix.References), len(ix.URIs)}
}

// dedupe removes repeated rows from rows[start:], keeping the first. Short
// runs (the usual case) are compared pairwise; long ones (a Provenance with
// thousands of targets) through a set.
func dedupe[T comparable](rows []T, start int) []T {
	if len(rows)-start > 16 {
		seen := make(map[T]struct{}, len(rows)-start)
		n := start
		for i := start; i < len(rows); i++ {
			if _, dup := seen[rows[i]]; !dup {
				seen[rows[i]] = struct{}{}
				rows[n] = rows[i]
				n++
			}
		}
		return rows[:n]
	}
	n := start
	for i := start; i < len(rows); i++ {
		dup := false
		for j := start; j < n; j++ {
			if rows[j] == rows[i] {
				dup = true
				break
			}
		}
		if !dup {
			rows[n] = rows[i]
			n++
		}
	}
	return rows[:n]
}
