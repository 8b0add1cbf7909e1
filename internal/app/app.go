// Package app assembles OpenChart from its parts: the embedded definitions,
// the validator, the search indexer and compiler, a store (embedded or
// PostgreSQL), the Repository and the FHIR API. Commands (serve, import)
// and end-to-end tests build the same stack through Open, so what is tested
// is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"log/slog"
	"net/url"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// Version is the software version reported by the server.
var Version = "0.1.0-dev"

// Config selects the store and the instruments.
type Config struct {
	// DataDir is the embedded store's directory (used when DB is empty).
	DataDir string
	// DB is a PostgreSQL URL; when set, PostgreSQL is the store.
	DB string
	// BaseURL is the public base of the FHIR API ("https://ehr.example.org/fhir"):
	// absolute references under it are indexed as local references.
	BaseURL string
	Logger  *slog.Logger
	Metrics *metrics.Metrics // optional: store timings are observed when set
	// MaxBundleEntries bounds batch and transaction Bundles (0: the API's default).
	MaxBundleEntries int
	// OAuth are the authorization server's endpoints the CapabilityStatement
	// declares (nil when no authorization server protects the API).
	OAuth *fhirapi.OAuthURLs
	// Consent is the deployment's consent model for staff of other
	// organizations: opt-in (the zero value) or opt-out (docs/ACCESS.md).
	Consent access.ConsentModel
}

// App is an assembled OpenChart.
type App struct {
	Defs    *defs.Definitions
	Store   store.Store
	Repo    *repo.Repo
	API     *fhirapi.API
	Indexer *search.Indexer
	// Registry holds the search parameters this App indexes and searches
	// with: the embedded ones and the custom SearchParameter resources that
	// were stored when it opened.
	Registry *search.Registry
	// Compiler compiles search parameters into store queries (the doors'
	// own searches: the patient picker, the pages).
	Compiler *search.Compiler

	analyze func(context.Context) error // the store's own statistics refresh, if it has one
}

// Open builds the stack. Close releases the store.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := defs.Default()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, err := assemble(ctx, d, st, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// Analyze refreshes the store's query-planner statistics. Run it after bulk
// loads: until statistics exist, PostgreSQL may plan a search on freshly
// loaded tables badly (seconds instead of milliseconds), and autovacuum,
// where it runs at all, catches up only later.
func (a *App) Analyze(ctx context.Context) error {
	if a.analyze == nil {
		return nil
	}
	return a.analyze(ctx)
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	var st store.Store
	var err error
	switch {
	case cfg.DB != "":
		if !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
			return nil, errors.New("the database URL must start with postgres:// or postgresql://")
		}
		st, err = postgres.Open(ctx, cfg.DB, postgres.Options{})
	case cfg.DataDir != "":
		st, err = sqlite.Open(ctx, cfg.DataDir, sqlite.Options{})
	default:
		return nil, errors.New("no store: give a data directory or a database URL")
	}
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if cfg.Metrics != nil {
		st = &analyzedStore{Store: cfg.Metrics.Store(st), raw: st}
	}
	return st, nil
}

// analyzedStore keeps the unwrapped store reachable behind the metrics
// wrapper, for maintenance that is not part of the store contract.
type analyzedStore struct {
	store.Store
	raw store.Store
}

// CommitAudit passes the audit group commit on to the wrapped store (see
// store.AuditCommitter).
func (s *analyzedStore) CommitAudit(ctx context.Context, entries []*audit.Entry) error {
	return store.CommitAudit(ctx, s.Store, entries)
}

type analyzer interface {
	Analyze(context.Context) error
}

func analyzeFunc(st store.Store) func(context.Context) error {
	if w, ok := st.(*analyzedStore); ok {
		st = w.raw
	}
	if an, ok := st.(analyzer); ok {
		return an.Analyze
	}
	return nil
}

func assemble(ctx context.Context, d *defs.Definitions, st store.Store, cfg Config) (*App, error) {
	val := validate.New(d, validate.Options{Invariants: validate.FHIRPathInvariants(d)})
	reg, err := loadRegistry(ctx, d, st, val, cfg.Logger)
	if err != nil {
		return nil, err
	}
	ix, err := search.NewIndexerFrom(reg)
	if err != nil {
		return nil, fmt.Errorf("compiling search parameters: %w", err)
	}
	ix = ix.WithBaseURL(cfg.BaseURL)
	comp := search.NewCompilerFrom(reg)
	comp.BaseURL = cfg.BaseURL
	r, err := repo.New(repo.Config{
		Store:        st,
		Validator:    val,
		Indexer:      ix,
		Criteria:     criteria{comp},
		ResourceType: concreteTypes(d),
		Layout:       d,
		Consent:      cfg.Consent,
		Definitions:  d,
	})
	if err != nil {
		return nil, err
	}
	api, err := fhirapi.New(fhirapi.Config{
		Repo:      r,
		Defs:      d,
		Compiler:  fhirapi.NewSearchAdapter(comp),
		Validator: val,
		Indexer:   ix,
		Logger:    cfg.Logger,

		MaxBundleEntries: cfg.MaxBundleEntries,
		Software:         "OpenChart",
		Version:          Version,
		OAuth:            cfg.OAuth,
	})
	if err != nil {
		return nil, err
	}
	return &App{Defs: d, Store: st, Repo: r, API: api, Indexer: ix, Registry: reg, Compiler: comp, analyze: analyzeFunc(st)}, nil
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// criteria adapts the search compiler to the Repository's conditional
// operations: strict, so that a misspelt parameter never widens a match.
type criteria struct{ c *search.Compiler }

func (c criteria) Criteria(typ string, params url.Values) (*store.Query, error) {
	compiled, err := c.c.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	return compiled.Query, nil
}

// concreteTypes reports whether a name is a resource type that can have
// instances: not the abstract Resource and DomainResource.
func concreteTypes(d *defs.Definitions) func(string) bool {
	set := map[string]bool{}
	for _, t := range d.ResourceTypes() {
		set[t] = true
	}
	return func(name string) bool { return set[name] }
}
