package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openchart/openchart/internal/metrics"
)

func TestRoute(t *testing.T) {
	cases := map[string]string{
		"/":                                   "/",
		"/healthz":                            "/healthz",
		"/fhir":                               "/fhir",
		"/fhir/metadata":                      "/fhir/metadata",
		"/fhir/Patient":                       "/fhir/{type}",
		"/fhir/Patient/123":                   "/fhir/{type}/{id}",
		"/fhir/Patient/123/_history/4":        "/fhir/{type}/{id}/_history/{vid}",
		"/fhir/Patient/123/Observation":       "/fhir/{type}/{id}/{type}",
		"/fhir/Patient/123/$everything":       "/fhir/{type}/{id}/$everything",
		"/fhir/Observation/_search":           "/fhir/{type}/_search",
		"/fhir/_history":                      "/fhir/_history",
		"/fhir/Patient/Smith-John-1970-01-01": "/fhir/{type}/{id}",
		"/fhir/Patient/123/$validate":         "/fhir/{type}/{id}/$validate",
		"/fhir/$export":                       "/fhir/$export",
		"/portal/records":                     "/portal",
		// What a client makes up does not become a label of its own.
		"/fhir/Patient/123/$x-7f3a":      "/fhir/{type}/{id}/{op}",
		"/fhir/_x7f3a":                   "/fhir/{id}",
		"/x7f3a":                         "/{other}",
		"/fhir/a/b/c/d/e/f":              "/fhir/{other}",
		"/fhir/Patient/1/_history/2/3/4": "/fhir/{other}",
	}
	for path, want := range cases {
		if got := Route(path); got != want {
			t.Errorf("Route(%q) = %q, want %q", path, got, want)
		}
	}
}

func newTestServer(t *testing.T, fhir http.Handler, ready func(context.Context) error) (*Server, *metrics.Metrics, *strings.Builder) {
	t.Helper()
	m := metrics.New()
	var logs strings.Builder
	s, err := New(Config{FHIR: fhir, Ready: ready, Metrics: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, m, &logs
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestEndpointsAndObservation(t *testing.T) {
	fhir := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/Patient/boom" {
			panic("boom")
		}
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.URL.Path)
	})
	ready := errors.New("down")
	var readyErr error
	s, m, logs := newTestServer(t, fhir, func(context.Context) error { return readyErr })
	h := s.Handler()

	if code, body := get(t, h, "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz = %d while ready", code)
	}
	readyErr = ready
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while the store is down, want 503", code)
	}
	// The FHIR handler sees paths relative to /fhir.
	if code, body := get(t, h, "/fhir/Patient/1?name=Smith"); code != http.StatusTeapot || body != "/Patient/1" {
		t.Errorf("/fhir/Patient/1 = %d %q", code, body)
	}
	// A panic becomes a 500 and a log line, never a crash.
	if code, _ := get(t, h, "/fhir/Patient/boom"); code != http.StatusInternalServerError {
		t.Errorf("panic: status %d, want 500", code)
	}
	if n := testutil.ToFloat64(m.Requests.WithLabelValues("/fhir/{type}/{id}", "GET", "418")); n != 1 {
		t.Errorf("request counter = %v, want 1", n)
	}
	if code, body := get(t, h, "/metrics"); code != 200 || !strings.Contains(body, "openchart_http_requests_total") {
		t.Errorf("/metrics = %d", code)
	}
	// Access logs name parameters, never their values (they can be names).
	if !strings.Contains(logs.String(), `"params":"name"`) || strings.Contains(logs.String(), "Smith") {
		t.Errorf("access log leaks or lacks parameters:\n%s", logs.String())
	}
}

func TestNewChecksItsDependencies(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted an empty configuration")
	}
}

func TestDoorsRouting(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	s, err := New(Config{FHIR: named("fhir"), Web: named("web"), OAuth: named("oauth"),
		Ready: func(context.Context) error { return nil }, Metrics: metrics.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/":                                     "web",
		"/login":                                "web",
		"/portal/messages":                      "web",
		"/oauth/authorize":                      "oauth",
		"/oauth/token":                          "oauth",
		"/.well-known/smart-configuration":      "oauth",
		"/fhir/.well-known/smart-configuration": "oauth",
		"/fhir/Patient/1":                       "fhir",
		"/fhir/metadata":                        "fhir",
		"/healthz":                              "ok\n",
	} {
		if _, body := get(t, s.Handler(), path); body != want {
			t.Errorf("GET %s served by %q, want %q", path, body, want)
		}
	}
}
