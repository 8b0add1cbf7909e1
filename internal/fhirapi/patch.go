package fhirapi

import (
	"context"
	"encoding/base64"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// patchFunc builds the repo.PatchFunc for a PATCH body
// (https://hl7.org/fhir/R4/http.html#patch): application/json-patch+json is
// JSON Patch (RFC 6902) applied to the canonical JSON of the current
// version; application/fhir+json is FHIRPath Patch, a Parameters resource
// (https://hl7.org/fhir/R4/fhirpatch.html).
func (a *API) patchFunc(contentType string, body []byte) (repo.PatchFunc, error) {
	switch mt := mediaType(contentType); mt {
	case "application/json-patch+json":
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			return nil, errs.E(errs.Invalid, "patch", "the body is not a JSON Patch document",
				issue("error", "structure", "invalid JSON Patch: "+err.Error()))
		}
		return jsonPatchFunc(p), nil
	case "application/fhir+json", "application/json":
		params, err := fhir.Parse(body, fhir.ParseOptions{})
		if err != nil {
			return nil, err
		}
		if fhir.TypeOf(params) != "Parameters" {
			return nil, errs.E(errs.Invalid, "patch", "a FHIRPath Patch body must be a Parameters resource",
				issue("error", "invalid", "expected Parameters, got "+fhir.TypeOf(params), "resourceType"))
		}
		if a.patcher == nil {
			return nil, errs.E(errs.NotSupported, "patch", "FHIRPath Patch is not supported yet; use JSON Patch (application/json-patch+json)",
				issue("error", "not-supported", "FHIRPath Patch is not implemented by this server"))
		}
		return func(cur map[string]any) (map[string]any, error) { return a.patcher.Apply(cur, params) }, nil
	case "":
		return nil, errs.E(errs.Invalid, "patch", "a PATCH needs a Content-Type: application/json-patch+json or application/fhir+json",
			issue("error", "required", "missing Content-Type"))
	default:
		return nil, unsupportedMedia(contentType)
	}
}

func jsonPatchFunc(p jsonpatch.Patch) repo.PatchFunc {
	return func(cur map[string]any) (map[string]any, error) {
		out, err := p.Apply(fhir.Marshal(cur))
		if err != nil {
			return nil, errs.E(errs.Invalid, "patch", "the JSON Patch could not be applied: "+err.Error(),
				issue("error", "processing", "JSON Patch failed: "+err.Error()))
		}
		next, err := fhir.Parse(out, fhir.ParseOptions{})
		if err != nil {
			return nil, errs.E(errs.Invalid, "patch", "the patched resource is not valid FHIR JSON", err)
		}
		return next, nil
	}
}

// patch is PATCH [base]/[type]/[id], with If-Match honoured.
func (a *API) patch(ctx context.Context, req *Request) (resp *Response, err error) {
	fn, err := a.patchFunc(req.ContentType, req.Body)
	if err != nil {
		return nil, err
	}
	opts, err := updateOptions(req)
	if err != nil {
		return nil, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		resp, err = patchTx(ctx, tx, req, req.ID, fn, opts)
		return err
	})
	return resp, err
}

func patchTx(ctx context.Context, tx *repo.Tx, req *Request, id string, fn repo.PatchFunc, opts repo.UpdateOptions) (*Response, error) {
	out, err := tx.Patch(ctx, req.Type, id, fn, opts)
	if err != nil {
		return nil, err
	}
	return writeResponse(req, out.Record, false, "patched "+req.Type+"/"+id), nil
}

// conditionalPatch is PATCH [base]/[type]?[criteria]: exactly one match is
// patched; none is 404, several 412.
func (a *API) conditionalPatch(ctx context.Context, req *Request) (resp *Response, err error) {
	crit, err := criteria(req.Query, "")
	if err != nil {
		return nil, err
	}
	fn, err := a.patchFunc(req.ContentType, req.Body)
	if err != nil {
		return nil, err
	}
	opts, err := updateOptions(req)
	if err != nil {
		return nil, err
	}
	err = a.repo.InTx(ctx, func(tx *repo.Tx) error {
		rec, err := tx.Match(ctx, req.Type, crit)
		if err != nil {
			return err
		}
		resp, err = patchTx(ctx, tx, req, rec.ID, fn, opts)
		return err
	})
	return resp, err
}

// checkVersion enforces If-Match for interactions the Repository does not
// check itself (delete).
func checkVersion(ctx context.Context, tx *repo.Tx, typ, id string, want int64) error {
	rec, err := tx.Read(ctx, typ, id)
	if err != nil && !errs.Is(err, errs.Gone) {
		return err
	}
	if rec == nil || rec.Version != want {
		have := "none"
		if rec != nil {
			have = fmt.Sprint(rec.Version)
		}
		return errs.E(errs.Precondition, "if-match", fmt.Sprintf("If-Match asked for version %d but the current version is %s", want, have),
			issue("error", "conflict", "version mismatch", typ))
	}
	return nil
}

// patchEntry performs a Bundle PATCH entry. Its resource is a Binary
// holding a JSON Patch (contentType application/json-patch+json, data in
// base64) or a Parameters resource holding a FHIRPath Patch
// (https://hl7.org/fhir/R4/http.html#patch).
func (a *API) patchEntry(ctx context.Context, tx *repo.Tx, e *entry) (*Response, error) {
	var fn repo.PatchFunc
	var err error
	switch fhir.TypeOf(e.res) {
	case "Binary":
		ct, _ := e.res["contentType"].(string)
		data, _ := e.res["data"].(string)
		body, derr := base64.StdEncoding.DecodeString(data)
		if derr != nil {
			return nil, errs.E(errs.Invalid, "patch", "the Binary's data is not base64",
				issue("error", "value", "invalid base64", "Binary.data"))
		}
		fn, err = a.patchFunc(ct, body)
	case "Parameters":
		fn, err = a.patchFunc("application/fhir+json", fhir.Marshal(e.res))
	default:
		err = errs.E(errs.Invalid, "patch", "a PATCH entry's resource must be a Binary (JSON Patch) or Parameters (FHIRPath Patch)",
			issue("error", "invalid", "unexpected "+fhir.TypeOf(e.res), "resourceType"))
	}
	if err != nil {
		return nil, err
	}
	opts, err := updateOptions(e.req)
	if err != nil {
		return nil, err
	}
	return patchTx(ctx, tx, e.req, e.id, fn, opts)
}
