package fhirhttp_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
)

func TestValidateOperation(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/Patient/v1", patient("v1", "Valid")).must(t, 201)
	wrap := map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "resource", "resource": patient("v1", "Wrapped")},
		map[string]any{"name": "mode", "valueCode": "update"},
	}}
	tests := []struct {
		name      string
		path      string
		body      any
		wantError bool
	}{
		{"type level valid", "/Patient/$validate", patient("", "Ok"), false},
		{"type level invalid", "/Patient/$validate", map[string]any{"resourceType": "Patient", "gender": "robot"}, true},
		{"instance level", "/Patient/v1/$validate", patient("v1", "Ok"), false},
		{"Parameters wrapper", "/Patient/v1/$validate", wrap, false},
		{"mode update id mismatch", "/Patient/v1/$validate?mode=update", patient("v2", "Other"), true},
		{"mode delete", "/Patient/v1/$validate?mode=delete", map[string]any{"resourceType": "Parameters"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, tc.body).must(t, 200)
			if fhir.TypeOf(r.body) != "OperationOutcome" || hasError(r.body) != tc.wantError {
				t.Errorf("outcome %s, want errors=%v", r.raw, tc.wantError)
			}
		})
	}
	// Nothing was stored: v1 is still at version 1 and no other patient exists.
	r := e.do("GET", "/Patient/v1", nil).must(t, 200)
	if str(r.body, "meta", "versionId") != "1" {
		t.Errorf("$validate changed the resource: %s", r.raw)
	}
	if n := e.count("Patient"); n != 1 {
		t.Errorf("%d patients after $validate, want 1", n)
	}
}

func TestHTTPTransport(t *testing.T) {
	e := newEnv(t)
	// A gzip request body, and a gzip answer when accepted.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(fhir.Marshal(patient("gz", "Zipped")))
	zw.Close()
	e.do("PUT", "/Patient/gz", zb.Bytes(), "Content-Encoding: gzip").must(t, 201)
	for i := 0; i < 30; i++ {
		e.do("POST", "/Patient", patient("", "Filler"+strings.Repeat("x", 40))).must(t, 201)
	}
	r := e.do("GET", "/Patient?_count=30", nil, "Accept-Encoding: gzip")
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip answer: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if _, err := fhir.Parse(plain, fhir.ParseOptions{}); err != nil {
		t.Errorf("gunzipped body: %v", err)
	}
	// _pretty indents.
	r = e.do("GET", "/Patient/gz?_pretty=true", nil).must(t, 200)
	if !bytes.Contains(r.raw, []byte("\n  \"id\": \"gz\"")) {
		t.Errorf("_pretty body not indented: %s", r.raw)
	}
	// JSON formats are accepted, also with an unescaped "+".
	for _, f := range []string{"json", "application/fhir+json", "application/fhir%2Bjson", "application/json"} {
		e.do("GET", "/Patient/gz?_format="+f, nil).must(t, 200)
	}
	e.do("GET", "/Patient/gz", nil, "Accept: application/fhir+json;q=0.9, application/fhir+xml").must(t, 200)
	// HEAD has headers and no body.
	r = e.do("HEAD", "/Patient/gz", nil).must(t, 200)
	if len(r.raw) != 0 || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("HEAD: %q %v", r.raw, r.header)
	}
}

func TestBaseURL(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		h      http.Handler
		target string
		hdr    map[string]string
		want   string
	}{
		{"base path", e.h, "http://ehr.test/fhir/Patient", nil, "http://ehr.test/fhir/Patient/"},
		{"behind StripPrefix", http.StripPrefix("/api/fhir", fhirhttp.New(e.api, fhirhttp.Options{Authenticate: operator})), "http://ehr.test/api/fhir/Patient", nil, "http://ehr.test/api/fhir/Patient/"},
		{"proxy headers ignored", e.h, "http://ehr.test/fhir/Patient", map[string]string{"X-Forwarded-Host": "evil.test"}, "http://ehr.test/fhir/Patient/"},
		{"trusted proxy", fhirhttp.New(e.api, fhirhttp.Options{BasePath: "/fhir", Proxies: 1, Authenticate: operator}), "http://ehr.test/fhir/Patient",
			map[string]string{"X-Forwarded-Host": "ehr.example.org", "X-Forwarded-Proto": "https"}, "https://ehr.example.org/fhir/Patient/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tc.target, bytes.NewReader(fhir.Marshal(patient("", "Base"))))
			req.Header.Set("Content-Type", "application/fhir+json")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if loc := rec.Header().Get("Location"); rec.Code != 201 || !strings.HasPrefix(loc, tc.want) {
				t.Errorf("status %d, Location %q, want prefix %q", rec.Code, loc, tc.want)
			}
		})
	}
}

func TestPanicIsOperationOutcome(t *testing.T) {
	// A handler without an API panics on use; the client sees a 500
	// OperationOutcome without detail.
	h := fhirhttp.New(nil, fhirhttp.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/Patient/1", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != fhirapi.ContentType {
		t.Fatalf("status %d %v", rec.Code, rec.Header())
	}
	res, err := fhir.Parse(rec.Body.Bytes(), fhir.ParseOptions{})
	if err != nil || fhir.TypeOf(res) != "OperationOutcome" || strings.Contains(rec.Body.String(), "nil pointer") {
		t.Errorf("body %s", rec.Body.String())
	}
}
