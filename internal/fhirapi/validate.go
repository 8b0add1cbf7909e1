package fhirapi

import (
	"context"
	"net/http"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// operation routes $operations: $validate and Patient/$everything.
func (a *API) operation(ctx context.Context, req *Request) (*Response, error) {
	switch req.Operation {
	case "everything":
		return a.everything(ctx, req)
	case "validate":
		if req.Type == "" || req.Compartment != "" || req.History || req.VersionID != "" {
			break
		}
		if req.Method != "POST" {
			return nil, notAllowed(req)
		}
		return a.validate(ctx, req)
	}
	return nil, errs.E(errs.NotSupported, "operation", "the operation $"+req.Operation+" is not supported on "+req.path(),
		issue("error", "not-supported", "unknown operation $"+req.Operation))
}

// validate is $validate at type or instance level
// (https://hl7.org/fhir/R4/resource-operation-validate.html): the body is
// the resource or a Parameters resource with a "resource" parameter and an
// optional "mode" (create | update | delete). Nothing is stored. The
// answer is 200 with an OperationOutcome whenever validation ran (errors
// included); 400 only when the input cannot be parsed.
func (a *API) validate(ctx context.Context, req *Request) (*Response, error) {
	body, err := parseResource(req, "")
	if err != nil {
		return nil, err
	}
	res, mode := body, req.Query.Get("mode")
	if fhir.TypeOf(body) == "Parameters" && req.Type != "Parameters" {
		res, mode = validateParams(body, mode)
	}
	if mode == "delete" {
		if req.ID == "" {
			return nil, errs.E(errs.Invalid, "validate", "mode delete needs an instance: POST [type]/[id]/$validate")
		}
		if _, err := a.repo.Read(ctx, req.Type, req.ID); err != nil {
			return nil, err
		}
		return jsonResponse(http.StatusOK, infoOutcome("the resource may be deleted")), nil
	}
	if res == nil {
		return nil, errs.E(errs.Invalid, "validate", "no resource to validate",
			issue("error", "required", "the Parameters carry no \"resource\" parameter", "Parameters.parameter"))
	}
	if fhir.TypeOf(res) != req.Type {
		return nil, errs.E(errs.Invalid, "validate", "the resource is a "+fhir.TypeOf(res)+" but the URL names "+req.Type,
			issue("error", "invalid", "resourceType does not match the URL", "resourceType"))
	}
	var issues []errs.Issue
	if req.ID != "" && mode == "update" && fhir.IDOf(res) != req.ID {
		issues = append(issues, issue("error", "invalid", "the resource's id differs from the URL's id", req.Type+".id"))
	}
	issues = append(issues, a.validator.Validate(res)...)
	if len(issues) == 0 {
		return jsonResponse(http.StatusOK, outcome(issue("information", "informational", "no issues found"))), nil
	}
	return jsonResponse(http.StatusOK, outcome(issues...)), nil
}

// validateParams unwraps the $validate Parameters input.
func validateParams(p map[string]any, mode string) (map[string]any, string) {
	var res map[string]any
	list, _ := p["parameter"].([]any)
	for _, x := range list {
		pm, _ := x.(map[string]any)
		switch pm["name"] {
		case "resource":
			res, _ = pm["resource"].(map[string]any)
		case "mode":
			if m, ok := pm["valueCode"].(string); ok {
				mode = m
			}
		}
	}
	return res, mode
}
