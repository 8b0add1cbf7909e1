package fhirapi

import (
	"strings"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// subsettedTag marks a resource that is not complete
// (https://hl7.org/fhir/R4/search.html#summary, #elements).
var subsettedTag = map[string]any{
	"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
	"code":   "SUBSETTED",
}

// subset applies _summary and _elements to a resource (a fresh parse, which
// it may modify). _summary=true keeps the elements the definitions mark as
// summary; text keeps text, id, meta and the mandatory elements; data drops
// text; _elements keeps the listed top-level elements plus the mandatory
// ones. Anything removed adds the SUBSETTED tag.
func (a *API) subset(res map[string]any, summary string, elements []string) map[string]any {
	t := a.defs.Type(fhir.TypeOf(res))
	if t == nil {
		return res
	}
	var keep func(name string, e *defs.Element) bool
	switch {
	case summary == "true":
		keep = func(_ string, e *defs.Element) bool { return e.IsSummary || e.Min > 0 }
	case summary == "text":
		keep = func(name string, e *defs.Element) bool { return name == "text" || e.Min > 0 }
	case summary == "data":
		keep = func(name string, _ *defs.Element) bool { return name != "text" }
	case len(elements) > 0:
		want := map[string]bool{}
		for _, el := range elements {
			// "Patient.name" is accepted as well as "name".
			want[el[strings.LastIndexByte(el, '.')+1:]] = true
		}
		keep = func(name string, e *defs.Element) bool { return want[name] || e.Min > 0 }
	default:
		return res
	}
	removed := false
	for k := range res {
		switch k {
		case "resourceType", "id", "meta":
			continue
		}
		name := strings.TrimPrefix(k, "_")
		c, ok := t.JSONChild(name)
		if ok && keep(c.Element.Name, c.Element) {
			continue
		}
		delete(res, k)
		removed = true
	}
	if removed {
		meta := fhir.Meta(res)
		tags, _ := meta["tag"].([]any)
		meta["tag"] = append(tags, fhir.Clone(subsettedTag))
	}
	return res
}
