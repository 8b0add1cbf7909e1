package fhirapi

import (
	"context"
	"net/http"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/repo"
)

// delete is DELETE [base]/[type]/[id] (https://hl7.org/fhir/R4/http.html#delete).
// Deleting an absent or already deleted resource succeeds. The answer is
// 200 with an OperationOutcome, or 204 under Prefer: return=minimal; a later
// read is 410 Gone.
func (a *API) delete(ctx context.Context, req *Request) (resp *Response, err error) {
	if req.IfMatch != "" {
		// If-Match applies to delete as to update (https://hl7.org/fhir/R4/http.html#concurrency).
		v, err := parseETag(req.IfMatch)
		if err != nil {
			return nil, err
		}
		err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
			if err := checkVersion(ctx, tx, req.Type, req.ID, v); err != nil {
				return err
			}
			resp, err = a.deleteTx(ctx, tx, req, req.ID)
			return err
		})
		return resp, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		resp, err = a.deleteTx(ctx, tx, req, req.ID)
		return err
	})
	return resp, err
}

func (a *API) deleteTx(ctx context.Context, tx *repo.Tx, req *Request, id string) (*Response, error) {
	out, err := tx.Delete(ctx, req.Type, id)
	if err != nil {
		return nil, err
	}
	return deleteResponse(req, out, req.Type+"/"+id), nil
}

func deleteResponse(req *Request, out *repo.Outcome, name string) *Response {
	msg := "deleted " + name
	if out.Unchanged {
		msg = name + " was not present; nothing to delete"
	}
	r := &Response{Status: http.StatusOK}
	if out.Record != nil {
		r.ETag = etag(out.Record.Version)
		r.LastModified = out.Record.LastUpdated
	}
	if req.Prefer.Return == "minimal" {
		r.Status = http.StatusNoContent
		return r
	}
	oo := infoOutcome(msg)
	r.Body, r.res = fhir.MarshalResource(oo, defs.Default()), oo
	return r
}

// conditionalDelete is DELETE [base]/[type]?[criteria]
// (https://hl7.org/fhir/R4/http.html#cdelete); this server deletes a single
// match only (conditionalDelete: single): several matches are 412.
func (a *API) conditionalDelete(ctx context.Context, req *Request) (resp *Response, err error) {
	crit, err := criteria(req.Query, "")
	if err != nil {
		return nil, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		out, err := tx.ConditionalDelete(ctx, req.Type, crit)
		if err != nil {
			return err
		}
		name := req.Type + "?" + crit.Encode()
		if out.Record != nil {
			name = out.Record.Type + "/" + out.Record.ID
		}
		resp = deleteResponse(req, out, name)
		return nil
	})
	return resp, err
}
