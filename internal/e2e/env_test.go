package e2e

import (
	"compress/gzip"
	"context"
	"github.com/openchart/openchart/internal/access"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/server"
	"github.com/openchart/openchart/internal/shareddata"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// sharedData returns the path of a folder of the shared test data.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
}

// stores lists the store configurations every end-to-end test runs on.
func stores(t *testing.T) map[string]func(t *testing.T) app.Config {
	return map[string]func(t *testing.T) app.Config{
		"sqlite": func(t *testing.T) app.Config {
			return app.Config{DataDir: t.TempDir(), Logger: quietLogger()}
		},
		"postgres": func(t *testing.T) app.Config {
			return app.Config{DB: pgtest.URL(t), Logger: quietLogger()}
		},
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openApp assembles the application on the given store configuration.
func openApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// serve starts the HTTP server of a over a test listener.
func serve(t *testing.T, a *app.App) *httptest.Server {
	t.Helper()
	srv, err := server.New(server.Config{
		FHIR:    fhirhttp.New(a.API, fhirhttp.Options{Authenticate: operator}),
		Ready:   a.Store.Ping,
		Metrics: metrics.New(),
		Logger:  quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// readBundle reads a .json or .json.gz Bundle.
func readBundle(t testing.TB, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(path) == ".gz" {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fhir.Parse(data, fhir.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// countByType counts the current resources of each type in the store.
func countByType(t *testing.T, a *app.App, types []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, typ := range types {
		res, err := a.Repo.Search(opCtx(), &store.Query{Types: []string{typ}, Total: store.TotalAccurate})
		if err != nil {
			t.Fatalf("counting %s: %v", typ, err)
		}
		if res.Total > 0 {
			out[typ] = res.Total
		}
	}
	return out
}

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
