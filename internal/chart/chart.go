package chart

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// Config holds the chart's dependencies.
type Config struct {
	// Repo is the Repository every read goes through (required).
	Repo *repo.Repo
	// Compiler compiles the FHIR searches the views run by URL parameters
	// (required): the same compiler the FHIR API uses, so that parameter
	// names mean what they mean there.
	Compiler *search.Compiler
	// Now gives the time ages, due immunizations and upcoming appointments
	// are computed at (default time.Now).
	Now func() time.Time
	// Organization is this deployment's own organization
	// ("Organization/123"), optional: data whose organization is another
	// one is marked as coming from outside (see Source). Without it the
	// patient's managingOrganization stands for it.
	Organization string
}

// Chart computes the views of a patient's record. It is safe for
// concurrent use.
type Chart struct {
	repo     *repo.Repo
	compiler *search.Compiler
	now      func() time.Time
	home     string
	// plan is how the summary reads the compartment (the benchmark
	// compares the plans).
	plan plan
	// parseAll makes the summary parse every observation instead of only
	// the newest of each code (the tests check both give the same summary).
	parseAll bool
}

// New checks the configuration and returns a Chart.
func New(cfg Config) (*Chart, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errors.New("chart: no repository")
	case cfg.Compiler == nil:
		return nil, errors.New("chart: no search compiler")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Chart{repo: cfg.Repo, compiler: cfg.Compiler, now: cfg.Now, home: cfg.Organization}, nil
}

// principal refuses a context without a principal: the views are for
// signed-in users and clients, whose identity the Repository checks and
// records.
func principal(ctx context.Context, op string) error {
	if access.From(ctx) == nil {
		return errs.E(op, errs.Unauthenticated, "the chart needs a signed-in user")
	}
	return nil
}

// checkID refuses an id that cannot be a FHIR logical id before any read.
func checkID(op, id string) error {
	if !fhir.ValidID(id) {
		return errs.E(op, errs.Invalid, fmt.Sprintf("%q is not a valid patient id", id),
			errs.Issue{Severity: "error", Code: "value", Diagnostics: "a patient id is 1 to 64 letters, digits, '-' or '.'", Expression: []string{"patient"}})
	}
	return nil
}

// plan is a way of reading the summary's resources.
type plan uint8

const (
	// planOne: one compartment search over all the types (the default:
	// the benchmark found it as fast as the others, with one audit entry
	// and one connection).
	planOne plan = iota
	// planSplit: two compartment searches run concurrently, one for the
	// observations and one for the other types, so that ranking the
	// observations overlaps with reading and parsing the rest.
	planSplit
	// planPerType: one search per type, all concurrently.
	planPerType
)

// record is one resource read for a view.
type record struct {
	Type    string
	ID      string
	Res     map[string]any
	Updated time.Time // meta.lastUpdated: when this version was stored
}

// records groups what a compartment search returned by type.
type records map[string][]record

// readPatient reads and parses the Patient.
func (c *Chart) readPatient(ctx context.Context, id string) (map[string]any, error) {
	rec, err := c.repo.Read(ctx, "Patient", id)
	if err != nil {
		return nil, err
	}
	res, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
	if err != nil {
		return nil, errs.E("chart", errs.Internal, err)
	}
	return res, nil
}

// compartment reads the resources of types in the patient's compartment
// and parses them (see compartmentRecords).
func (c *Chart) compartment(ctx context.Context, patientID string, types []string) (records, error) {
	recs, err := c.compartmentRecords(ctx, patientID, types, false)
	if err != nil {
		return nil, err
	}
	return group(recs)
}

// compartmentRecords reads the resources of types in the patient's
// compartment: one search over all of them (the store's compartment
// predicate), or, with perType, one search per type run concurrently.
//
// The access policy leaves out of a search the types the caller may not
// search, but refuses a search over several types of which one is
// restricted by a query (a SMART scope such as
// patient/Observation.rs?category=laboratory, docs/ACCESS.md): then each
// type is searched alone, the restriction applies to its own search, and
// the types the caller may not read are left out, as the policy does.
func (c *Chart) compartmentRecords(ctx context.Context, patientID string, types []string, perType bool) ([]*store.Record, error) {
	return c.searchTypes(ctx, types, []store.Clause{search.CompartmentClause("Patient", patientID)}, perType)
}

// searchTypes runs one search over types, or one per type (see
// compartmentRecords).
func (c *Chart) searchTypes(ctx context.Context, types []string, where []store.Clause, perType bool) ([]*store.Record, error) {
	if !perType {
		res, err := c.repo.Search(ctx, &store.Query{Types: types, Where: where})
		switch {
		case err == nil:
			return res.Records, nil
		case !errs.Is(err, errs.Permission) || len(types) == 1:
			return nil, err
		}
	}
	parts := make([][]*store.Record, len(types))
	err := parallel(len(types), func(i int) error {
		res, err := c.repo.Search(ctx, &store.Query{Types: types[i : i+1], Where: where})
		switch {
		case err == nil:
			parts[i] = res.Records
		case errs.Is(err, errs.Permission):
			err = nil // a type the caller may not read: left out
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var all []*store.Record
	for _, p := range parts {
		all = append(all, p...)
	}
	return all, nil
}

// group parses records and sorts them by type, leaving out what was
// entered in error: such a record was never true and no view shows it.
func group(recs []*store.Record) (records, error) {
	out, _, err := groupCounting(recs)
	return out, err
}

// groupCounting is group that also counts, by type, the records it left
// out as entered in error.
func groupCounting(recs []*store.Record) (records, map[string]int, error) {
	out := records{}
	var mistakes map[string]int
	for _, r := range recs {
		res, err := fhir.ParseStored("chart", r.Type, r.ID, r.JSON)
		if err != nil {
			return nil, nil, err
		}
		if enteredInError(res) {
			if mistakes == nil {
				mistakes = map[string]int{}
			}
			mistakes[r.Type]++
			continue
		}
		out[r.Type] = append(out[r.Type], record{Type: r.Type, ID: r.ID, Res: res, Updated: r.LastUpdated})
	}
	return out, mistakes, nil
}

// enteredInError reports whether a resource says it was recorded by
// mistake: status entered-in-error (most clinical resources) or a
// verificationStatus of entered-in-error (Condition, AllergyIntolerance).
func enteredInError(res map[string]any) bool {
	return fhir.Str(res["status"]) == "entered-in-error" || firstCode(res, "verificationStatus") == "entered-in-error"
}

// parallel runs fn(0..n-1) concurrently and returns the first error.
func parallel(n int, fn func(i int) error) error {
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errsOut {
		if err != nil {
			return err
		}
	}
	return nil
}
