package search

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhirpath"
	"github.com/openchart/openchart/internal/store"
)

// Registry is the set of search parameters a server indexes and searches
// with: the embedded definitions (core and US Core) plus the custom
// SearchParameter resources stored on the server
// (https://hl7.org/fhir/R4/searchparameter.html). Indexer and Compiler
// take their parameters from it, so a resource is always searched with the
// parameters it was indexed with. It is immutable and safe for concurrent
// use; a new set of custom parameters means a new Registry (and, for
// resources already stored, a reindex).
type Registry struct {
	d *defs.Definitions
	// Custom parameters only; lookups fall back to the definitions. All
	// nil when there are none, so the core-only registry costs one failed
	// map lookup more than the definitions themselves.
	byCode map[string]map[string]*defs.SearchParam // resource type -> code
	byType map[string][]*defs.SearchParam          // resource type -> core and custom, by code
	byURL  map[string]*defs.SearchParam
	custom []*defs.SearchParam
}

// CoreRegistry is the registry of the embedded definitions alone.
func CoreRegistry(d *defs.Definitions) *Registry { return &Registry{d: d} }

// Defs returns the definitions the registry extends.
func (r *Registry) Defs() *defs.Definitions { return r.d }

// Custom lists the custom parameters loaded, in the order they were given.
func (r *Registry) Custom() []*defs.SearchParam { return r.custom }

// SearchParams returns the parameters of resourceType, core and custom,
// sorted by code. The slice is shared: do not modify it.
func (r *Registry) SearchParams(resourceType string) []*defs.SearchParam {
	if l, ok := r.byType[resourceType]; ok {
		return l
	}
	return r.d.SearchParams(resourceType)
}

// SearchParam returns the parameter with the given code on resourceType, or nil.
func (r *Registry) SearchParam(resourceType, code string) *defs.SearchParam {
	if p := r.byCode[resourceType][code]; p != nil {
		return p
	}
	return r.d.SearchParam(resourceType, code)
}

// SearchParamByURL returns a parameter by its canonical URL, or nil.
func (r *Registry) SearchParamByURL(url string) *defs.SearchParam {
	if p := r.byURL[stripVersion(url)]; p != nil {
		return p
	}
	return r.d.SearchParamByURL(url)
}

// customSource marks custom parameters in SearchParam.Source.
const customSource = "custom"

// codePattern is what a custom parameter's code may look like: no ":" or
// "." (they would read as a modifier or a chain) and no leading "_"
// (reserved for the specification's own parameters).
var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// NewRegistry extends the definitions with SearchParameter resources (as
// parsed JSON). Only active ones are considered. A parameter is refused,
// with a problem saying why, when it is malformed, when its expression does
// not compile, when it duplicates the url of another one, or when its code
// is already defined on one of its bases: codes are unique per resource
// type (searchparameter.html, "code"), so a custom parameter never changes
// the meaning of an existing one. A stored copy of an embedded definition
// (same url and code) is ignored without a problem. Refusals never fail the
// whole registry: one bad resource must not stop a server from starting.
func NewRegistry(d *defs.Definitions, resources []map[string]any) (*Registry, []error) {
	var problems []error
	var params []*defs.SearchParam
	ids := map[*defs.SearchParam]any{}
	seen := map[string]bool{}
	for _, res := range resources {
		sp, err := paramOf(d, res)
		if sp == nil && err == nil {
			continue
		}
		if err == nil && seen[sp.URL] {
			err = fmt.Errorf("another custom parameter has the url %q", sp.URL)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("SearchParameter/%v: %w", res["id"], err))
			continue
		}
		seen[sp.URL] = true
		ids[sp] = res["id"]
		params = append(params, sp)
	}
	r := &Registry{d: d}
	if len(params) == 0 {
		return r, problems
	}
	r.byCode, r.byURL = map[string]map[string]*defs.SearchParam{}, map[string]*defs.SearchParam{}
	// Composites last: their components may be custom parameters.
	slices.SortStableFunc(params, func(a, b *defs.SearchParam) int {
		return boolInt(a.Type == "composite") - boolInt(b.Type == "composite")
	})
	for _, sp := range params {
		if err := r.add(sp); err != nil {
			problems = append(problems, fmt.Errorf("SearchParameter/%v: %w", ids[sp], err))
		}
	}
	r.byType = map[string][]*defs.SearchParam{}
	for rt := range r.byCode {
		list := slices.Clone(d.SearchParams(rt))
		for _, sp := range r.byCode[rt] {
			list = append(list, sp)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
		r.byType[rt] = list
	}
	return r, problems
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// add registers sp on every resource type its bases cover, or on none.
func (r *Registry) add(sp *defs.SearchParam) error {
	for _, c := range sp.Component {
		def := r.SearchParamByURL(c.Definition)
		if def == nil {
			return fmt.Errorf("component %q is not a known search parameter", c.Definition)
		}
		if k, ok := kindOf(def.Type); !ok || k == store.KindComposite {
			return fmt.Errorf("component %q is of type %s, which a composite cannot use", c.Definition, def.Type)
		}
	}
	var types []string
	for _, rt := range append([]string{"Resource", "DomainResource"}, r.d.ResourceTypes()...) {
		for _, b := range sp.Base {
			if r.d.IsSubtype(rt, b) {
				types = append(types, rt)
				break
			}
		}
	}
	for _, rt := range types {
		if r.SearchParam(rt, sp.Code) != nil {
			return fmt.Errorf("code %q is already defined on %s", sp.Code, rt)
		}
	}
	for _, rt := range types {
		if r.byCode[rt] == nil {
			r.byCode[rt] = map[string]*defs.SearchParam{}
		}
		r.byCode[rt][sp.Code] = sp
	}
	r.byURL[sp.URL] = sp
	r.custom = append(r.custom, sp)
	return nil
}

// paramOf reads a SearchParameter resource. It returns nil and no error for
// resources that are not active or that copy an embedded definition.
func paramOf(d *defs.Definitions, res map[string]any) (*defs.SearchParam, error) {
	if s, _ := res["status"].(string); s != "active" {
		return nil, nil
	}
	str := func(k string) string { s, _ := res[k].(string); return s }
	strs := func(k string) []string {
		var out []string
		l, _ := res[k].([]any)
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	sp := &defs.SearchParam{URL: str("url"), Name: str("name"), Code: str("code"), Base: strs("base"), Type: str("type"),
		Expression: strings.TrimSpace(str("expression")), Target: strs("target"), Modifier: strs("modifier"),
		Comparator: strs("comparator"), Chain: strs("chain"), Source: customSource}
	if b, ok := res["multipleOr"].(bool); ok {
		sp.MultipleOr = &b
	}
	if b, ok := res["multipleAnd"].(bool); ok {
		sp.MultipleAnd = &b
	}
	if core := d.SearchParamByURL(sp.URL); core != nil {
		if core.Code == sp.Code {
			return nil, nil
		}
		return nil, fmt.Errorf("url %q is that of the built-in parameter %q", sp.URL, core.Code)
	}
	switch {
	case sp.URL == "":
		return nil, fmt.Errorf("no url")
	case !codePattern.MatchString(sp.Code):
		return nil, fmt.Errorf("code %q is not usable as a search parameter name", sp.Code)
	case len(sp.Base) == 0:
		return nil, fmt.Errorf("no base")
	case sp.Expression == "":
		return nil, fmt.Errorf("no expression: nothing to index")
	}
	for _, b := range sp.Base {
		if !d.IsResource(b) {
			return nil, fmt.Errorf("base %q is not a resource type", b)
		}
	}
	if _, ok := kindOf(sp.Type); !ok {
		return nil, fmt.Errorf("type %q cannot be indexed", sp.Type)
	}
	if _, err := fhirpath.Compile(sp.Expression); err != nil {
		return nil, fmt.Errorf("expression %q: %w", sp.Expression, err)
	}
	comps, _ := res["component"].([]any)
	if sp.Type == "composite" && len(comps) == 0 {
		return nil, fmt.Errorf("a composite without components")
	}
	for _, c := range comps {
		m, _ := c.(map[string]any)
		def, _ := m["definition"].(string)
		expr, _ := m["expression"].(string)
		if def == "" || expr == "" {
			return nil, fmt.Errorf("a component needs a definition and an expression")
		}
		if _, err := fhirpath.Compile(expr); err != nil {
			return nil, fmt.Errorf("component expression %q: %w", expr, err)
		}
		sp.Component = append(sp.Component, defs.SearchComponent{Definition: def, Expression: expr})
	}
	return sp, nil
}

// stripVersion drops the "|version" of a canonical reference.
func stripVersion(url string) string {
	u, _, _ := strings.Cut(url, "|")
	return u
}
