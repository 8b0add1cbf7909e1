package search

import (
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// clause compiles key=value on resources of types (nil: any type). The
// value's comma-separated parts are alternatives (OR,
// https://hl7.org/fhir/R4/search.html#combining). It also returns the types
// that define the parameter, which a chain uses to narrow its targets.
func (c *Compiler) clause(types []string, key, value string) (store.Clause, []string, error) {
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		return c.hasClause(types, rest, value)
	}
	if head, rest, ok := strings.Cut(key, "."); ok {
		return c.chainClause(types, head, rest, value)
	}
	name, mod, _ := strings.Cut(key, ":")
	if kind, ok := specialKind(name); ok {
		cl, err := c.specialClause(name, kind, mod, value)
		return cl, types, err
	}
	sp, have := lookup(c.params, types, name)
	if sp == nil {
		if len(types) == 0 {
			return store.Clause{}, nil, invalidf("unknown search parameter %q for a search across all types", name)
		}
		return store.Clause{}, nil, invalidf("unknown search parameter %q for %s", name, strings.Join(types, ", "))
	}
	kind, ok := kindOf(sp.Type)
	if !ok {
		return store.Clause{}, nil, unsupportedf("search parameter %q of type %s is not supported", name, sp.Type)
	}
	var cl store.Clause
	for _, v := range splitEscaped(value, ',') {
		p, err := c.predicate(sp, kind, mod, v)
		if err != nil {
			return store.Clause{}, nil, err
		}
		cl.Or = append(cl.Or, p)
	}
	if mod == "not" && len(cl.Or) > 1 {
		cl = notAny(cl)
	}
	return cl, have, nil
}

// notAny turns token:not=a,b into "matches none of a, b" (a negated :in
// over the listed codes), which is what a client means: an OR of the
// negations would match nearly everything.
func notAny(cl store.Clause) store.Clause {
	p := store.Predicate{Param: cl.Or[0].Param, Kind: store.KindToken, Op: store.OpIn, Negate: true}
	for _, o := range cl.Or {
		sys := o.System
		if o.AnySystem {
			sys = ""
		}
		p.Codes = append(p.Codes, store.Token{System: sys, Code: o.Code})
	}
	return store.Clause{Or: []store.Predicate{p}}
}

// specialClause compiles _id and _lastUpdated, which stores match on the
// resource record (https://hl7.org/fhir/R4/search.html#all).
func (c *Compiler) specialClause(name string, kind store.Kind, mod, value string) (store.Clause, error) {
	var cl store.Clause
	for _, v := range splitEscaped(value, ',') {
		p := store.Predicate{Param: name, Kind: kind}
		switch {
		case mod == "missing":
			return cl, invalidf(":missing does not apply to %s: every resource has one", name)
		case mod == "not" && kind == store.KindID:
			p.Op = store.OpNot
			fallthrough
		case mod == "" && kind == store.KindID:
			p.AnySystem, p.Code = true, unescape(v)
			if !fhir.ValidID(p.Code) {
				return cl, invalidf("%q is not a valid id", p.Code)
			}
		case mod != "":
			return cl, invalidf("unknown modifier :%s for %s", mod, name)
		default:
			var err error
			p.Op, v = cutPrefix(v)
			if p.Low, p.High, err = DateRange(v); err != nil {
				return cl, invalidf("%v", err)
			}
		}
		cl.Or = append(cl.Or, p)
	}
	return cl, nil
}

// chainClause compiles a chained parameter "ref[:Type].rest"
// (https://hl7.org/fhir/R4/search.html#chaining): resources whose reference
// ref points at a resource matching rest.
func (c *Compiler) chainClause(types []string, head, rest, value string) (store.Clause, []string, error) {
	name, mod, _ := strings.Cut(head, ":")
	sp, have := lookup(c.params, types, name)
	if sp == nil {
		return store.Clause{}, nil, invalidf("unknown search parameter %q in chain", name)
	}
	if sp.Type != "reference" {
		return store.Clause{}, nil, invalidf("cannot chain through %q: it is a %s parameter, not a reference", name, sp.Type)
	}
	targets, err := c.chainTargets(sp, mod)
	if err != nil {
		return store.Clause{}, nil, err
	}
	inner, innerTypes, err := c.clause(targets, rest, value)
	if err != nil {
		return store.Clause{}, nil, err
	}
	if len(innerTypes) == 0 {
		innerTypes = targets
	}
	return store.Clause{Or: []store.Predicate{{
		Param: name,
		Kind:  store.KindReference,
		Chain: &store.Query{Types: innerTypes, Where: []store.Clause{inner}},
	}}}, have, nil
}

// chainTargets returns the types a chain through sp may reach: the one its
// type modifier names, else the parameter's targets.
func (c *Compiler) chainTargets(sp *defs.SearchParam, mod string) ([]string, error) {
	if mod == "" {
		targets := concreteTargets(sp.Target)
		if len(targets) == 0 {
			return nil, invalidf("chain through %q needs a type modifier (%s:Type.param)", sp.Code, sp.Code)
		}
		return targets, nil
	}
	if !c.isConcrete(mod) {
		return nil, invalidf("unknown modifier :%s in chain through %q", mod, sp.Code)
	}
	if t := concreteTargets(sp.Target); len(t) > 0 && !slices.Contains(t, mod) {
		return nil, invalidf("%q cannot refer to %s", sp.Code, mod)
	}
	return []string{mod}, nil
}

// concreteTargets drops the abstract "Resource" target, which means any type.
func concreteTargets(ts []string) []string {
	if slices.Contains(ts, "Resource") {
		return nil
	}
	return ts
}

// hasClause compiles a reverse chain "_has:Type:ref:rest"
// (https://hl7.org/fhir/R4/search.html#has): resources referred to, through
// Type's reference parameter ref, by a Type resource matching rest.
func (c *Compiler) hasClause(types []string, spec, value string) (store.Clause, []string, error) {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return store.Clause{}, nil, invalidf("_has needs the form _has:Type:reference:parameter")
	}
	refType, refParam, rest := parts[0], parts[1], parts[2]
	if !c.isConcrete(refType) {
		return store.Clause{}, nil, invalidf("unknown resource type %q in _has", refType)
	}
	sp := c.params.SearchParam(refType, refParam)
	if sp == nil || sp.Type != "reference" {
		return store.Clause{}, nil, invalidf("%q is not a reference search parameter of %s", refParam, refType)
	}
	if targets := concreteTargets(sp.Target); len(types) > 0 && len(targets) > 0 {
		ok := false
		for _, t := range types {
			ok = ok || slices.Contains(targets, t)
		}
		if !ok {
			return store.Clause{}, nil, invalidf("%s.%s cannot refer to %s", refType, refParam, strings.Join(types, ", "))
		}
	}
	inner, _, err := c.clause([]string{refType}, rest, value)
	if err != nil {
		return store.Clause{}, nil, err
	}
	return store.Clause{Or: []store.Predicate{{
		Param: "_has",
		Kind:  store.KindReference,
		Has:   &store.Has{Param: refParam, Query: &store.Query{Types: []string{refType}, Where: []store.Clause{inner}}},
	}}}, types, nil
}
