package fhirapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// read is GET [base]/[type]/[id] (https://hl7.org/fhir/R4/http.html#read).
// A deleted resource is 410 Gone; If-None-Match with the current ETag or an
// If-Modified-Since not older than the version give 304 Not Modified
// (https://hl7.org/fhir/R4/http.html#cread).
func (a *API) read(ctx context.Context, req *Request) (*Response, error) {
	rec, err := a.repo.Read(ctx, req.Type, req.ID)
	if err != nil {
		return nil, err
	}
	if notModified(req, rec) {
		return &Response{Status: http.StatusNotModified, ETag: etag(rec.Version), LastModified: rec.LastUpdated}, nil
	}
	return a.shaped(req, rec)
}

func notModified(req *Request, rec *store.Record) bool {
	if inm := strings.TrimSpace(req.IfNoneMatch); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if v, err := parseETag(t); err == nil && v == rec.Version {
				return true
			}
		}
		return false
	}
	if !req.IfModifiedSince.IsZero() {
		// HTTP dates have second precision.
		return !rec.LastUpdated.Truncate(1e9).After(req.IfModifiedSince)
	}
	return false
}

// vread is GET [base]/[type]/[id]/_history/[vid].
func (a *API) vread(ctx context.Context, req *Request) (*Response, error) {
	v, err := strconv.ParseInt(req.VersionID, 10, 64)
	if err != nil || v < 1 {
		return nil, errs.E(errs.NotFound, "vread", "version "+quote(req.VersionID)+" of "+req.Type+"/"+req.ID+" does not exist",
			issue("error", "not-found", "no version "+quote(req.VersionID)))
	}
	rec, err := a.repo.VRead(ctx, req.Type, req.ID, v)
	if err != nil {
		return nil, err
	}
	return a.shaped(req, rec)
}

// shaped answers with a record, applying _summary and _elements when asked
// (https://hl7.org/fhir/R4/search.html#summary applies to read as well).
func (a *API) shaped(req *Request, rec *store.Record) (*Response, error) {
	r := &Response{Status: http.StatusOK, ETag: etag(rec.Version), LastModified: rec.LastUpdated, Body: rec.JSON}
	summary, elements := req.Query.Get("_summary"), splitList(req.Query["_elements"])
	if (summary == "" || summary == "false") && len(elements) == 0 {
		return r, nil
	}
	res, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
	if err != nil {
		return nil, errs.E(errs.Internal, "read", err)
	}
	res = a.subset(res, summary, elements)
	r.Body, r.res = fhir.MarshalResource(res, a.defs), res
	return r, nil
}

// splitList splits comma-separated parameter values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
