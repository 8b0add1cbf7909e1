package fhirapi

import (
	"context"
	"net/http"

	"github.com/openchart/openchart/internal/repo"
)

// create is POST [base]/[type] (https://hl7.org/fhir/R4/http.html#create):
// the server assigns the id (a body id is ignored) and answers 201 with
// Location [base]/Type/id/_history/1. With If-None-Exist it is a
// conditional create (https://hl7.org/fhir/R4/http.html#ccreate): one match
// answers 200 with that resource and writes nothing, several are 412.
func (a *API) create(ctx context.Context, req *Request) (resp *Response, err error) {
	res, err := parseResource(req, req.Type)
	if err != nil {
		return nil, err
	}
	opts := repo.CreateOptions{}
	if req.IfNoneExist != "" {
		if opts.IfNoneExist, err = criteria(nil, req.IfNoneExist); err != nil {
			return nil, err
		}
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		resp, err = a.createTx(ctx, tx, req, res, opts)
		return err
	})
	return resp, err
}

func (a *API) createTx(ctx context.Context, tx *repo.Tx, req *Request, res map[string]any, opts repo.CreateOptions) (*Response, error) {
	out, err := tx.Create(ctx, res, opts)
	if err != nil {
		return nil, err
	}
	if out.Unchanged {
		r := recordResponse(http.StatusOK, out.Record, req.Prefer.Return, "the If-None-Exist criteria matched an existing resource; nothing was created")
		r.Location = versionURL(req.Base, out.Record)
		return r, nil
	}
	return writeResponse(req, out.Record, true, "created "+out.Record.Type+"/"+out.Record.ID), nil
}
