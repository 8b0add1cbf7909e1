package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"github.com/openchart/openchart/internal/access"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/bench/scale"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/server"
)

func syntheaDir(t testing.TB) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "synthea-120")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing under CI: %v", err)
		}
		t.Skipf("shared test data not found (%v); skipping", err)
	}
	return p
}

// startServer runs OpenChart on the embedded store over a loopback test
// listener, assembled the way `openchart serve` assembles it.
func startServer(t *testing.T) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), app.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv, err := server.New(server.Config{
		FHIR:    fhirhttp.New(a.API, fhirhttp.Options{Authenticate: operator}),
		Ready:   a.Store.Ping,
		Metrics: metrics.New(),
		Logger:  quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestSmokeRun runs the whole harness briefly on two scaled patients so
// that it cannot rot; the figures themselves are not checked.
func TestSmokeRun(t *testing.T) {
	data := t.TempDir()
	if _, err := scale.Generate(context.Background(), scale.Options{Source: syntheaDir(t), Out: data, Patients: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	target := startServer(t)
	var log bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Target: target, Data: data, Clients: []int{1, 2}, Duration: 100 * time.Millisecond,
		PID: os.Getpid(), Log: &log,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())

	got := map[string]int{}
	for _, r := range rep.Rows {
		got[r.Phase]++
		if r.Errors != 0 {
			t.Errorf("%s at %d clients: %d errors (%s)", r.Phase, r.Clients, r.Errors, r.Note)
		}
		ceiling := r.Phase == PhaseCopy || r.Phase == PhasePgbench
		if r.Skipped != ceiling && r.Phase != "operation: Patient/X/$everything" {
			t.Errorf("%s: skipped=%v (%s)", r.Phase, r.Skipped, r.Note)
		}
		if !r.Skipped && (r.Requests <= 0 || r.RSSMB <= 0) {
			t.Errorf("%s at %d clients: %d requests, RSS %v", r.Phase, r.Clients, r.Requests, r.RSSMB)
		}
	}
	want := map[string]int{PhaseImportHTTP: 2, PhaseImportNDJSON: 1, PhaseCopy: 1, PhasePgbench: 1}
	for _, q := range mix([]samplePatient{{}}, nil) {
		want[q.name] = 2
	}
	for phase, n := range want {
		if got[phase] != n && !(phase == "operation: Patient/X/$everything" && got[phase] == 1) {
			t.Errorf("%d rows of %q, want %d", got[phase], phase, n)
		}
		if !strings.Contains(table.String(), phase) {
			t.Errorf("the table lacks %q", phase)
		}
	}

	dir := t.TempDir()
	if err := rep.WriteSVG(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"throughput.svg", "p99.svg"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed: %v", f, err)
			}
		}
	}
	if err := rep.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}
}

func TestOnlyLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.8.9.10:1", true},
		{"http://[::1]:8080/fhir", true},
		{"http://localhost:8080", true},
		{"postgres://postgres@127.0.0.1:5432/x", true},
		{"http://10.1.2.3:8080", false},
		{"http://192.168.0.1", false},
		{"http://[2001:db8::1]:80", false},
		{"http://0.0.0.0:8080", false},
		{"http://no-such-host.invalid", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := checkLoopback(context.Background(), tc.url)
			if (err == nil) != tc.ok {
				t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestFHIRBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080/fhir",
		"http://127.0.0.1:8080/":       "http://127.0.0.1:8080/fhir",
		"http://127.0.0.1:8080/fhir/":  "http://127.0.0.1:8080/fhir",
		"http://127.0.0.1:8080/a/fhir": "http://127.0.0.1:8080/a/fhir",
	} {
		if got, err := fhirBase(in); err != nil || got != want {
			t.Errorf("fhirBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := fhirBase("ftp://127.0.0.1"); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p50, p95, p99 := percentiles(d)
	if p50 != 50 || p95 != 95 || p99 != 99 {
		t.Errorf("percentiles = %v %v %v, want 50 95 99", p50, p95, p99)
	}
}

// operator authenticates every request as an operator, whom the access
// policy does not restrict: these tests are not about access control
// (internal/e2e/leak_test.go is).
func operator(*http.Request) (*access.Principal, error) {
	return &access.Principal{Kind: access.Operator}, nil
}
