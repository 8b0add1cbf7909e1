package search

import (
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// kindOf maps a SearchParameter.type to the store's kind; ok is false for
// "special" and anything unknown.
func kindOf(typ string) (store.Kind, bool) {
	switch typ {
	case "token":
		return store.KindToken, true
	case "string":
		return store.KindString, true
	case "date":
		return store.KindDate, true
	case "number":
		return store.KindNumber, true
	case "quantity":
		return store.KindQuantity, true
	case "reference":
		return store.KindReference, true
	case "uri":
		return store.KindURI, true
	case "composite":
		return store.KindComposite, true
	}
	return 0, false
}

// lookup finds parameter code on each of types and returns it with the
// types that define it. Different types may define the code differently;
// the first definition decides the parameter type and the others must
// agree. With no types (system-level search) only the parameters of
// Resource apply.
func lookup(d *Registry, types []string, code string) (*defs.SearchParam, []string) {
	if len(types) == 0 {
		return d.SearchParam("Resource", code), nil
	}
	var first *defs.SearchParam
	var have []string
	for _, t := range types {
		sp := d.SearchParam(t, code)
		if sp == nil || first != nil && sp.Type != first.Type {
			continue
		}
		if first == nil {
			first = sp
		}
		have = append(have, t)
	}
	return first, have
}

// isSpecialCode reports the parameters that stores handle on the resource
// record itself rather than through index rows.
func specialKind(code string) (store.Kind, bool) {
	switch code {
	case "_id":
		return store.KindID, true
	case "_lastUpdated":
		return store.KindLastUpdated, true
	}
	return 0, false
}
