package repo

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// Outcome is the result of a write.
type Outcome struct {
	Record *store.Record
	// Created is true when the write created the resource (HTTP 201).
	Created bool
	// Unchanged is true when nothing was written: a conditional create found
	// its match, an update carried the current content, or a delete found
	// the resource already gone.
	Unchanged bool
}

// CreateOptions tune Create.
type CreateOptions struct {
	// ID is the id to give the resource; empty means a fresh one. Clients
	// cannot choose ids on create (the body's id is ignored, as the spec
	// says); Bundles pre-assign ids so that references can be rewritten.
	ID string
	// IfNoneExist holds conditional-create criteria; when they match one
	// resource, nothing is written and that resource is returned.
	IfNoneExist url.Values
}

// UpdateOptions tune Update and Patch.
type UpdateOptions struct {
	// IfMatch, when non-zero, is the version the client expects to replace
	// (If-Match: W/"n"); any other current version fails with
	// errs.Precondition.
	IfMatch int64
}

// PatchFunc computes a resource's new content from its current content.
// It may modify and return cur.
type PatchFunc func(cur map[string]any) (map[string]any, error)

type key struct{ typ, id string }

// Tx is a Repository transaction. It is not safe for concurrent use.
type Tx struct {
	r       *Repo
	st      store.Tx
	now     time.Time
	writes  []store.Write
	pending map[key]int // index into writes
	// fetched holds current versions read ahead by Prefetch; a nil value
	// records that the resource does not exist.
	fetched map[key]*store.Record
	// audit holds the entries of the interactions so far; patients the
	// Patient compartments of the versions staged (from their index rows).
	audit    []*audit.Entry
	patients map[key][]string
}

// Now is the transaction's timestamp: the lastUpdated of all it writes.
func (tx *Tx) Now() time.Time { return tx.now }

// read returns the current version as this transaction sees it.
func (tx *Tx) read(ctx context.Context, typ, id string) (*store.Record, error) {
	k := key{typ, id}
	if i, ok := tx.pending[k]; ok {
		rec := tx.writes[i].Record
		if rec.Deleted {
			return &rec, errs.E(errs.Gone, "read "+typ+"/"+id)
		}
		return &rec, nil
	}
	if rec, ok := tx.fetched[k]; ok {
		switch {
		case rec == nil:
			return nil, errs.E(errs.NotFound, "read "+typ+"/"+id)
		case rec.Deleted:
			return rec, errs.E(errs.Gone, "read "+typ+"/"+id)
		}
		return rec, nil
	}
	return tx.st.Read(ctx, typ, id)
}

// Prefetch reads the current versions of resources the transaction is
// about to write, in one round trip instead of one each (a Bundle of 700
// updates otherwise waits for 700 reads).
func (tx *Tx) Prefetch(ctx context.Context, refs []store.Ref) error {
	var todo []store.Ref
	for _, r := range refs {
		k := key{r.Type, r.ID}
		if _, ok := tx.fetched[k]; ok {
			continue
		}
		if _, ok := tx.pending[k]; ok {
			continue
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		return nil
	}
	recs, err := tx.st.ReadMany(ctx, todo)
	if err != nil {
		return errs.E("prefetch", err)
	}
	if tx.fetched == nil {
		tx.fetched = make(map[key]*store.Record, len(todo))
	}
	for _, r := range todo {
		tx.fetched[key{r.Type, r.ID}] = recs[r]
	}
	return nil
}

// Read returns the current version of typ/id inside the transaction; the
// read is audited with the transaction.
func (tx *Tx) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	var rec *store.Record
	err := tx.r.checkType("read", typ)
	if err == nil {
		rec, err = tx.read(ctx, typ, id)
		if g := tx.r.guard(ctx); !g.open() && !tx.own(typ, id) {
			rec, err = g.checkRead(ctx, tx.st.Search, "read "+typ+"/"+id, "read "+typ+"/"+id, typ, id, rec, err)
		}
	}
	tx.audit = append(tx.audit, oneEntry(ctx, audit.InteractionRead, typ, id, 0, rec, err))
	return rec, err
}

// Search runs a query inside the transaction. It does not see this
// transaction's own unflushed writes: FHIR resolves a transaction's
// conditional criteria against the state before it.
func (tx *Tx) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	var res *store.Result
	var err error
	if g := tx.r.guard(ctx); !g.open() {
		var sq *store.Query
		if sq, err = g.scoped("search", q, 's'); err == nil {
			res, err = tx.st.Search(ctx, sq)
		}
	} else {
		res, err = tx.st.Search(ctx, q)
	}
	tx.audit = append(tx.audit, searchEntry(ctx, q, res, err))
	return res, err
}

// match runs conditional criteria and returns up to two matches.
func (tx *Tx) match(ctx context.Context, typ string, criteria url.Values) ([]*store.Record, error) {
	q, err := tx.r.criteria.Criteria(typ, criteria)
	if err != nil {
		return nil, err
	}
	q.Count = 2
	q.Offset = 0
	q.Total = store.TotalNone
	// Conditional operations match among the resources the principal may
	// see: what it may not see does not exist for it.
	if g := tx.r.guard(ctx); !g.open() {
		if q, err = g.scoped("match "+typ, q, 's'); err != nil {
			return nil, err
		}
	}
	res, err := tx.st.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	return res.Records, nil
}

// Match resolves a conditional reference or criteria ("Patient?identifier=x")
// to the single resource it names.
func (tx *Tx) Match(ctx context.Context, typ string, criteria url.Values) (*store.Record, error) {
	op := "resolve " + typ + "?" + criteria.Encode()
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	recs, err := tx.match(ctx, typ, criteria)
	switch {
	case err != nil:
		return nil, errs.E(op, err)
	case len(recs) == 0:
		return nil, errs.E(op, errs.NotFound, fmt.Sprintf("no %s matches %s", typ, criteria.Encode()))
	case len(recs) > 1:
		return nil, errs.E(op, errs.MultipleMatches, fmt.Sprintf("more than one %s matches %s", typ, criteria.Encode()))
	}
	return recs[0], nil
}

// Create stores a new resource.
func (tx *Tx) Create(ctx context.Context, res map[string]any, opts CreateOptions) (*Outcome, error) {
	typ := fhir.TypeOf(res)
	out, err := tx.create(ctx, res, opts)
	tx.note(ctx, audit.InteractionCreate, typ, opts.ID, out, err)
	return out, err
}

func (tx *Tx) create(ctx context.Context, res map[string]any, opts CreateOptions) (*Outcome, error) {
	typ := fhir.TypeOf(res)
	op := "create " + typ
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	if opts.IfNoneExist != nil {
		recs, err := tx.match(ctx, typ, opts.IfNoneExist)
		if err != nil {
			return nil, errs.E(op, err)
		}
		switch len(recs) {
		case 0:
		case 1:
			return &Outcome{Record: recs[0], Unchanged: true}, nil
		default:
			return nil, errs.E(op, errs.MultipleMatches, "the If-None-Exist criteria match more than one resource")
		}
	}
	id := opts.ID
	if id == "" {
		id = NewID()
	}
	// The id is fresh (or pre-assigned from a fresh one), so there is
	// nothing to read: the store refuses version 1 of an existing resource
	// with a conflict. Only this transaction's own writes need a look.
	if _, ok := tx.pending[key{typ, id}]; ok {
		return nil, errs.E(op, errs.Conflict, fmt.Sprintf("%s/%s is already written in this transaction", typ, id))
	}
	rec, err := tx.put(ctx, typ, id, 1, store.MethodCreate, res)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return &Outcome{Record: rec, Created: true}, nil
}

// Update stores res as the new version of typ/id, creating the resource
// when it does not exist (update as create, with the client's id). The
// body's id must equal id.
func (tx *Tx) Update(ctx context.Context, typ, id string, res map[string]any, opts UpdateOptions) (*Outcome, error) {
	out, err := tx.update(ctx, typ, id, res, opts)
	tx.note(ctx, audit.InteractionUpdate, typ, id, out, err)
	return out, err
}

func (tx *Tx) update(ctx context.Context, typ, id string, res map[string]any, opts UpdateOptions) (*Outcome, error) {
	op := "update " + typ + "/" + id
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	if err := reservedID(typ, id); err != nil {
		return nil, err
	}
	if err := checkBody(typ, id, res); err != nil {
		return nil, errs.E(op, err)
	}
	cur, err := tx.read(ctx, typ, id)
	if err == nil {
		if verr := tx.mayChange(ctx, op, typ, id, 'u'); verr != nil {
			return nil, verr
		}
	}
	var next int64 = 1
	switch {
	case err == nil:
		next = cur.Version + 1
	case errs.Is(err, errs.Gone):
		next = cur.Version + 1
		cur = nil
	case errs.Is(err, errs.NotFound):
		cur = nil
	default:
		return nil, errs.E(op, err)
	}
	if opts.IfMatch != 0 && (cur == nil || cur.Version != opts.IfMatch) {
		have := "no current version"
		if cur != nil {
			have = "the current version is " + strconv.FormatInt(cur.Version, 10)
		}
		return nil, errs.E(op, errs.Precondition, fmt.Sprintf("If-Match asked for version %d but %s", opts.IfMatch, have))
	}
	if cur != nil && sameContent(cur.JSON, res) {
		return &Outcome{Record: cur, Unchanged: true}, nil
	}
	if err := checkSigned(op, cur, res); err != nil {
		return nil, err
	}
	method := store.MethodUpdate
	if cur == nil {
		method = store.MethodCreate
	}
	rec, err := tx.put(ctx, typ, id, next, method, res)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return &Outcome{Record: rec, Created: cur == nil}, nil
}

// ConditionalUpdate applies the spec's rules
// (https://hl7.org/fhir/R4/http.html#cond-update): no match creates (with
// the body's id if it has one), one match updates it, more fail.
func (tx *Tx) ConditionalUpdate(ctx context.Context, typ string, criteria url.Values, res map[string]any, opts UpdateOptions) (*Outcome, error) {
	out, err := tx.conditionalUpdate(ctx, typ, criteria, res, opts)
	tx.note(ctx, audit.InteractionUpdate, typ, "", out, err)
	return out, err
}

func (tx *Tx) conditionalUpdate(ctx context.Context, typ string, criteria url.Values, res map[string]any, opts UpdateOptions) (*Outcome, error) {
	op := "conditional update " + typ
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	recs, err := tx.match(ctx, typ, criteria)
	if err != nil {
		return nil, errs.E(op, err)
	}
	bodyID := fhir.IDOf(res)
	switch len(recs) {
	case 0:
		if bodyID != "" {
			return tx.update(ctx, typ, bodyID, res, opts)
		}
		return tx.create(ctx, res, CreateOptions{})
	case 1:
		if bodyID != "" && bodyID != recs[0].ID {
			return nil, errs.E(op, errs.Invalid, fmt.Sprintf("the body's id %q differs from the matched resource %s/%s", bodyID, typ, recs[0].ID))
		}
		if bodyID == "" {
			res["id"] = recs[0].ID
		}
		return tx.update(ctx, typ, recs[0].ID, res, opts)
	default:
		return nil, errs.E(op, errs.MultipleMatches, "the criteria match more than one resource")
	}
}

// Patch applies fn to the current content of typ/id and stores the result
// as a new version.
func (tx *Tx) Patch(ctx context.Context, typ, id string, fn PatchFunc, opts UpdateOptions) (*Outcome, error) {
	out, err := tx.patch(ctx, typ, id, fn, opts)
	tx.note(ctx, audit.InteractionPatch, typ, id, out, err)
	return out, err
}

func (tx *Tx) patch(ctx context.Context, typ, id string, fn PatchFunc, opts UpdateOptions) (*Outcome, error) {
	op := "patch " + typ + "/" + id
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	if err := reservedID(typ, id); err != nil {
		return nil, err
	}
	cur, err := tx.read(ctx, typ, id)
	if err == nil {
		err = tx.mayChange(ctx, op, typ, id, 'u')
	} else if g := tx.r.guard(ctx); !g.open() && errs.Is(err, errs.Gone) {
		err = hidden(op, "read "+typ+"/"+id)
	}
	if err != nil {
		return nil, errs.E(op, err)
	}
	if opts.IfMatch != 0 && cur.Version != opts.IfMatch {
		return nil, errs.E(op, errs.Precondition, fmt.Sprintf("If-Match asked for version %d but the current version is %d", opts.IfMatch, cur.Version))
	}
	body, err := fhir.Parse(cur.JSON, fhir.ParseOptions{})
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	next, err := fn(body)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	if fhir.TypeOf(next) != typ || fhir.IDOf(next) != id {
		return nil, errs.E(op, errs.Invalid, "a patch may not change the resource's type or id")
	}
	if sameContent(cur.JSON, next) {
		return &Outcome{Record: cur, Unchanged: true}, nil
	}
	if err := checkSigned(op, cur, next); err != nil {
		return nil, err
	}
	rec, err := tx.put(ctx, typ, id, cur.Version+1, store.MethodUpdate, next)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return &Outcome{Record: rec}, nil
}

// Delete writes a deletion marker for typ/id. Deleting a resource that is
// absent or already deleted succeeds without writing
// (https://hl7.org/fhir/R4/http.html#delete).
func (tx *Tx) Delete(ctx context.Context, typ, id string) (*Outcome, error) {
	out, err := tx.delete(ctx, typ, id)
	tx.note(ctx, audit.InteractionDelete, typ, id, out, err)
	return out, err
}

func (tx *Tx) delete(ctx context.Context, typ, id string) (*Outcome, error) {
	op := "delete " + typ + "/" + id
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	if err := reservedID(typ, id); err != nil {
		return nil, err
	}
	if g := tx.r.guard(ctx); !g.open() {
		if _, err := g.typeClauses(op, typ, 'd'); err != nil {
			return nil, err
		}
	}
	cur, err := tx.read(ctx, typ, id)
	if err == nil {
		if verr := tx.mayChange(ctx, op, typ, id, 'd'); verr != nil {
			return nil, verr
		}
	}
	switch {
	case errs.Is(err, errs.NotFound):
		return &Outcome{Unchanged: true}, nil
	case errs.Is(err, errs.Gone):
		return &Outcome{Record: cur, Unchanged: true}, nil
	case err != nil:
		return nil, errs.E(op, err)
	}
	if err := checkSigned(op, cur, nil); err != nil {
		return nil, err
	}
	rec := store.Record{Type: typ, ID: id, Version: cur.Version + 1, LastUpdated: tx.now, Deleted: true, Method: store.MethodDelete}
	tx.stage(store.Write{Record: rec})
	tx.setPatients(typ, id, appendPatients(nil, cur))
	return &Outcome{Record: &rec}, nil
}

// ConditionalDelete deletes the single resource matching criteria; no
// match succeeds without writing, several fail with errs.MultipleMatches.
func (tx *Tx) ConditionalDelete(ctx context.Context, typ string, criteria url.Values) (*Outcome, error) {
	out, err := tx.conditionalDelete(ctx, typ, criteria)
	tx.note(ctx, audit.InteractionDelete, typ, "", out, err)
	return out, err
}

func (tx *Tx) conditionalDelete(ctx context.Context, typ string, criteria url.Values) (*Outcome, error) {
	op := "conditional delete " + typ
	if err := tx.r.checkType(op, typ); err != nil {
		return nil, err
	}
	recs, err := tx.match(ctx, typ, criteria)
	if err != nil {
		return nil, errs.E(op, err)
	}
	switch len(recs) {
	case 0:
		return &Outcome{Unchanged: true}, nil
	case 1:
		return tx.delete(ctx, typ, recs[0].ID)
	default:
		return nil, errs.E(op, errs.MultipleMatches, "the criteria match more than one resource")
	}
}

// put validates, stamps, indexes and stages one version.
func (tx *Tx) put(ctx context.Context, typ, id string, version int64, method store.Method, res map[string]any) (*store.Record, error) {
	res["id"] = id
	meta := fhir.Meta(res)
	meta["versionId"] = strconv.FormatInt(version, 10)
	meta["lastUpdated"] = formatInstant(tx.now)
	if issues := tx.r.validator.Validate(res); hasErrors(issues) {
		return nil, errs.E("validate "+typ, errs.Invalid, fmt.Sprintf("%s failed validation: %s", typ, firstError(issues)), issues)
	}
	ix, err := tx.r.indexer.Index(res)
	if err != nil {
		return nil, errs.E(errs.Internal, "indexing", err)
	}
	perm := byte('u')
	if method == store.MethodCreate {
		perm = 'c'
	}
	staged := func(p string) bool { _, ok := tx.pending[key{"Patient", p}]; return ok }
	if err := tx.r.guard(ctx).checkWrite(ctx, tx.st.Search, permName(perm)+" "+typ, typ, id, perm, &ix, staged); err != nil {
		return nil, err
	}
	rec := store.Record{Type: typ, ID: id, Version: version, LastUpdated: tx.now, Method: method, JSON: fhir.MarshalResource(res, tx.r.layout)}
	tx.stage(store.Write{Record: rec, Index: ix})
	tx.setPatients(typ, id, compartmentPatients(&ix))
	return &rec, nil
}

func (tx *Tx) setPatients(typ, id string, pats []string) {
	if tx.patients == nil {
		tx.patients = map[key][]string{}
	}
	tx.patients[key{typ, id}] = pats
}

func (tx *Tx) stage(w store.Write) {
	// A resource written twice in one transaction gets two consecutive
	// versions; the store receives both, in order.
	tx.writes = append(tx.writes, w)
	tx.pending[key{w.Type, w.ID}] = len(tx.writes) - 1
}

// flush hands the staged versions to the store.
func (tx *Tx) flush(ctx context.Context) error {
	if len(tx.writes) == 0 {
		return nil
	}
	err := tx.st.Put(ctx, tx.writes)
	tx.writes, tx.pending = nil, map[key]int{}
	return err
}

// checkBody enforces https://hl7.org/fhir/R4/http.html#update: the body is
// of the URL's type and carries the URL's id.
func checkBody(typ, id string, res map[string]any) error {
	if rt := fhir.TypeOf(res); rt != typ {
		return errs.E(errs.Invalid, fmt.Sprintf("the body is a %s but the URL names %s", rt, typ),
			errs.Issue{Severity: "error", Code: "invalid", Diagnostics: "resourceType does not match the URL", Expression: []string{"resourceType"}})
	}
	if !fhir.ValidID(id) {
		return errs.E(errs.Invalid, fmt.Sprintf("%q is not a valid resource id", id))
	}
	bodyID := fhir.IDOf(res)
	if bodyID == "" {
		return errs.E(errs.Invalid, "the resource has no id; an update must carry the id of its URL",
			errs.Issue{Severity: "error", Code: "required", Diagnostics: "id is required on update", Expression: []string{typ + ".id"}})
	}
	if bodyID != id {
		return errs.E(errs.Invalid, fmt.Sprintf("the body's id %q differs from the URL's id %q", bodyID, id),
			errs.Issue{Severity: "error", Code: "invalid", Diagnostics: "id does not match the URL", Expression: []string{typ + ".id"}})
	}
	return nil
}

// sameContent reports whether res has the content of the stored JSON,
// ignoring meta.versionId and meta.lastUpdated.
func sameContent(stored []byte, res map[string]any) bool {
	old, err := fhir.Parse(stored, fhir.ParseOptions{})
	if err != nil {
		return false
	}
	return bytes.Equal(fhir.Marshal(withoutVersionMeta(old)), fhir.Marshal(withoutVersionMeta(res)))
}

// withoutVersionMeta returns a shallow copy of res without the meta fields
// the Repository sets.
func withoutVersionMeta(res map[string]any) map[string]any {
	out := make(map[string]any, len(res))
	for k, v := range res {
		out[k] = v
	}
	if m, ok := res["meta"].(map[string]any); ok {
		mm := make(map[string]any, len(m))
		for k, v := range m {
			if k != "versionId" && k != "lastUpdated" {
				mm[k] = v
			}
		}
		if len(mm) == 0 {
			delete(out, "meta")
		} else {
			out["meta"] = mm
		}
	}
	return out
}

func hasErrors(issues []errs.Issue) bool {
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			return true
		}
	}
	return false
}

func firstError(issues []errs.Issue) string {
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			if len(is.Expression) > 0 {
				return is.Expression[0] + ": " + is.Diagnostics
			}
			return is.Diagnostics
		}
	}
	return ""
}

// own reports whether typ/id was written earlier in this transaction (and
// so already passed the policy's write check).
func (tx *Tx) own(typ, id string) bool {
	_, ok := tx.pending[key{typ, id}]
	return ok
}

// mayChange checks that the principal may change (perm u or d) the current
// version of typ/id: one it may not see is not found.
func (tx *Tx) mayChange(ctx context.Context, op, typ, id string, perm byte) error {
	g := tx.r.guard(ctx)
	if g.open() || tx.own(typ, id) {
		return nil
	}
	ok, err := g.visible(ctx, tx.st.Search, op, typ, id, perm)
	switch {
	case err != nil:
		return err
	case !ok:
		return hidden(op, "read "+typ+"/"+id)
	}
	return nil
}
