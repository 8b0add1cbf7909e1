package repo

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// The Repository records every interaction in the audit trail (ONC 45 CFR
// 170.315(d)(2), (d)(10); https://hl7.org/fhir/R4/auditevent.html):
//
//   - writes (create, update, patch, delete, conditional forms): one entry
//     per resource written, appended in the write's own transaction, so the
//     version and its entry commit together or not at all;
//   - reads, vreads, searches and history: one entry per call, committed in
//     a small transaction of its own before the data is returned (a read
//     whose entry cannot be written fails);
//   - failures: an interaction refused or failed is recorded with outcome 4
//     (the request was at fault) or 8 (the server was). When a transaction
//     rolls back, every interaction it attempted is recorded as failed in a
//     transaction of its own, since none of them happened.
//
// The agent is the access.Principal of the context; a context without one
// is recorded as anonymous (operator commands set an operator or system
// principal).

// newEntry starts an entry for an interaction by the principal of ctx.
func newEntry(ctx context.Context, interaction string) *audit.Entry {
	return &audit.Entry{Action: audit.ActionOf(interaction), Interaction: interaction,
		Agent: audit.AgentOf(access.From(ctx))}
}

// outcomeOf classifies an error as AuditEvent.outcome
// (https://hl7.org/fhir/R4/valueset-audit-event-outcome.html): errors of
// the request are minor failures (4), errors of the server serious (8).
func outcomeOf(err error) (audit.Outcome, string) {
	switch errs.KindOf(err) {
	case errs.Internal, errs.Transient, errs.Other:
		return audit.SeriousFailure, errs.KindOf(err).String() + ": " + errs.Message(err)
	}
	return audit.MinorFailure, errs.KindOf(err).String() + ": " + errs.Message(err)
}

func setOutcome(e *audit.Entry, err error) {
	if err != nil {
		e.Outcome, e.OutcomeDesc = outcomeOf(err)
	}
}

// record appends entries in a transaction of their own, shared with the
// entries of concurrent calls (see appender). opErr is the interaction's
// error: a failed interaction is recorded even when the caller has gone
// (its context is cancelled), and its error is what the caller gets back. A
// successful interaction whose entry cannot be written fails with the audit
// error.
func (r *Repo) record(opErr error, entries ...*audit.Entry) error {
	return r.recordSettled(nil, opErr, entries...)
}

// recordSettled is record for a read announced by appender.expect: its
// ticket is settled as the entries are queued.
func (r *Repo) recordSettled(t *ticket, opErr error, entries ...*audit.Entry) error {
	err := r.appender.append(entries, t)
	switch {
	case opErr != nil:
		return opErr
	case err != nil:
		return errs.E("audit", err)
	}
	return nil
}

// appender commits the entries of reads, searches and failures: a group
// commit. A caller hands its entries over and waits until they are
// committed; while one transaction commits, the entries of other callers
// gather and go together in the next one. A lone read pays one small
// transaction; many concurrent reads share transactions instead of queueing
// one commit each on the chain head (PostgreSQL) or the writer (SQLite).
//
// Reads also announce themselves before they reach the store (expect):
// when entries are queued and other reads are still under way, the batch
// waits for their entries, at most gatherWait, so that concurrent reads
// share one commit instead of committing one by one as they finish (on two
// cores, 8 concurrent readers otherwise committed mostly one entry per
// transaction). A read with no other read under way commits at once.
type appender struct {
	store    store.Store
	mu       sync.Mutex
	queue    []*appendReq
	running  bool
	inflight int           // reads announced by expect whose entries are not queued yet
	arrived  chan struct{} // signalled (without blocking) when entries are queued
}

// gatherWait bounds how long queued entries wait for the entries of reads
// still under way: about the time of a read by id on a busy machine, and a
// small part of a request's latency budget.
const gatherWait = 500 * time.Microsecond

func newAppender(st store.Store) *appender {
	return &appender{store: st, arrived: make(chan struct{}, 1)}
}

type appendReq struct {
	entries []*audit.Entry
	done    chan error
}

// ticket is a read announced by expect.
type ticket struct{ settled bool }

// expect announces a read whose entry will follow. The ticket is settled
// when its entries are queued (append) or by settle, which the caller
// defers in case it hands none over (a panic).
func (a *appender) expect() *ticket {
	a.mu.Lock()
	a.inflight++
	a.mu.Unlock()
	return &ticket{}
}

// settle forgets an announced read that did not hand its entries over.
func (a *appender) settle(t *ticket) {
	a.mu.Lock()
	if t.settled {
		a.mu.Unlock()
		return
	}
	t.settled = true
	a.inflight--
	a.mu.Unlock()
	a.signal()
}

func (a *appender) signal() {
	select {
	case a.arrived <- struct{}{}:
	default:
	}
}

// append commits entries and waits for the commit. t, when not nil, is
// the announcement of expect, settled as the entries are queued.
func (a *appender) append(entries []*audit.Entry, t *ticket) error {
	req := &appendReq{entries: entries, done: make(chan error, 1)}
	a.mu.Lock()
	a.queue = append(a.queue, req)
	if t != nil && !t.settled {
		t.settled = true
		a.inflight--
	}
	if !a.running {
		a.running = true
		go a.run()
	}
	a.mu.Unlock()
	a.signal()
	return <-req.done
}

// run commits queued entries batch by batch until the queue is empty. The
// batch's transaction does not depend on any caller's context: once handed
// over, an entry is written whatever happens to the request.
func (a *appender) run() {
	const maxBatch = 1000 // entries of one transaction
	var timer *time.Timer
	for {
		a.gather(&timer, maxBatch)
		a.mu.Lock()
		var batch []*appendReq
		n := 0
		for len(a.queue) > 0 && (n == 0 || n+len(a.queue[0].entries) <= maxBatch) {
			n += len(a.queue[0].entries)
			batch, a.queue = append(batch, a.queue[0]), a.queue[1:]
		}
		if len(batch) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		all := make([]*audit.Entry, 0, n)
		for _, r := range batch {
			all = append(all, r.entries...)
		}
		// A store that commits audit entries on its own does it more
		// cheaply (PostgreSQL: two round trips instead of four; SQLite: in
		// the trail's own file); the others run InTx with Tx.AppendAudit.
		err := store.CommitAudit(context.Background(), a.store, all)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// gather waits, at most gatherWait, while reads announced by expect are
// still under way and the queue is not yet a full batch.
func (a *appender) gather(timer **time.Timer, maxBatch int) {
	var deadline <-chan time.Time
	for {
		a.mu.Lock()
		queued := 0
		for _, r := range a.queue {
			queued += len(r.entries)
		}
		wait := a.inflight > 0 && queued > 0 && queued < maxBatch
		a.mu.Unlock()
		if !wait {
			return
		}
		if deadline == nil {
			if *timer == nil {
				*timer = time.NewTimer(gatherWait)
			} else {
				(*timer).Reset(gatherWait)
			}
			deadline = (*timer).C
		}
		select {
		case <-a.arrived:
		case <-deadline:
			return
		}
	}
}

// readEntry is the entry of a read-like interaction that returned recs.
func readEntry(ctx context.Context, interaction string, target []audit.Entity, recs []*store.Record, err error) *audit.Entry {
	e := newEntry(ctx, interaction)
	e.Entities = target
	var pats []string
	for _, rec := range recs {
		if rec == nil {
			continue
		}
		e.Entities = append(e.Entities, audit.Entity{Type: rec.Type, ID: rec.ID, Version: rec.Version})
		pats = appendPatients(pats, rec)
	}
	e.Patients = audit.SortPatients(pats)
	grantOf(ctx, e)
	e.Query = audit.QueryFrom(ctx)
	setOutcome(e, err)
	return e
}

// oneEntry is the entry of a read of one resource (version 0: the current).
func oneEntry(ctx context.Context, interaction, typ, id string, version int64, rec *store.Record, err error) *audit.Entry {
	if err == nil && rec != nil {
		return readEntry(ctx, interaction, nil, []*store.Record{rec}, nil)
	}
	return readEntry(ctx, interaction, []audit.Entity{{Type: typ, ID: id, Version: version}}, nil, err)
}

// refPatient starts a reference to a Patient in canonical JSON (no white
// space between a name and its value).
var refPatient = []byte(`"reference":"Patient/`)

// appendPatients adds the patients a stored version concerns: itself when
// it is a Patient, and every Patient it references. That is the version's
// Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)
// or a little more (a reference outside the compartment's parameters, such
// as Observation.focus), found without parsing: the audit trail may name a
// patient too many, never one too few. Absolute references are not
// counted. Writes use the exact compartment the indexer computed instead.
func appendPatients(out []string, rec *store.Record) []string {
	if rec.Type == "Patient" {
		out = append(out, rec.ID)
	}
	b := rec.JSON
	for {
		i := bytes.Index(b, refPatient)
		if i < 0 {
			return out
		}
		b = b[i+len(refPatient):]
		if j := bytes.IndexAny(b, `"/`); j > 0 {
			out = append(out, string(b[:j]))
		}
	}
}

// compartmentPatients are the Patient compartments of an index.
func compartmentPatients(ix *store.Index) []string {
	var out []string
	for _, c := range ix.Compartments {
		if c.Type == "Patient" {
			out = append(out, c.ID)
		}
	}
	return out
}

// note records a write interaction of this transaction: the resource
// written (or attempted) and its outcome.
func (tx *Tx) note(ctx context.Context, interaction, typ, id string, out *Outcome, err error) {
	e := newEntry(ctx, interaction)
	ent := audit.Entity{Type: typ, ID: id}
	if out != nil && out.Record != nil {
		rec := out.Record
		ent = audit.Entity{Type: rec.Type, ID: rec.ID, Version: rec.Version}
		if pats, ok := tx.patients[key{rec.Type, rec.ID}]; ok && !out.Unchanged {
			e.Patients = audit.SortPatients(append([]string(nil), pats...))
		} else {
			e.Patients = audit.SortPatients(appendPatients(nil, rec))
		}
	}
	e.Entities = []audit.Entity{ent}
	grantOf(ctx, e)
	if out != nil && out.Created {
		e.Action = audit.Create // an update that created the resource
	}
	setOutcome(e, err)
	tx.audit = append(tx.audit, e)
}

// appendAudit appends the transaction's entries, stamped with its time.
func (tx *Tx) appendAudit(ctx context.Context) error {
	if len(tx.audit) == 0 {
		return nil
	}
	for _, e := range tx.audit {
		e.Recorded = tx.now
	}
	return tx.st.AppendAudit(ctx, tx.audit)
}

// rolledBack records the interactions of a transaction that rolled back
// with err: those that had succeeded did not happen after all.
func (r *Repo) rolledBack(ctx context.Context, entries []*audit.Entry, err error) {
	if len(entries) == 0 {
		return
	}
	o, desc := outcomeOf(err)
	for _, e := range entries {
		if e.Outcome == audit.Success {
			e.Outcome, e.OutcomeDesc = o, "rolled back: "+desc
		}
	}
	r.record(err, entries...)
}

// AuditReport lists audit entries for a report (170.315(d)(3)), limited
// to the part of the trail the principal may read (access.AuditScope):
// an organization's auditors see the entries of those acting for it, a
// patient those about them alone. Reading the trail is itself recorded: a
// search of AuditEvent by the principal.
func (r *Repo) AuditReport(ctx context.Context, q store.AuditQuery) (*store.AuditPage, error) {
	var page *store.AuditPage
	var err error
	if g := r.guard(ctx); !g.open() {
		_, err = g.typeClauses("audit report", "AuditEvent", 's')
		if err == nil {
			switch g.rules.AuditScope() {
			case access.AuditOrganization:
				q.Organization = g.rules.Organization
			case access.AuditPatients:
				q.OnlyPatients = append([]string{}, g.rules.Patients...) // not nil: none matches none
			case access.AuditNone:
				err = g.refused("audit report", "the audit trail is for the organization's auditors")
			}
		}
	}
	if err == nil {
		page, err = r.store.AuditRange(ctx, q)
		if err != nil {
			err = errs.E("audit report", err)
		}
	}
	e := readEntry(ctx, audit.InteractionSearch, []audit.Entity{{Type: "AuditEvent"}}, nil, err)
	if q.Seq != 0 {
		e.Interaction, e.Entities[0].ID = audit.InteractionRead, audit.ID(q.Seq)
	}
	if aerr := r.record(err, e); aerr != nil && err == nil {
		return nil, aerr
	}
	return page, err
}

// reservedID reports ids no write may use: AuditEvent ids "audit-<n>" name
// the entries of the audit trail, which no interaction can change.
func reservedID(typ, id string) error {
	if typ == "AuditEvent" {
		if _, ok := audit.ParseID(id); ok || strings.HasPrefix(id, audit.IDPrefix) {
			return errs.E(errs.MethodNotAllowed, "write "+typ+"/"+id,
				"AuditEvent/"+id+" is an entry of the audit trail, which cannot be changed or deleted",
				errs.Issue{Severity: "error", Code: "forbidden", Diagnostics: "audit trail entries are append-only"})
		}
	}
	return nil
}

// grantOf names, in the entry's agent, the break-the-glass grant the
// interaction relied on: the one in force for a patient the entry names
// (audit.AgentOf alone would name the principal's first grant, whatever
// the patient).
func grantOf(ctx context.Context, e *audit.Entry) {
	p := access.From(ctx)
	if p == nil || len(p.BreakGlass) == 0 {
		return
	}
	e.Agent.BreakGlassPatient, e.Agent.BreakGlassReason = "", ""
	now := time.Now()
	for _, g := range p.BreakGlass {
		if g.Until.After(now) && slices.Contains(e.Patients, g.Patient) {
			e.Agent.BreakGlassPatient, e.Agent.BreakGlassReason = g.Patient, g.Reason
			return
		}
	}
}
