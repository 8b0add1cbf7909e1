package fhirhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/openchart/openchart/internal/access"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

const base = "http://ehr.test/fhir"

// env is a FHIR HTTP handler over a fresh SQLite store.
type env struct {
	t   testing.TB
	h   http.Handler
	api *fhirapi.API
	st  store.Store
}

type envOptions struct {
	maxBody    int64
	maxEntries int
	postgres   bool
}

// bothStores runs a test on the embedded store and on PostgreSQL (skipped
// when no server is reachable, failed under CI=true).
func bothStores(t *testing.T, test func(t *testing.T, o envOptions)) {
	t.Run("sqlite", func(t *testing.T) { test(t, envOptions{}) })
	t.Run("postgres", func(t *testing.T) { test(t, envOptions{postgres: true}) })
}

// newEnv assembles the application as the server does (internal/app) on a
// fresh store and serves its FHIR API under /fhir.
func newEnv(t testing.TB, o ...envOptions) *env {
	t.Helper()
	var opts envOptions
	if len(o) > 0 {
		opts = o[0]
	}
	cfg := app.Config{BaseURL: base, MaxBundleEntries: opts.maxEntries,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if opts.postgres {
		cfg.DB = pgtest.URL(t)
	} else {
		cfg.DataDir = t.TempDir()
	}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("opening the application: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	h := fhirhttp.New(a.API, fhirhttp.Options{BasePath: "/fhir", MaxBody: opts.maxBody, Authenticate: operator})
	return &env{t: t, h: h, api: a.API, st: a.Store}
}

// result is an HTTP answer with its body parsed.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request. body is a string, []byte or a value marshalled as
// JSON; hdr holds "Name: value" pairs.
func (e *env) do(method, path string, body any, hdr ...string) *result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := &result{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
	if ct := rec.Header().Get("Content-Type"); ct != fhirapi.ContentType {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if len(res.raw) > 0 && rec.Header().Get("Content-Encoding") == "" {
		v, err := fhir.ParseJSON(res.raw, fhir.ParseOptions{})
		if err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, res.raw)
		}
		res.body, _ = v.(map[string]any)
	}
	return res
}

// fataler is what must needs of a testing.TB or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// must checks the status.
func (r *result) must(t fataler, status int) *result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// issueCodes lists the OperationOutcome's issue codes.
func (r *result) issueCodes() []string {
	var out []string
	if fhir.TypeOf(r.body) != "OperationOutcome" {
		return nil
	}
	for _, x := range r.body["issue"].([]any) {
		out = append(out, x.(map[string]any)["code"].(string))
	}
	return out
}

// expressions lists every issue expression.
func (r *result) expressions() []string {
	var out []string
	issues, _ := r.body["issue"].([]any)
	for _, x := range issues {
		ex, _ := x.(map[string]any)["expression"].([]any)
		for _, e := range ex {
			out = append(out, e.(string))
		}
	}
	return out
}

// get walks a parsed JSON value by keys and indexes ("entry", 0, "resource").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

// count searches and returns the total.
func (e *env) count(query string) int {
	e.t.Helper()
	sep := "?"
	if strings.Contains(query, "?") {
		sep = "&"
	}
	r := e.do("GET", "/"+query+sep+"_total=accurate", nil).must(e.t, 200)
	n, err := get(r.body, "total").(json.Number).Int64()
	if err != nil {
		e.t.Fatalf("no total in %s", r.raw)
	}
	return int(n)
}

func patient(id, family string, extra ...string) map[string]any {
	p := map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": family}}}
	if id != "" {
		p["id"] = id
	}
	for i := 0; i+1 < len(extra); i += 2 {
		p["identifier"] = append(asList(p["identifier"]), map[string]any{"system": extra[i], "value": extra[i+1]})
	}
	return p
}

func asList(v any) []any { l, _ := v.([]any); return l }

// operator authenticates every request as an operator, whom the access
// policy does not restrict: these tests are not about access control
// (internal/e2e/leak_test.go is).
func operator(*http.Request) (*access.Principal, error) {
	return &access.Principal{Kind: access.Operator}, nil
}

// opCtx is a context acting as an operator (see operator).
func opCtx() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.Operator})
}
