package fhirapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// This file is the one place where error kinds become HTTP status codes and
// OperationOutcome resources (https://hl7.org/fhir/R4/operationoutcome.html,
// https://hl7.org/fhir/R4/http.html#Status-Codes).
//
// errs.Invalid is 400 Bad Request ("could not be parsed or failed basic FHIR
// validation rules") unless every error issue is a business rule or
// invariant failure of a well-formed resource, which is 422 Unprocessable
// Entity ("violated applicable FHIR profiles or server business rules").

// Status returns the HTTP status for an error.
func Status(err error) int {
	if errors.Is(err, errUnsupportedMedia) {
		return http.StatusUnsupportedMediaType
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		if businessRuleOnly(errs.IssuesOf(err)) {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Gone:
		return http.StatusGone
	case errs.Conflict:
		return http.StatusConflict
	case errs.Precondition, errs.MultipleMatches:
		return http.StatusPreconditionFailed
	case errs.Permission:
		return http.StatusForbidden
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.NotSupported:
		return http.StatusNotImplemented
	case errs.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case errs.Transient:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func businessRuleOnly(issues []errs.Issue) bool {
	n := 0
	for _, is := range issues {
		if is.Severity != "error" && is.Severity != "fatal" {
			continue
		}
		if is.Code != "business-rule" && is.Code != "invariant" {
			return false
		}
		n++
	}
	return n > 0
}

// issueCode is the IssueType used when an error carries no issues of its own.
func issueCode(k errs.Kind) string {
	switch k {
	case errs.Invalid:
		return "invalid"
	case errs.NotFound, errs.Gone:
		return "not-found"
	case errs.Conflict:
		return "conflict"
	case errs.Precondition, errs.MultipleMatches:
		return "conflict"
	case errs.Permission:
		return "forbidden"
	case errs.Unauthenticated:
		return "login"
	case errs.TooLarge:
		return "too-costly"
	case errs.NotSupported, errs.MethodNotAllowed:
		return "not-supported"
	case errs.Transient:
		return "transient"
	}
	return "exception"
}

// Outcome builds the OperationOutcome for an error. Internal errors get a
// generic message; their detail is only logged (by the caller).
func Outcome(err error) map[string]any {
	k := errs.KindOf(err)
	if k == errs.Other || k == errs.Internal {
		return outcome(issue("fatal", "exception", "internal server error"))
	}
	issues := errs.IssuesOf(err)
	msg := errs.Message(err)
	if len(issues) == 0 {
		return outcome(issue("error", issueCode(k), msg))
	}
	list := make([]errs.Issue, 0, len(issues)+1)
	if hasMsg(err) && !mentions(issues, msg) {
		// The summary first, then the detailed findings.
		list = append(list, issue("error", issueCode(k), msg))
	}
	return outcome(append(list, issues...)...)
}

// hasMsg reports whether some error in the chain carries a client message
// (rather than the generic text of its kind).
func hasMsg(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if x, ok := e.(*errs.Error); ok && x.Msg != "" {
			return true
		}
	}
	return false
}

func mentions(issues []errs.Issue, msg string) bool {
	for _, is := range issues {
		if is.Diagnostics == msg {
			return true
		}
	}
	return false
}

func issue(severity, code, diagnostics string, expression ...string) errs.Issue {
	return errs.Issue{Severity: severity, Code: code, Diagnostics: diagnostics, Expression: expression}
}

// outcome renders issues as an OperationOutcome resource.
func outcome(issues ...errs.Issue) map[string]any {
	list := make([]any, 0, len(issues))
	for _, is := range issues {
		m := map[string]any{"severity": orStr(is.Severity, "error"), "code": orStr(is.Code, "processing")}
		if is.Diagnostics != "" {
			m["diagnostics"] = is.Diagnostics
		}
		if len(is.Expression) > 0 {
			ex := make([]any, len(is.Expression))
			for i, e := range is.Expression {
				ex[i] = e
			}
			m["expression"] = ex
		}
		list = append(list, m)
	}
	if len(list) == 0 {
		list = append(list, map[string]any{"severity": "information", "code": "informational", "diagnostics": "ok"})
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": list}
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// errorResponse turns an error into a Response, logging internal errors.
func (a *API) errorResponse(ctx context.Context, err error) *Response {
	status := Status(err)
	if status >= 500 && status != http.StatusNotImplemented {
		a.log.LogAttrs(ctx, slog.LevelError, "fhir interaction failed", slog.Int("status", status), slog.String("error", err.Error()))
	}
	return jsonResponse(status, Outcome(err))
}

// infoOutcome is a one-issue informational OperationOutcome.
func infoOutcome(msg string) map[string]any {
	return outcome(issue("information", "informational", msg))
}

// jsonResponse builds a Response from a parsed resource.
func jsonResponse(status int, res map[string]any) *Response {
	return &Response{Status: status, Body: fhir.MarshalResource(res, defs.Default()), res: res}
}
