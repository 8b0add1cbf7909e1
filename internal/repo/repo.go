package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// Validator checks a resource against the FHIR definitions. An issue of
// severity error or fatal rejects the write.
type Validator interface {
	Validate(res map[string]any) []errs.Issue
}

// Indexer extracts the search-index rows of a resource.
type Indexer interface {
	Index(res map[string]any) (store.Index, error)
}

// Criteria compiles the search criteria of a conditional operation
// ("identifier=http://x|1") for a resource type into a store query. Unknown
// parameters are errors: a conditional write must never match too broadly.
type Criteria interface {
	Criteria(typ string, params url.Values) (*store.Query, error)
}

// Config holds the Repository's dependencies. All are required.
type Config struct {
	Store     store.Store
	Validator Validator
	Indexer   Indexer
	Criteria  Criteria
	// ResourceType reports whether a name is a concrete FHIR resource type.
	ResourceType func(name string) bool
	// Layout gives the element order resources are stored in.
	Layout fhir.Layout

	// Consent is the deployment's consent model for staff of other
	// organizations (docs/ACCESS.md); the zero value is opt-in.
	Consent access.ConsentModel
	// Definitions give the resource types and the Patient compartment the
	// access policy works with; nil means defs.Default().
	Definitions *defs.Definitions
}

// Repo is the Repository. It is safe for concurrent use.
type Repo struct {
	store     store.Store
	validator Validator
	indexer   Indexer
	criteria  Criteria
	isType    func(string) bool
	layout    fhir.Layout
	appender  *appender // audit entries of reads (audit.go)
	// The access policy's data (policy.go): the consent model, every
	// concrete type, and the types of the Patient compartment.
	consent      access.ConsentModel
	types        []string
	patientTypes map[string]bool
}

// New checks the configuration and returns a Repository.
func New(c Config) (*Repo, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("repo: no store")
	case c.Validator == nil:
		return nil, errors.New("repo: no validator")
	case c.Indexer == nil:
		return nil, errors.New("repo: no indexer")
	case c.Criteria == nil:
		return nil, errors.New("repo: no criteria compiler")
	case c.ResourceType == nil:
		return nil, errors.New("repo: no resource type check")
	case c.Layout == nil:
		return nil, errors.New("repo: no element layout")
	}
	d := c.Definitions
	if d == nil {
		d = defs.Default()
	}
	r := &Repo{store: c.Store, validator: c.Validator, indexer: c.Indexer, criteria: c.Criteria,
		isType: c.ResourceType, layout: c.Layout, appender: newAppender(c.Store),
		consent: c.Consent, patientTypes: map[string]bool{}}
	for _, t := range d.ResourceTypes() {
		if c.ResourceType(t) {
			r.types = append(r.types, t)
		}
	}
	if comp := d.Compartment("Patient"); comp != nil {
		for t := range comp.Resources {
			r.patientTypes[t] = true
		}
	}
	return r, nil
}

// Store returns the underlying store, for readiness checks.
func (r *Repo) Store() store.Store { return r.store }

// NewID returns a fresh server-assigned logical id: a version 7 UUID, whose
// time ordering keeps B-tree inserts local.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func (r *Repo) checkType(op, typ string) error {
	if !r.isType(typ) {
		return errs.E(op, errs.NotFound, fmt.Sprintf("unknown resource type %q", typ),
			errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: fmt.Sprintf("%q is not a FHIR R4 resource type", typ)})
	}
	return nil
}

// Read returns the current version of a resource. A deleted resource gives
// an errs.Gone error (with the deletion record). The read is audited before
// the record is returned.
func (r *Repo) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	t := r.appender.expect()
	defer r.appender.settle(t)
	rec, err := r.read(ctx, typ, id)
	if aerr := r.recordSettled(t, err, oneEntry(ctx, audit.InteractionRead, typ, id, 0, rec, err)); aerr != nil && err == nil {
		return nil, aerr
	}
	return rec, err
}

func (r *Repo) read(ctx context.Context, typ, id string) (*store.Record, error) {
	op := "read " + typ + "/" + id
	if err := r.checkType(op, typ); err != nil {
		return nil, err
	}
	storeOp := "read " + typ + "/" + id
	g := r.guard(ctx)
	if g.open() {
		rec, err := r.store.Read(ctx, typ, id)
		if err != nil {
			return rec, errs.E(op, err)
		}
		return rec, nil
	}
	// A restricted principal whose only restriction on this type is the
	// labels it may not see (a backend service; a type outside the Patient
	// compartment): the resource is read by its key, and a version whose
	// JSON names no security label is visible as it is. Stored JSON is
	// always this server's canonical writing, so meta.security, when
	// present, is spelled "security" there; a version that holds the word
	// anywhere goes through the policy's search below, which decides.
	if g.labelsOnly(op, typ) {
		rec, err := r.store.Read(ctx, typ, id)
		if err != nil {
			return g.checkRead(ctx, r.store.Search, op, storeOp, typ, id, rec, err)
		}
		if !bytes.Contains(rec.JSON, securityKey) {
			return rec, nil
		}
	}
	// A restricted principal. When the policy restricts the type (a scope
	// query, the patients or labels the principal may see), it decides by
	// searching for the id under its clauses; that search returns the
	// current version itself, so it is the read: one statement instead of
	// a read followed by the search. A resource that does not exist, is
	// deleted or is not visible is not found either way.
	var seen *store.Record
	run := func(ctx context.Context, q *store.Query) (*store.Result, error) {
		res, err := r.store.Search(ctx, q)
		if err == nil && len(res.Records) == 1 && res.Records[0].Type == typ && res.Records[0].ID == id {
			seen = res.Records[0]
		}
		return res, err
	}
	if _, err := g.checkRead(ctx, run, op, storeOp, typ, id, &store.Record{Type: typ, ID: id}, nil); err != nil {
		return nil, err
	}
	if seen != nil {
		return seen, nil
	}
	// Nothing restricts the type: the policy ran no search, and the plain
	// read answers (its not found and gone hidden alike by checkRead).
	rec, err := r.store.Read(ctx, typ, id)
	return g.checkRead(ctx, r.store.Search, op, storeOp, typ, id, rec, err)
}

// VRead returns one version of a resource, audited like Read.
func (r *Repo) VRead(ctx context.Context, typ, id string, version int64) (*store.Record, error) {
	t := r.appender.expect()
	defer r.appender.settle(t)
	rec, err := r.vread(ctx, typ, id, version)
	if aerr := r.recordSettled(t, err, oneEntry(ctx, audit.InteractionVRead, typ, id, version, rec, err)); aerr != nil && err == nil {
		return nil, aerr
	}
	return rec, err
}

func (r *Repo) vread(ctx context.Context, typ, id string, version int64) (*store.Record, error) {
	op := fmt.Sprintf("vread %s/%s/_history/%d", typ, id, version)
	if err := r.checkType(op, typ); err != nil {
		return nil, err
	}
	rec, err := r.store.VRead(ctx, typ, id, version)
	if g := r.guard(ctx); !g.open() {
		// The resource's current version decides, as for its history.
		cur, cerr := r.store.Read(ctx, typ, id)
		if _, cerr = g.checkRead(ctx, r.store.Search, op, "vread "+typ+"/"+id, typ, id, cur, cerr); cerr != nil {
			return nil, cerr
		}
	}
	if err != nil {
		return rec, errs.E(op, err)
	}
	return rec, nil
}

// History lists versions, newest first. The entry names the history's
// target and every version listed.
func (r *Repo) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	page, err := r.history(ctx, q)
	var recs []*store.Record
	if page != nil {
		recs = page.Records
	}
	var target []audit.Entity
	if q.Type != "" {
		target = []audit.Entity{{Type: q.Type, ID: q.ID}}
	}
	if aerr := r.record(err, readEntry(ctx, audit.InteractionHistory, target, recs, err)); aerr != nil && err == nil {
		return nil, aerr
	}
	return page, err
}

func (r *Repo) history(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	if q.Type != "" {
		if err := r.checkType("history", q.Type); err != nil {
			return nil, err
		}
	}
	if err := r.guard(ctx).checkHistory(ctx, q); err != nil {
		return nil, err
	}
	page, err := r.store.History(ctx, q)
	if err != nil {
		return nil, errs.E("history", err)
	}
	return page, nil
}

// Search runs a compiled query. The entry names the types searched, the
// parameters (audit.WithQuery), every resource returned and their patients.
func (r *Repo) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	res, err := r.search(ctx, q)
	if aerr := r.record(err, searchEntry(ctx, q, res, err)); aerr != nil && err == nil {
		return nil, aerr
	}
	return res, err
}

func searchEntry(ctx context.Context, q *store.Query, res *store.Result, err error) *audit.Entry {
	target := make([]audit.Entity, len(q.Types))
	for i, t := range q.Types {
		target[i] = audit.Entity{Type: t}
	}
	var recs []*store.Record
	if res != nil {
		recs = res.Records
	}
	return readEntry(ctx, audit.InteractionSearch, target, recs, err)
}

func (r *Repo) search(ctx context.Context, q *store.Query) (*store.Result, error) {
	for _, t := range q.Types {
		if err := r.checkType("search", t); err != nil {
			return nil, err
		}
	}
	if g := r.guard(ctx); !g.open() {
		sq, err := g.scoped("search", q, 's')
		if err != nil {
			return nil, err
		}
		q = sq
	}
	res, err := r.store.Search(ctx, q)
	if err != nil {
		return nil, errs.E("search", err)
	}
	return res, nil
}

// Create stores a new resource (a transaction of its own).
func (r *Repo) Create(ctx context.Context, res map[string]any, opts CreateOptions) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.Create(ctx, res, opts)
		return err
	})
	return out, err
}

// Update stores a new version of typ/id, creating it if absent.
func (r *Repo) Update(ctx context.Context, typ, id string, res map[string]any, opts UpdateOptions) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.Update(ctx, typ, id, res, opts)
		return err
	})
	return out, err
}

// ConditionalUpdate updates the one resource matching criteria, or creates one.
func (r *Repo) ConditionalUpdate(ctx context.Context, typ string, criteria url.Values, res map[string]any, opts UpdateOptions) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.ConditionalUpdate(ctx, typ, criteria, res, opts)
		return err
	})
	return out, err
}

// Patch applies fn to the current content of typ/id and stores the result.
func (r *Repo) Patch(ctx context.Context, typ, id string, fn PatchFunc, opts UpdateOptions) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.Patch(ctx, typ, id, fn, opts)
		return err
	})
	return out, err
}

// Delete deletes typ/id.
func (r *Repo) Delete(ctx context.Context, typ, id string) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.Delete(ctx, typ, id)
		return err
	})
	return out, err
}

// ConditionalDelete deletes the one resource matching criteria.
func (r *Repo) ConditionalDelete(ctx context.Context, typ string, criteria url.Values) (out *Outcome, err error) {
	err = r.InTx(ctx, func(tx *Tx) error {
		out, err = tx.ConditionalDelete(ctx, typ, criteria)
		return err
	})
	return out, err
}

// InTx runs fn in one transaction: all its writes commit together, or none.
// The audit entries of its interactions are appended last, in the same
// transaction; if it rolls back, they are recorded as failed in one of
// their own.
func (r *Repo) InTx(ctx context.Context, fn func(*Tx) error) error {
	var attempted []*audit.Entry
	err := r.store.InTx(ctx, func(st store.Tx) error {
		tx := &Tx{r: r, st: st, now: st.Now(), pending: map[key]int{}}
		err := fn(tx)
		if err == nil {
			err = tx.flush(ctx)
		}
		attempted = tx.audit
		if err != nil {
			return err
		}
		return tx.appendAudit(ctx)
	})
	if err != nil {
		r.rolledBack(ctx, attempted, err)
	}
	return err
}

// formatInstant renders a store time as a FHIR instant.
func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
