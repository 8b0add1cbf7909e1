package search

import (
	"slices"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/store"
)

// ResultParams are the search result parameters
// (https://hl7.org/fhir/R4/search.html#return): they shape the returned
// Bundle rather than select resources. Sort, Count, Offset and Total are
// also set on the compiled store.Query; the Repository applies the rest.
type ResultParams struct {
	Sort   []store.Sort
	Count  int
	Offset int
	Total  store.TotalMode
	// Summary is "", "true", "text", "data", "count" or "false"
	// (https://hl7.org/fhir/R4/search.html#summary).
	Summary string
	// Elements lists the top-level elements asked for by _elements.
	Elements   []string
	Include    []Include
	RevInclude []Include
}

// Include is one _include or _revinclude
// (https://hl7.org/fhir/R4/search.html#include). For _include, Source is
// the type whose references are followed; for _revinclude, the type of the
// referring resources. Param is the reference parameter on Source, or "*"
// for all of them; Target restricts the referenced type ("" for any).
// Iterate is set by the :iterate (or R3 :recurse) modifier.
type Include struct {
	Source  string
	Param   string
	Target  string
	Iterate bool
}

// resultParam handles the result and transport parameters. It reports
// false for a name it does not know, which is then looked up as a search
// parameter.
func (cp *compilation) resultParam(name, key, value string) bool {
	var err error
	switch name {
	case "_format", "_pretty":
		return true // the HTTP layer's business; not part of the query
	case "_count", "_offset":
		n, perr := strconv.Atoi(value)
		if perr != nil || n < 0 || key != name {
			err = invalidf("%s takes a non-negative integer, not %q", key, value)
			break
		}
		if name == "_count" {
			// The self link shows the page size actually used.
			cp.out.Params.Count = min(n, cp.c.MaxCount)
			value = strconv.Itoa(cp.out.Params.Count)
		} else {
			cp.out.Params.Offset = n
		}
	case "_total":
		switch value {
		case "none":
			cp.out.Params.Total = store.TotalNone
		case "estimate":
			cp.out.Params.Total = store.TotalEstimate
		case "accurate":
			cp.out.Params.Total = store.TotalAccurate
		default:
			err = invalidf("_total takes none, estimate or accurate, not %q", value)
		}
	case "_summary":
		switch value {
		case "true", "text", "data", "count", "false":
			cp.out.Params.Summary = value
		default:
			err = invalidf("_summary takes true, text, data, count or false, not %q", value)
		}
	case "_elements":
		for _, e := range strings.Split(value, ",") {
			if e = strings.TrimSpace(e); e != "" {
				cp.out.Params.Elements = append(cp.out.Params.Elements, e)
			}
		}
	case "_sort":
		err = cp.sortParam(value)
	case "_include", "_revinclude":
		err = cp.includeParam(name, key, value)
	case "_contained":
		if value != "false" {
			err = unsupportedf("searching contained resources is not supported")
		}
	case "_containedType":
		if value != "container" {
			err = unsupportedf("searching contained resources is not supported")
		}
	default:
		return false
	}
	if err != nil {
		cp.fail(key, err)
		return true
	}
	cp.out.SelfLink.Add(key, value)
	return true
}

// sortParam parses _sort=a,-b (https://hl7.org/fhir/R4/search.html#sort).
func (cp *compilation) sortParam(value string) error {
	var keys []store.Sort
	for _, s := range strings.Split(value, ",") {
		s = strings.TrimSpace(s)
		desc := strings.HasPrefix(s, "-")
		code := strings.TrimPrefix(s, "-")
		if code == "" {
			return invalidf("empty sort key in %q", value)
		}
		k := store.Sort{Param: code, Desc: desc}
		if kind, ok := specialKind(code); ok {
			k.Kind = kind
		} else {
			sp, _ := lookup(cp.c.params, cp.types, code)
			if sp == nil {
				return invalidf("unknown sort parameter %q", code)
			}
			kind, ok := kindOf(sp.Type)
			if !ok || kind == store.KindComposite {
				return unsupportedf("sorting by %s parameter %q is not supported", sp.Type, code)
			}
			k.Kind = kind
		}
		keys = append(keys, k)
	}
	cp.out.Params.Sort = append(cp.out.Params.Sort, keys...)
	return nil
}

// includeParam parses _include / _revinclude values: "Source:param",
// "Source:param:Target", "Source:*" or "*".
func (cp *compilation) includeParam(name, key, value string) error {
	inc := Include{}
	switch mod := strings.TrimPrefix(key, name); mod {
	case "":
	case ":iterate", ":recurse":
		inc.Iterate = true
	default:
		return invalidf("unknown modifier %s for %s", mod, name)
	}
	if value == "*" {
		inc.Source, inc.Param = "*", "*"
		if name == "_include" && cp.typ != "" {
			inc.Source = cp.typ
		}
	} else {
		parts := strings.Split(value, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return invalidf("%s takes Type:parameter[:targetType], not %q", name, value)
		}
		inc.Source, inc.Param = parts[0], parts[1]
		if !cp.c.isConcrete(inc.Source) {
			return invalidf("unknown resource type %q in %s", inc.Source, name)
		}
		var targets []string
		if inc.Param != "*" {
			sp := cp.c.params.SearchParam(inc.Source, inc.Param)
			if sp == nil || sp.Type != "reference" {
				return invalidf("%q is not a reference parameter of %s", inc.Param, inc.Source)
			}
			targets = concreteTargets(sp.Target)
		}
		if len(parts) == 3 {
			inc.Target = parts[2]
			if !cp.c.isConcrete(inc.Target) || len(targets) > 0 && !slices.Contains(targets, inc.Target) {
				return invalidf("%s:%s cannot refer to %q", inc.Source, inc.Param, inc.Target)
			}
		}
		// Without :iterate an _include starts from the matches, which are
		// of the searched type (search.html#include).
		if name == "_include" && !inc.Iterate && cp.typ != "" && inc.Source != cp.typ && !slices.Contains(cp.types, inc.Source) {
			return invalidf("_include %s does not apply to a search on %s (use :iterate)", value, cp.typ)
		}
	}
	if name == "_include" {
		cp.out.Params.Include = append(cp.out.Params.Include, inc)
	} else {
		cp.out.Params.RevInclude = append(cp.out.Params.RevInclude, inc)
	}
	return nil
}

// finishResults copies the result parameters that stores execute into the query.
func (cp *compilation) finishResults() {
	rp, q := &cp.out.Params, cp.out.Query
	if rp.Summary == "count" {
		// _summary=count: only the total (search.html#summary).
		rp.Count = 0
		rp.Total = store.TotalAccurate
	}
	if rp.Count == 0 && rp.Total == store.TotalNone {
		// _count=0 asks for no entries; the total is all there is to return.
		rp.Total = store.TotalAccurate
	}
	q.Sort, q.Count, q.Offset, q.Total = rp.Sort, rp.Count, rp.Offset, rp.Total
}
