package fhirapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// methodOrder is the processing order of a transaction
// (https://hl7.org/fhir/R4/http.html#trules): deletes, creates, updates and
// patches, then reads.
var methodOrder = []string{"DELETE", "POST", "PUT|PATCH", "GET|HEAD"}

// transaction processes a transaction Bundle in one Repository transaction:
// all entries succeed and commit together, or the first failure rolls
// everything back and is returned, naming its entry.
func (a *API) transaction(ctx context.Context, raw []any, base string, prefer Prefer) (map[string]any, error) {
	entries := make([]*entry, len(raw))
	for i, x := range raw {
		e, err := a.parseEntry(i, x, base, prefer)
		if err != nil {
			return nil, entryError(i, err)
		}
		entries[i] = e
	}
	out := make([]any, len(entries))
	err := a.repo.InTx(ctx, func(tx *repo.Tx) error {
		refs, err := a.resolveIdentities(ctx, tx, entries)
		if err != nil {
			return err
		}
		if err := prefetch(ctx, tx, entries); err != nil {
			return err
		}
		for _, e := range entries {
			if e.res != nil && e.req.Method != "PATCH" {
				if err := refs.rewrite(ctx, e.res); err != nil {
					return entryError(e.idx, err)
				}
			}
		}
		for _, methods := range methodOrder {
			for _, e := range entries {
				if !strings.Contains(methods, e.req.Method) {
					continue
				}
				resp, err := a.exec(ctx, tx, e)
				if err != nil {
					return entryError(e.idx, err)
				}
				out[e.idx] = a.transactionEntry(e, resp)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"resourceType": "Bundle", "id": newBundleID(), "type": "transaction-response", "entry": out}, nil
}

func (a *API) transactionEntry(e *entry, resp *Response) map[string]any {
	re := responseEntry(resp)
	if e.req.Method == "POST" || e.req.Method == "PUT" {
		if res, _ := resp.Resource(); res != nil && fhir.TypeOf(res) != "OperationOutcome" {
			re["fullUrl"] = e.req.Base + "/" + fhir.TypeOf(res) + "/" + fhir.IDOf(res)
		} else if e.id != "" {
			re["fullUrl"] = e.req.Base + "/" + e.req.Type + "/" + e.id
		}
	}
	return re
}

// resolveIdentities gives every writing entry its target Type/id before
// anything is written, so that references between entries can be
// rewritten: POST entries get fresh ids (or the match of their
// ifNoneExist), conditional PUTs the id of their match. A resource may be
// the target of one entry only.
func (a *API) resolveIdentities(ctx context.Context, tx *repo.Tx, entries []*entry) (*refResolver, error) {
	r := &refResolver{ids: map[string]string{}, tx: tx, cond: map[string]string{}}
	targets := map[string]int{}
	for _, e := range entries {
		if err := a.resolveEntry(ctx, tx, e); err != nil {
			return nil, entryError(e.idx, err)
		}
		if e.id == "" || e.req.Method == "GET" || e.req.Method == "HEAD" {
			continue
		}
		key := e.req.Type + "/" + e.id
		if prev, dup := targets[key]; dup {
			return nil, entryError(e.idx, errs.E(errs.Invalid, "transaction",
				fmt.Sprintf("%s is the target of entries %d and %d; a resource may appear in a transaction only once", key, prev, e.idx),
				issue("error", "duplicate", key+" appears more than once")))
		}
		targets[key] = e.idx
		if e.fullURL != "" {
			r.ids[e.fullURL] = key
			if e.req.Method == "POST" {
				// An absolute fullUrl [x]/Type/oldid: relative references
				// Type/oldid in the Bundle name this entry too.
				if i := strings.LastIndex(e.fullURL, "/"+e.req.Type+"/"); i >= 0 && !isURN(e.fullURL) {
					r.ids[e.fullURL[i+1:]] = key
				}
			}
		}
	}
	return r, nil
}

func (a *API) resolveEntry(ctx context.Context, tx *repo.Tx, e *entry) error {
	q := e.req
	switch {
	case q.Operation != "" || q.SearchPost || q.History || q.Type == "":
		if q.Method != "GET" && q.Method != "HEAD" && !q.SearchPost {
			return errs.E(errs.NotSupported, "transaction", q.Method+" "+q.path()+" is not supported in a transaction")
		}
	case q.Method == "POST" && q.ID != "":
		return notAllowed(q)
	case q.Method == "POST":
		if q.IfNoneExist != "" {
			crit, err := criteria(nil, q.IfNoneExist)
			if err != nil {
				return err
			}
			rec, err := tx.Match(ctx, q.Type, crit)
			switch {
			case err == nil:
				e.existing, e.id = rec, rec.ID
				return nil
			case !errs.Is(err, errs.NotFound):
				return err
			}
		}
		e.id = repo.NewID()
	case q.ID != "":
		e.id = q.ID
	case q.Method == "PUT" || q.Method == "PATCH" || q.Method == "DELETE":
		return resolveConditional(ctx, tx, e)
	}
	return nil
}

// resolveConditional resolves PUT/PATCH/DELETE [type]?criteria.
func resolveConditional(ctx context.Context, tx *repo.Tx, e *entry) error {
	crit, err := criteria(e.req.Query, "")
	if err != nil {
		return err
	}
	rec, err := tx.Match(ctx, e.req.Type, crit)
	switch {
	case err == nil:
		e.id = rec.ID
		if e.req.Method == "PUT" {
			if bid := fhir.IDOf(e.res); bid != "" && bid != rec.ID {
				return errs.E(errs.Invalid, "conditional update", fmt.Sprintf("the body's id %q differs from the matched resource %s/%s", bid, rec.Type, rec.ID))
			}
		}
	case errs.Is(err, errs.NotFound) && e.req.Method == "PUT":
		// No match: create, with the body's id if it has one.
		if e.id = fhir.IDOf(e.res); e.id == "" {
			e.id = repo.NewID()
		}
	case errs.Is(err, errs.NotFound) && e.req.Method == "DELETE":
		// Nothing to delete.
	default:
		return err
	}
	return nil
}

// exec performs one entry inside tx.
func (a *API) exec(ctx context.Context, tx *repo.Tx, e *entry) (*Response, error) {
	q := e.req
	switch q.Method {
	case "DELETE":
		if e.id == "" {
			return deleteResponse(q, &repo.Outcome{Unchanged: true}, q.Type+"?"+q.Query.Encode()), nil
		}
		if q.IfMatch != "" {
			v, err := parseETag(q.IfMatch)
			if err != nil {
				return nil, err
			}
			if err := checkVersion(ctx, tx, q.Type, e.id, v); err != nil {
				return nil, err
			}
		}
		return a.deleteTx(ctx, tx, q, e.id)
	case "POST":
		if q.SearchPost || q.Operation != "" {
			return a.dispatch(ctx, q)
		}
		if e.existing != nil {
			r := recordResponse(http.StatusOK, e.existing, q.Prefer.Return, "matched an existing resource")
			r.Location = versionURL(q.Base, e.existing)
			return r, nil
		}
		return a.createTx(ctx, tx, q, e.res, repo.CreateOptions{ID: e.id})
	case "PUT":
		opts, err := updateOptions(q)
		if err != nil {
			return nil, err
		}
		if q.ID == "" && fhir.IDOf(e.res) == "" {
			e.res["id"] = e.id
		}
		return a.updateTx(ctx, tx, q, e.id, e.res, opts)
	case "PATCH":
		return a.patchEntry(ctx, tx, e)
	}
	return a.readEntry(ctx, tx, e)
}

// readEntry performs a GET entry; a plain read sees the transaction's own writes.
func (a *API) readEntry(ctx context.Context, tx *repo.Tx, e *entry) (*Response, error) {
	q := e.req
	if q.Type != "" && q.ID != "" && q.VersionID == "" && !q.History && q.Compartment == "" && q.Operation == "" {
		rec, err := tx.Read(ctx, q.Type, q.ID)
		if err != nil {
			return nil, err
		}
		if notModified(q, rec) {
			return &Response{Status: http.StatusNotModified, ETag: etag(rec.Version), LastModified: rec.LastUpdated}, nil
		}
		return a.shaped(q, rec)
	}
	return a.dispatch(ctx, q)
}

// execStandalone performs one batch entry in a transaction of its own;
// conditional references are resolved, references to other entries are not
// (batch entries may not depend on each other: https://hl7.org/fhir/R4/http.html#brules).
func (a *API) execStandalone(ctx context.Context, e *entry) (resp *Response, err error) {
	if e.req.Method == "GET" || e.req.Method == "HEAD" {
		return a.dispatch(ctx, e.req)
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		if err := a.resolveEntry(ctx, tx, e); err != nil {
			return err
		}
		if e.res != nil && e.req.Method != "PATCH" {
			refs := &refResolver{ids: map[string]string{}, tx: tx, cond: map[string]string{}}
			if err := refs.rewrite(ctx, e.res); err != nil {
				return err
			}
		}
		resp, err = a.exec(ctx, tx, e)
		return err
	})
	return resp, err
}

// prefetch reads the current version of every resource the entries name,
// in one round trip, before they are processed one by one.
func prefetch(ctx context.Context, tx *repo.Tx, entries []*entry) error {
	refs := make([]store.Ref, 0, len(entries))
	for _, e := range entries {
		if e.id != "" && e.req.Type != "" && e.existing == nil {
			refs = append(refs, store.Ref{Type: e.req.Type, ID: e.id})
		}
	}
	return tx.Prefetch(ctx, refs)
}
