package fhirapi

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// Compiler turns search parameters into a Search (package search provides
// it; NewSearchAdapter wraps it). typ is "" for a system-level search.
// strict is true under "Prefer: handling=strict": unknown or unsupported
// parameters are then errors instead of ignored issues.
type Compiler interface {
	Compile(typ string, params url.Values, strict bool) (*Search, error)
}

// Search is a compiled search: the store query plus the result parameters
// that shape the Bundle (https://hl7.org/fhir/R4/search.html#return).
type Search struct {
	Query      *store.Query
	Include    []Include
	RevInclude []Include
	// Summary is the _summary value: "", "true", "text", "data", "count", "false".
	Summary string
	// Elements lists the _elements names (top-level element names).
	Elements []string
	// Ignored holds issues about parameters that were not applied (lenient mode).
	Ignored []errs.Issue
	// Self holds the parameters as applied, to write the Bundle's links.
	Self url.Values
}

// Include is one _include or _revinclude value: Source:Param[:Target],
// Iterate for the :iterate modifier.
type Include struct {
	Source  string
	Param   string
	Target  string
	Iterate bool
}

// Validator checks a resource against the definitions ($validate).
type Validator interface {
	Validate(res map[string]any) []errs.Issue
}

// Indexer extracts the search-index rows of a resource; _include uses its
// reference rows to find what a matched resource points at.
type Indexer interface {
	Index(res map[string]any) (store.Index, error)
}

// PathPatcher applies a FHIRPath Patch Parameters resource
// (https://hl7.org/fhir/R4/fhirpatch.html) to a resource.
type PathPatcher interface {
	Apply(res, patch map[string]any) (map[string]any, error)
}

// Config holds the API's dependencies. Repo, Defs, Compiler and Validator
// are required; Indexer (for _include) is optional (without it _include is
// reported as unsupported); Patcher defaults to NewFHIRPathPatcher.
type Config struct {
	Repo      *repo.Repo
	Defs      *defs.Definitions
	Compiler  Compiler
	Validator Validator
	Indexer   Indexer
	Patcher   PathPatcher
	// MaxBundleEntries bounds batch and transaction Bundles (default 10,000).
	MaxBundleEntries int
	// DefaultCount and MaxCount bound search and history page sizes
	// (defaults 50 and 1,000).
	DefaultCount int
	MaxCount     int
	// Logger receives the details of internal errors (never sent to clients).
	Logger *slog.Logger
	// Software names the server in the CapabilityStatement.
	Software, Version string
	// OAuth, when set, are the authorization server's endpoints that the
	// CapabilityStatement declares (SMART on FHIR's oauth-uris extension).
	OAuth *OAuthURLs
}

// OAuthURLs are the endpoints of the authorization server protecting the API.
type OAuthURLs struct {
	Authorize, Token, Revoke, Introspect, Manage string
}

// API performs FHIR interactions. It is safe for concurrent use.
type API struct {
	repo                           *repo.Repo
	defs                           *defs.Definitions
	compiler                       Compiler
	validator                      Validator
	indexer                        Indexer
	patcher                        PathPatcher
	maxEntries, defCount, maxCount int
	log                            *slog.Logger
	types                          map[string]bool // concrete resource types
	capability                     []byte
	now                            func() time.Time
}

// New checks the configuration and returns an API. The CapabilityStatement
// is built here, once.
func New(c Config) (*API, error) {
	switch {
	case c.Repo == nil:
		return nil, errors.New("fhirapi: no repository")
	case c.Defs == nil:
		return nil, errors.New("fhirapi: no definitions")
	case c.Compiler == nil:
		return nil, errors.New("fhirapi: no search compiler")
	case c.Validator == nil:
		return nil, errors.New("fhirapi: no validator")
	}
	a := &API{repo: c.Repo, defs: c.Defs, compiler: c.Compiler, validator: c.Validator,
		indexer: c.Indexer, patcher: c.Patcher, log: c.Logger,
		maxEntries: orDefault(c.MaxBundleEntries, 10000),
		defCount:   orDefault(c.DefaultCount, 50), maxCount: orDefault(c.MaxCount, 1000),
		now: time.Now}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.patcher == nil {
		a.patcher = NewFHIRPathPatcher(c.Defs)
	}
	a.types = map[string]bool{}
	for _, t := range c.Defs.ResourceTypes() {
		a.types[t] = true
	}
	a.capability = a.buildCapabilities(c.Software, c.Version, c.OAuth)
	return a, nil
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// Handle performs one interaction. It never returns nil: failures are
// Responses carrying an OperationOutcome.
func (a *API) Handle(ctx context.Context, req *Request) *Response {
	resp, err := a.dispatch(ctx, req)
	if err != nil {
		return a.errorResponse(ctx, err)
	}
	return resp
}

// dispatch routes a Request to its interaction
// (https://hl7.org/fhir/R4/http.html#summary).
func (a *API) dispatch(ctx context.Context, req *Request) (*Response, error) {
	if req.Type != "" && !a.types[req.Type] {
		return nil, errs.E(errs.NotFound, "route", "unknown resource type "+quote(req.Type),
			issue("error", "not-supported", "\""+req.Type+"\" is not a FHIR R4 resource type"))
	}
	if isAuditTrail(req) {
		return a.auditTrail(ctx, req) // audit.go
	}
	switch {
	case req.Metadata:
		return a.onlyGET(ctx, req, a.capabilities)
	case req.Operation != "":
		return a.operation(ctx, req)
	case req.History:
		return a.onlyGET(ctx, req, a.history)
	case req.Type == "":
		return a.system(ctx, req)
	case req.ID == "":
		return a.typeLevel(ctx, req)
	case req.Compartment != "":
		if !a.types[req.Compartment] && req.Compartment != "*" {
			return nil, errs.E(errs.NotFound, "route", "unknown resource type "+quote(req.Compartment))
		}
		return a.onlyGET(ctx, req, a.search)
	case req.VersionID != "":
		return a.onlyGET(ctx, req, a.vread)
	}
	switch req.Method {
	case "GET", "HEAD":
		return a.read(ctx, req)
	case "PUT":
		return a.update(ctx, req)
	case "PATCH":
		return a.patch(ctx, req)
	case "DELETE":
		return a.delete(ctx, req)
	}
	return nil, notAllowed(req)
}

func (a *API) system(ctx context.Context, req *Request) (*Response, error) {
	switch {
	case req.Method == "GET" || req.Method == "HEAD" || (req.Method == "POST" && req.SearchPost):
		return a.search(ctx, req)
	case req.Method == "POST":
		return a.bundle(ctx, req)
	}
	return nil, notAllowed(req)
}

func (a *API) typeLevel(ctx context.Context, req *Request) (*Response, error) {
	switch req.Method {
	case "GET", "HEAD":
		return a.search(ctx, req)
	case "POST":
		if req.SearchPost {
			return a.search(ctx, req)
		}
		return a.create(ctx, req)
	case "PUT":
		return a.conditionalUpdate(ctx, req)
	case "PATCH":
		return a.conditionalPatch(ctx, req)
	case "DELETE":
		return a.conditionalDelete(ctx, req)
	}
	return nil, notAllowed(req)
}

type handlerFunc func(context.Context, *Request) (*Response, error)

func (a *API) onlyGET(ctx context.Context, req *Request, h handlerFunc) (*Response, error) {
	if req.Method != "GET" && req.Method != "HEAD" && !(req.Method == "POST" && req.SearchPost) {
		return nil, notAllowed(req)
	}
	return h(ctx, req)
}

func notAllowed(req *Request) error {
	return errs.E(errs.MethodNotAllowed, "route", req.Method+" is not allowed on "+req.path(),
		issue("error", "not-supported", req.Method+" is not a FHIR interaction on "+req.path()))
}

func quote(s string) string { return "\"" + s + "\"" }
