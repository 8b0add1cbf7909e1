package fhirapi

import (
	"context"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
)

// update is PUT [base]/[type]/[id] (https://hl7.org/fhir/R4/http.html#update).
// The body must carry the URL's id. An absent resource is created with the
// client's id (update as create: 201). If-Match is version-aware updating
// (https://hl7.org/fhir/R4/http.html#concurrency): a mismatch is 412.
// If-None-Match: * makes the update create-only: 412 when the resource exists.
func (a *API) update(ctx context.Context, req *Request) (resp *Response, err error) {
	res, err := parseResource(req, req.Type)
	if err != nil {
		return nil, err
	}
	opts, err := updateOptions(req)
	if err != nil {
		return nil, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		resp, err = a.updateTx(ctx, tx, req, req.ID, res, opts)
		return err
	})
	return resp, err
}

func updateOptions(req *Request) (repo.UpdateOptions, error) {
	var opts repo.UpdateOptions
	if req.IfMatch != "" {
		v, err := parseETag(req.IfMatch)
		if err != nil {
			return opts, err
		}
		opts.IfMatch = v
	}
	return opts, nil
}

func (a *API) updateTx(ctx context.Context, tx *repo.Tx, req *Request, id string, res map[string]any, opts repo.UpdateOptions) (*Response, error) {
	if strings.TrimSpace(req.IfNoneMatch) == "*" {
		if _, err := tx.Read(ctx, req.Type, id); err == nil {
			return nil, errs.E(errs.Precondition, "update", req.Type+"/"+id+" exists and If-None-Match is *",
				issue("error", "duplicate", req.Type+"/"+id+" already exists"))
		}
	}
	out, err := tx.Update(ctx, req.Type, id, res, opts)
	if err != nil {
		return nil, err
	}
	msg := "updated " + req.Type + "/" + id
	if out.Unchanged {
		msg = "no change: the content equals the current version"
	}
	return writeResponse(req, out.Record, out.Created, msg), nil
}

// conditionalUpdate is PUT [base]/[type]?[criteria]
// (https://hl7.org/fhir/R4/http.html#cond-update): no match creates, one
// match updates it, several are 412.
func (a *API) conditionalUpdate(ctx context.Context, req *Request) (resp *Response, err error) {
	crit, err := criteria(req.Query, "")
	if err != nil {
		return nil, err
	}
	res, err := parseResource(req, req.Type)
	if err != nil {
		return nil, err
	}
	opts, err := updateOptions(req)
	if err != nil {
		return nil, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		out, err := tx.ConditionalUpdate(ctx, req.Type, crit, res, opts)
		if err != nil {
			return err
		}
		resp = writeResponse(req, out.Record, out.Created, "updated "+out.Record.Type+"/"+out.Record.ID)
		return nil
	})
	return resp, err
}
