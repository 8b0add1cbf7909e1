package defs

import (
	"sort"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

// SearchParam is a search parameter
// (https://hl7.org/fhir/R4/searchparameter.html). Fields are read-only.
type SearchParam struct {
	URL        string
	Name       string
	Code       string
	Base       []string
	Type       string // number | date | string | token | reference | composite | quantity | uri | special
	Expression string // FHIRPath; may cover several base types ("A.x | B.y")
	Target     []string
	Modifier   []string
	Comparator []string
	// MultipleOr and MultipleAnd are nil when the definition does not say.
	MultipleOr  *bool
	MultipleAnd *bool
	Chain       []string
	Component   []SearchComponent
	Source      string // "core" or "us-core"
}

// SearchComponent is one part of a composite search parameter.
type SearchComponent struct {
	Definition string // canonical URL of the component's SearchParameter
	Expression string // FHIRPath relative to the composite's expression
}

// Compartment is a CompartmentDefinition
// (https://hl7.org/fhir/R4/compartmentdefinition.html).
type Compartment struct {
	Code string // Patient | Encounter | RelatedPerson | Practitioner | Device
	URL  string
	// Resources maps a resource type to the codes of the search parameters
	// that link a resource of that type to the compartment's focus ("{def}"
	// for the focus type itself). Types not in the map are not in the
	// compartment. Read-only.
	Resources map[string][]string
}

// Params returns the search parameter codes linking resourceType to the
// compartment, or nil.
func (c *Compartment) Params(resourceType string) []string { return c.Resources[resourceType] }

// SearchParams returns the search parameters that apply to resources of
// resourceType, including those defined on Resource and DomainResource,
// sorted by code. Where US Core defines a parameter with the same code as
// the core specification on the same type, the core one is listed; the US
// Core one is still available through SearchParamByURL. The slice is shared:
// do not modify it.
func (d *Definitions) SearchParams(resourceType string) []*SearchParam {
	return d.paramsByType[resourceType]
}

// SearchParam returns the parameter with the given code on resourceType
// (see SearchParams for precedence), or nil.
func (d *Definitions) SearchParam(resourceType, code string) *SearchParam {
	return d.paramByCode[resourceType][code]
}

// SearchParamByURL returns a parameter by its canonical URL, or nil.
func (d *Definitions) SearchParamByURL(url string) *SearchParam {
	return d.paramsByURL[stripVersion(url)]
}

// AllSearchParams returns every search parameter, core first, then US Core.
// The slice is shared: do not modify it.
func (d *Definitions) AllSearchParams() []*SearchParam { return d.params }

// Compartment returns a compartment definition by its code ("Patient"), or nil.
func (d *Definitions) Compartment(name string) *Compartment { return d.compartments[name] }

func (d *Definitions) loadSearch(fs *format.Search) {
	d.paramsByURL = map[string]*SearchParam{}
	d.paramByCode = map[string]map[string]*SearchParam{}
	d.paramsByType = map[string][]*SearchParam{}
	for _, fp := range fs.Params {
		p := &SearchParam{URL: fp.URL, Name: fp.Name, Code: fp.Code, Base: fp.Base, Type: fp.Type,
			Expression: fp.Expression, Target: fp.Target, Modifier: fp.Modifier, Comparator: fp.Comparator,
			MultipleOr: fp.MultipleOr, MultipleAnd: fp.MultipleAnd, Chain: fp.Chain, Source: fp.Source}
		for _, c := range fp.Component {
			p.Component = append(p.Component, SearchComponent{Definition: c.Definition, Expression: c.Expression})
		}
		d.params = append(d.params, p)
		d.paramsByURL[p.URL] = p
	}
	// Per-type tables: the type's own parameters, then those of its bases.
	// Core parameters come first in d.params, so they win a code clash.
	for _, rt := range append([]string{"Resource", "DomainResource"}, d.resourceTypes...) {
		byCode := map[string]*SearchParam{}
		for _, p := range d.params {
			for _, b := range p.Base {
				if d.IsSubtype(rt, b) {
					if _, dup := byCode[p.Code]; !dup {
						byCode[p.Code] = p
					}
					break
				}
			}
		}
		list := make([]*SearchParam, 0, len(byCode))
		for _, p := range byCode {
			list = append(list, p)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
		d.paramByCode[rt] = byCode
		d.paramsByType[rt] = list
	}
	d.compartments = map[string]*Compartment{}
	for _, fc := range fs.Compartments {
		d.compartments[fc.Code] = &Compartment{Code: fc.Code, URL: fc.URL, Resources: fc.Resources}
	}
}
