package search

import (
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// predicate compiles one value (one alternative of an OR list, still
// escaped) of parameter sp with modifier mod
// (https://hl7.org/fhir/R4/search.html#modifiers).
func (c *Compiler) predicate(sp *defs.SearchParam, kind store.Kind, mod, v string) (store.Predicate, error) {
	p := store.Predicate{Param: sp.Code, Kind: kind}
	if mod == "missing" {
		// https://hl7.org/fhir/R4/search.html#missing
		switch v {
		case "true", "false":
			p.Op, p.Missing = store.OpMissing, v == "true"
			return p, nil
		}
		return p, invalidf(":missing takes true or false, not %q", v)
	}
	var err error
	switch kind {
	case store.KindToken:
		err = c.tokenPredicate(&p, mod, v)
	case store.KindString:
		err = stringPredicate(&p, mod, v)
	case store.KindURI:
		err = uriPredicate(&p, mod, v)
	case store.KindReference:
		err = c.referencePredicate(&p, sp, mod, v)
	case store.KindComposite:
		err = c.compositePredicate(&p, sp, mod, v)
	default:
		if mod != "" {
			return p, invalidf("unknown modifier :%s for a %s parameter", mod, sp.Type)
		}
		err = orderedPredicate(&p, v)
	}
	return p, err
}

// orderedPredicate compiles a date, number or quantity value with its
// comparison prefix (https://hl7.org/fhir/R4/search.html#prefix).
func orderedPredicate(p *store.Predicate, v string) error {
	p.Op, v = cutPrefix(v)
	var err error
	switch p.Kind {
	case store.KindDate:
		if p.Low, p.High, err = DateRange(unescape(v)); err != nil {
			return invalidf("%v", err)
		}
	case store.KindNumber:
		if p.Number, p.NumLow, p.NumHigh, err = NumberRange(unescape(v)); err != nil {
			return invalidf("%q is not a number", v)
		}
	case store.KindQuantity:
		// [prefix]number|system|code (https://hl7.org/fhir/R4/search.html#quantity)
		parts := splitEscaped(v, '|')
		if len(parts) != 1 && len(parts) != 3 {
			return invalidf("%q is not a quantity (number|system|code)", v)
		}
		num := unescape(parts[0])
		if p.Number, p.NumLow, p.NumHigh, err = NumberRange(num); err != nil {
			return invalidf("%q is not a number", num)
		}
		if len(parts) == 3 {
			p.System, p.Code = unescape(parts[1]), unescape(parts[2])
			canonicalQuantity(p)
		}
	}
	return nil
}

// tokenPredicate compiles a token value
// (https://hl7.org/fhir/R4/search.html#token).
func (c *Compiler) tokenPredicate(p *store.Predicate, mod, v string) error {
	switch mod {
	case "", "not":
		if mod == "not" {
			p.Op = store.OpNot
		}
		return setToken(p, v)
	case "text":
		p.Op, p.Norm = store.OpText, NormalizeString(unescape(v))
		return nil
	case "in", "not-in":
		p.Op, p.Negate = store.OpIn, mod == "not-in"
		vsURL := unescape(v)
		vs := c.defs.ValueSet(vsURL)
		if vs == nil {
			return unsupportedf("value set %q is not known to this server", vsURL)
		}
		for _, sys := range vs.Systems() {
			for _, code := range vs.Codes(sys) {
				p.Codes = append(p.Codes, store.Token{System: sys, Code: code})
			}
		}
		return nil
	case "of-type":
		// type-system|type-code|value (https://hl7.org/fhir/R4/search.html#token)
		parts := splitEscaped(v, '|')
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return invalidf(":of-type takes system|code|value, not %q", v)
		}
		p.Op = store.OpOfType
		p.System, p.Code, p.Exact = unescape(parts[0]), unescape(parts[1]), unescape(parts[2])
		return nil
	case "above", "below":
		return unsupportedf(":%s on tokens needs code system hierarchies, which this server does not have", mod)
	}
	return invalidf("unknown modifier :%s for a token parameter", mod)
}

// setToken parses [system|]code: "code" matches any system, "|code" only
// codes without a system, "system|" any code of the system.
func setToken(p *store.Predicate, v string) error {
	sys, code, found := cutEscaped(v, '|')
	if !found {
		p.AnySystem, p.Code = true, unescape(v)
		return nil
	}
	if strings.Contains(strings.ReplaceAll(code, `\|`, ""), "|") {
		return invalidf("%q has more than one |", v)
	}
	p.System, p.Code = unescape(sys), unescape(code)
	if p.System == "" && p.Code == "" {
		return invalidf("%q has neither a system nor a code", v)
	}
	return nil
}

// stringPredicate compiles a string value
// (https://hl7.org/fhir/R4/search.html#string): by default a case- and
// accent-insensitive starts-with.
func stringPredicate(p *store.Predicate, mod, v string) error {
	s := unescape(v)
	switch mod {
	case "":
		p.Op = store.OpEq
	case "exact":
		p.Op = store.OpExact
	case "contains":
		p.Op = store.OpContains
	default:
		return invalidf("unknown modifier :%s for a string parameter", mod)
	}
	p.Norm, p.Exact = NormalizeString(s), s
	if p.Norm == "" && mod != "exact" {
		// Blank text would match every value.
		return invalidf("blank string value")
	}
	return nil
}

// uriPredicate compiles a uri value (https://hl7.org/fhir/R4/search.html#uri).
func uriPredicate(p *store.Predicate, mod, v string) error {
	switch mod {
	case "":
		p.Op = store.OpEq
	case "above":
		p.Op = store.OpAbove
	case "below":
		p.Op = store.OpBelow
	default:
		return invalidf("unknown modifier :%s for a uri parameter", mod)
	}
	p.Exact = unescape(v)
	return nil
}

// referencePredicate compiles a reference value
// (https://hl7.org/fhir/R4/search.html#reference): "Type/id", a bare id,
// an absolute URL or a canonical "url|version"; with a [type] modifier a
// bare id of that type; with :identifier an identifier token.
func (c *Compiler) referencePredicate(p *store.Predicate, sp *defs.SearchParam, mod, v string) error {
	s := unescape(v)
	targets := concreteTargets(sp.Target)
	switch {
	case mod == "identifier":
		// Identifier-only references are indexed as tokens under the
		// reference parameter's own code.
		p.Kind = store.KindToken
		return setToken(p, v)
	case mod == "above" || mod == "below":
		return unsupportedf(":%s on references is not supported", mod)
	case mod != "":
		if !c.isConcrete(mod) {
			return invalidf("unknown modifier :%s for a reference parameter", mod)
		}
		if len(targets) > 0 && !slices.Contains(targets, mod) {
			return invalidf("%q cannot refer to %s", sp.Code, mod)
		}
		id := s
		if typ, rid, _, ok := fhir.SplitReference(s); ok {
			if typ != mod {
				return invalidf("%q is not a %s reference", s, mod)
			}
			id = rid
		}
		if !fhir.ValidID(id) {
			return invalidf("%q is not a valid id", id)
		}
		p.TargetType, p.TargetID = mod, id
		return nil
	}
	if c.BaseURL != "" {
		if rel, ok := strings.CutPrefix(s, strings.TrimSuffix(c.BaseURL, "/")+"/"); ok {
			s = rel
		}
	}
	if typ, id, _, ok := fhir.SplitReference(s); ok {
		if !c.isConcrete(typ) {
			return invalidf("%q names an unknown resource type", s)
		}
		if len(targets) > 0 && !slices.Contains(targets, typ) {
			return invalidf("%q cannot refer to %s", sp.Code, typ)
		}
		p.TargetType, p.TargetID = typ, id
		return nil
	}
	if isAbsolute(s) {
		p.URL, p.Version = splitCanonical(s)
		return nil
	}
	if !fhir.ValidID(s) {
		return invalidf("%q is neither a reference nor an id", s)
	}
	p.TargetID = s
	if len(targets) == 1 {
		p.TargetType = targets[0]
	}
	return nil
}

// isAbsolute reports whether a reference is an absolute URL or URN.
func isAbsolute(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "urn:")
}

// splitCanonical splits "url|version" (https://hl7.org/fhir/R4/references.html#canonical).
func splitCanonical(s string) (url, version string) {
	if i := strings.LastIndexByte(s, '|'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// compositePredicate compiles "a$b" against the components of a composite
// parameter (https://hl7.org/fhir/R4/search.html#composite): each part by
// its component's own parameter type, all matching the same composite row.
func (c *Compiler) compositePredicate(p *store.Predicate, sp *defs.SearchParam, mod, v string) error {
	if mod != "" {
		return invalidf("unknown modifier :%s for a composite parameter", mod)
	}
	parts := splitEscaped(v, '$')
	if len(parts) != len(sp.Component) {
		return invalidf("%q has %d parts; %s has %d components separated by $", v, len(parts), sp.Code, len(sp.Component))
	}
	for i, comp := range sp.Component {
		def := c.params.SearchParamByURL(comp.Definition)
		if def == nil {
			return unsupportedf("component %s of %s is not defined", comp.Definition, sp.Code)
		}
		kind, ok := kindOf(def.Type)
		if !ok || kind == store.KindComposite {
			return unsupportedf("component %s of %s has type %s", def.Code, sp.Code, def.Type)
		}
		cp, err := c.predicate(def, kind, "", parts[i])
		if err != nil {
			return err
		}
		p.Components = append(p.Components, cp)
	}
	return nil
}
