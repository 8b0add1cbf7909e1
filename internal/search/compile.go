package search

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// Compiler turns FHIR search URL parameters into store queries
// (https://hl7.org/fhir/R4/search.html). It is safe for concurrent use once
// configured.
type Compiler struct {
	defs   *defs.Definitions
	params *Registry
	// DefaultCount is the page size without _count.
	DefaultCount int
	// MaxCount caps _count; larger values are lowered to it, as the
	// specification allows (search.html#count).
	MaxCount int
	// BaseURL, when set, is this server's base: absolute references under it
	// are searched as the local references they stand for.
	BaseURL string
}

// NewCompiler returns a Compiler over the embedded definitions' search
// parameters, with a page size of 50 and a maximum of 1000.
func NewCompiler(d *defs.Definitions) *Compiler {
	return NewCompilerFrom(CoreRegistry(d))
}

// NewCompilerFrom returns a Compiler over the parameters of r (core and
// custom), with a page size of 50 and a maximum of 1000.
func NewCompilerFrom(r *Registry) *Compiler {
	return &Compiler{defs: r.Defs(), params: r, DefaultCount: 50, MaxCount: 1000}
}

// Compiled is the result of compiling search parameters.
type Compiled struct {
	Query  *store.Query
	Params ResultParams
	// Ignored lists the parameters dropped under lenient handling, as
	// warnings for the Bundle's OperationOutcome.
	Ignored []errs.Issue
	// SelfLink holds the parameters actually used (url.Values encodes them
	// in sorted key order, the canonical order of the self link).
	SelfLink url.Values
}

// compilation is the state of one Compile call.
type compilation struct {
	c      *Compiler
	typ    string
	types  []string
	strict bool
	out    *Compiled
	issues []errs.Issue
	// unsupported counts the issues that are "not supported" rather than
	// "invalid", so that a strict failure gets the right kind.
	unsupported int
}

// paramError is a problem with one parameter: Kind is errs.Invalid or
// errs.NotSupported.
type paramError struct {
	kind errs.Kind
	msg  string
}

func (e *paramError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &paramError{kind: errs.Invalid, msg: fmt.Sprintf(format, args...)}
}

func unsupportedf(format string, args ...any) error {
	return &paramError{kind: errs.NotSupported, msg: fmt.Sprintf(format, args...)}
}

// notSupported lists the parameters refused outright, with why.
var notSupported = map[string]string{
	"_text":    "full-text search (_text) is not supported",
	"_content": "full-text search (_content) is not supported",
	"_filter":  "_filter is not supported",
	"_query":   "named queries (_query) are not supported",
}

// Compile turns the URL search parameters of a search on type typ ("" for
// a system-level search) into a store query. Result parameters go to
// Params (and the query's Sort, Count, Offset and Total). Under strict
// handling an unknown, malformed or unsupported parameter fails the whole
// search with an errs.Invalid (or errs.NotSupported) error whose issues
// name each parameter; under lenient handling such parameters are dropped
// and listed in Ignored (https://hl7.org/fhir/R4/search.html#errors).
func (c *Compiler) Compile(typ string, params url.Values, strict bool) (*Compiled, error) {
	if typ != "" && !c.isConcrete(typ) {
		return nil, errs.E("search", errs.Invalid, fmt.Sprintf("unknown resource type %q", typ))
	}
	cp := &compilation{c: c, typ: typ, strict: strict, out: &Compiled{
		Query:    &store.Query{Count: c.DefaultCount},
		SelfLink: url.Values{},
		Params:   ResultParams{Count: c.DefaultCount},
	}}
	if typ != "" {
		cp.types = []string{typ}
	}
	q := cp.out.Query
	q.Types = cp.types
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// _type narrows a system-level search and decides which parameters apply.
	if vs, ok := params["_type"]; ok {
		cp.typeParam(vs)
		q.Types = cp.types
	}
	for _, key := range keys {
		if key == "_type" {
			continue
		}
		for _, v := range params[key] {
			cp.param(key, v)
		}
	}
	cp.finishResults()
	if len(cp.issues) > 0 {
		if cp.strict {
			kind := errs.Invalid
			if cp.unsupported == len(cp.issues) {
				kind = errs.NotSupported
			}
			return nil, errs.E("search", kind, cp.issues[0].Diagnostics, cp.issues)
		}
		cp.out.Ignored = cp.issues
	}
	return cp.out, nil
}

func (c *Compiler) isConcrete(typ string) bool {
	return c.defs.IsResource(typ) && typ != "Resource" && typ != "DomainResource"
}

// fail records a problem with parameter key.
func (cp *compilation) fail(key string, err error) {
	kind, msg := errs.Invalid, err.Error()
	if pe, ok := err.(*paramError); ok {
		kind = pe.kind
	}
	code := "invalid"
	if kind == errs.NotSupported {
		code = "not-supported"
		cp.unsupported++
	}
	sev := "error"
	if !cp.strict {
		sev = "warning"
		msg += "; the parameter was ignored"
	}
	cp.issues = append(cp.issues, errs.Issue{
		Severity:    sev,
		Code:        code,
		Diagnostics: fmt.Sprintf("search parameter %s: %s", key, msg),
		Expression:  []string{key},
	})
}

func (cp *compilation) typeParam(values []string) {
	var types []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if !cp.c.isConcrete(t) {
				cp.fail("_type", invalidf("unknown resource type %q", t))
				return
			}
			if cp.typ != "" && t != cp.typ {
				cp.fail("_type", invalidf("_type %s conflicts with the search on %s", t, cp.typ))
				return
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		return
	}
	cp.types = types
	cp.out.SelfLink["_type"] = []string{strings.Join(types, ",")}
}

// param compiles one occurrence key=value.
func (cp *compilation) param(key, value string) {
	name, _, _ := strings.Cut(key, ":")
	if msg, ok := notSupported[name]; ok {
		cp.fail(key, unsupportedf("%s", msg))
		return
	}
	if value == "" {
		return // an empty value constrains nothing
	}
	if strings.HasPrefix(name, "_") && name != "_has" {
		if _, ok := specialKind(name); !ok && cp.resultParam(name, key, value) {
			return
		}
	}
	ckey := key
	if name == "_list" {
		if strings.HasPrefix(value, "$") {
			cp.fail(key, unsupportedf("functional lists (%s) are not supported", value))
			return
		}
		ckey = listAsHas(key)
	}
	cl, _, err := cp.c.clause(cp.types, ckey, value)
	if err != nil {
		cp.fail(key, err)
		return
	}
	cp.out.Query.Where = append(cp.out.Query.Where, cl)
	cp.out.SelfLink.Add(key, value)
}

// listAsHas rewrites _list=id (https://hl7.org/fhir/R4/search.html#list:
// resources referenced by the entries of List/id) as the reverse chain
// _has:List:item:_id=id.
func listAsHas(key string) string {
	if key != "_list" {
		return key // a modifier: refused as unknown by the lookup
	}
	return "_has:List:item:_id"
}

// CompartmentClause is the clause that restricts a search to the resources
// in one compartment (https://hl7.org/fhir/R4/compartmentdefinition.html):
// GET [base]/Patient/123/Observation adds
// CompartmentClause("Patient", "123") to the compiled query.
func CompartmentClause(compType, id string) store.Clause {
	return store.Clause{Or: []store.Predicate{{
		Kind:        store.KindCompartment,
		Compartment: store.CompartmentRef{Type: compType, ID: id},
	}}}
}

// Criteria compiles the criteria of a conditional operation
// (https://hl7.org/fhir/R4/http.html#ccreate): strictly, so that an unknown
// or malformed parameter fails rather than matching too broadly.
func (c *Compiler) Criteria(typ string, params url.Values) (*store.Query, error) {
	cp, err := c.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	return cp.Query, nil
}
