package fhirapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openchart/openchart/internal/errs"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name   string
		method string
		url    string
		want   Request
		kind   errs.Kind
	}{
		{"system search", "GET", "", Request{Method: "GET"}, 0},
		{"metadata", "GET", "metadata", Request{Method: "GET", Metadata: true}, 0},
		{"system history", "GET", "_history?_since=2020", Request{Method: "GET", History: true}, 0},
		{"type", "get", "Patient?name=x", Request{Method: "GET", Type: "Patient"}, 0},
		{"instance", "PUT", "/Patient/123", Request{Method: "PUT", Type: "Patient", ID: "123"}, 0},
		{"vread", "GET", "Patient/123/_history/2", Request{Method: "GET", Type: "Patient", ID: "123", VersionID: "2"}, 0},
		{"instance history", "GET", "Patient/123/_history", Request{Method: "GET", Type: "Patient", ID: "123", History: true}, 0},
		{"type history", "GET", "Patient/_history", Request{Method: "GET", Type: "Patient", History: true}, 0},
		{"post search", "POST", "Patient/_search", Request{Method: "POST", Type: "Patient", SearchPost: true}, 0},
		{"compartment", "GET", "Patient/1/Observation", Request{Method: "GET", Type: "Patient", ID: "1", Compartment: "Observation"}, 0},
		{"type operation", "POST", "Patient/$validate", Request{Method: "POST", Type: "Patient", Operation: "validate"}, 0},
		{"instance operation", "POST", "Patient/1/$validate", Request{Method: "POST", Type: "Patient", ID: "1", Operation: "validate"}, 0},
		{"system operation", "POST", "$export", Request{Method: "POST", Operation: "export"}, 0},
		{"bad id", "GET", "Patient/a_b", Request{}, errs.Invalid},
		{"too deep", "GET", "Patient/1/_history/2/x", Request{}, errs.NotFound},
		{"lower case type", "GET", "patient/1", Request{}, errs.NotFound},
		{"bad query", "GET", "Patient?a=%zz", Request{}, errs.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURL(tc.method, tc.url)
			if tc.kind != 0 {
				if errs.KindOf(err) != tc.kind {
					t.Fatalf("error %v, want kind %v", err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got, cmpopts.IgnoreFields(Request{}, "Query")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{errs.E(errs.Invalid, "x", errs.Issue{Severity: "error", Code: "structure"}), http.StatusBadRequest},
		{errs.E(errs.Invalid, "x", errs.Issue{Severity: "error", Code: "business-rule"}), http.StatusUnprocessableEntity},
		{errs.E(errs.NotFound), http.StatusNotFound},
		{errs.E(errs.Gone), http.StatusGone},
		{errs.E(errs.Conflict), http.StatusConflict},
		{errs.E(errs.Precondition), http.StatusPreconditionFailed},
		{errs.E(errs.MultipleMatches), http.StatusPreconditionFailed},
		{errs.E(errs.TooLarge), http.StatusRequestEntityTooLarge},
		{errs.E(errs.NotSupported), http.StatusNotImplemented},
		{unsupportedMedia("text/xml"), http.StatusUnsupportedMediaType},
		{errs.E(errs.MethodNotAllowed), http.StatusMethodNotAllowed},
		{errs.E(errs.Permission), http.StatusForbidden},
		{errs.E(errs.Unauthenticated), http.StatusUnauthorized},
		{errs.E(errs.Transient), http.StatusServiceUnavailable},
		{errs.E(errs.Internal), http.StatusInternalServerError},
		{errors.New("plain"), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		if got := Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestOutcomeHidesInternalDetail(t *testing.T) {
	err := errs.E("read Patient/1", errs.Internal, errors.New("pq: relation resources does not exist"))
	oo := Outcome(err)
	issues := oo["issue"].([]any)
	d := issues[0].(map[string]any)["diagnostics"].(string)
	if len(issues) != 1 || strings.Contains(d, "pq") {
		t.Errorf("outcome reveals detail: %v", oo)
	}
}

func TestParsePrefer(t *testing.T) {
	got := ParsePrefer(`return=minimal, handling="strict"`)
	if got != (Prefer{Return: "minimal", Handling: "strict"}) {
		t.Errorf("got %+v", got)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"", "Patient/1", "Patient/1/_history/2?x=y", "$validate", "Patient?name=a,b&_count=2", "%zz/..//"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, raw string) {
		req, err := ParseURL(method, raw)
		if err != nil {
			if errs.KindOf(err) == errs.Other {
				t.Errorf("unclassified error %v", err)
			}
			return
		}
		if req.ID != "" && req.Type == "" {
			t.Errorf("id without type: %+v", req)
		}
	})
}
