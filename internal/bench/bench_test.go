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
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/bench/scale"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/importer"
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
	url, _ := startServerApp(t)
	return url
}

func startServerApp(t *testing.T) (string, *app.App) {
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
	return ts.URL, a
}

// startPprof serves this process's net/http/pprof handlers, as serve
// --pprof does for the server.
func startPprof(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestSmokeRun runs the whole harness briefly on two scaled patients so
// that it cannot rot, profiles included; the figures themselves are not
// checked.
func TestSmokeRun(t *testing.T) {
	data := t.TempDir()
	if _, err := scale.Generate(context.Background(), scale.Options{Source: syntheaDir(t), Out: data, Patients: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	target := startServer(t)
	profiles := t.TempDir()
	var log bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Target: target, Data: data, Clients: []int{1, TargetClients}, Duration: 100 * time.Millisecond,
		PID: os.Getpid(), Log: &log, Name: "smoke",
		ProfileDir: profiles, PprofURL: startPprof(t), ProfileSeconds: 1,
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
	for _, f := range []string{"smoke-throughput.svg", "smoke-p99.svg"} {
		checkSVG(t, filepath.Join(dir, f))
	}
	if err := rep.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}

	// The targets: every one judged, and the figures of this run where
	// they were measured.
	if len(rep.Targets) != 10 {
		t.Errorf("%d targets, want 10: %+v", len(rep.Targets), rep.Targets)
	}
	status := map[string]string{}
	for _, tg := range rep.Targets {
		status[tg.Name] = tg.Status
		if !strings.Contains(table.String(), tg.Name) {
			t.Errorf("the table lacks the target %q", tg.Name)
		}
	}
	if st := status["no errors"]; st != TargetMet {
		t.Errorf("no errors: %s", st)
	}
	if st := status["NDJSON import ≥ 50% of COPY"]; st != TargetNA {
		t.Errorf("the NDJSON target without a COPY ceiling is %q, want n/a", st)
	}
	if st := status["read by id at 8 clients p99 ≤ 5 ms"]; st == TargetNA {
		t.Error("read by id at 8 clients was not judged")
	}

	// The profiles: the server's CPU during the HTTP import and the query
	// mix, the harness's during the NDJSON import, the server's heap; each
	// a pprof file with -top text next to it.
	kinds := map[string]bool{}
	for _, p := range rep.Profiles {
		kinds[p.Process+" "+p.Kind+" "+p.File] = true
		if p.Note != "" {
			t.Errorf("profile of %s: %s", p.Phase, p.Note)
			continue
		}
		if fi, err := os.Stat(p.File); err != nil || fi.Size() == 0 {
			t.Errorf("profile of %s: %v", p.Phase, err)
		}
		top, err := os.ReadFile(p.Top)
		if err != nil {
			t.Errorf("-top text of %s: %v", p.Phase, err)
		} else if !bytes.Contains(top, []byte("flat%")) {
			t.Errorf("-top text of %s is not pprof's:\n%s", p.Phase, top)
		}
	}
	for _, want := range []string{
		"server cpu " + filepath.Join(profiles, "cpu-server-import-http.pb.gz"),
		"harness cpu " + filepath.Join(profiles, "cpu-harness-import-ndjson.pb.gz"),
		"server cpu " + filepath.Join(profiles, "cpu-server-query-mix.pb.gz"),
		"server heap " + filepath.Join(profiles, "heap-server.pb.gz"),
	} {
		if !kinds[want] {
			t.Errorf("no profile %q among %v", want, kinds)
		}
	}
}

// TestProfilesWithoutPprof: without the server's pprof address the run
// goes on, profiles only the in-process NDJSON import and says why.
func TestProfilesWithoutPprof(t *testing.T) {
	data := t.TempDir()
	if _, err := scale.Generate(context.Background(), scale.Options{Source: syntheaDir(t), Out: data, Patients: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{
		Target: startServer(t), Data: data, Clients: []int{1}, Duration: 50 * time.Millisecond,
		PID: os.Getpid(), ProfileDir: t.TempDir(), ProfileSeconds: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Profiles) != 1 || rep.Profiles[0].Process != "harness" {
		t.Errorf("profiles = %+v, want the harness's NDJSON import only", rep.Profiles)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "no --pprof-url") }) {
		t.Errorf("no note on the missing pprof address: %q", rep.Notes)
	}
}

// TestOnlyRows: with Only, the query rows run are those whose names
// contain one of its words, and no other.
func TestOnlyRows(t *testing.T) {
	data := t.TempDir()
	if _, err := scale.Generate(context.Background(), scale.Options{Source: syntheaDir(t), Out: data, Patients: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	target := startServer(t)
	if _, err := Run(context.Background(), Config{Target: target, Data: data, Clients: []int{1}, Duration: 50 * time.Millisecond, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Target: target, SkipImport: true, Clients: []int{1}, Duration: 50 * time.Millisecond,
		PID: os.Getpid(), Only: []string{PhaseRead, "$everything"}})
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, row := range rep.Rows {
		if !strings.HasPrefix(row.Phase, "ceiling:") {
			phases = append(phases, row.Phase)
		}
	}
	if want := []string{PhaseRead, "operation: Patient/X/$everything"}; !slices.Equal(phases, want) {
		t.Errorf("rows %q, want %q", phases, want)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
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
			t.Fatalf("%s is not well-formed: %v", path, err)
		}
	}
	if !bytes.Contains(data, []byte("<polyline")) {
		t.Errorf("%s draws no line", path)
	}
}

// TestSoak soaks a server holding two patients for two seconds in
// half-second intervals, after measuring its peak.
func TestSoak(t *testing.T) {
	data := t.TempDir()
	if _, err := scale.Generate(context.Background(), scale.Options{Source: syntheaDir(t), Out: data, Patients: 2, Seed: 1, Format: "ndjson"}); err != nil {
		t.Fatal(err)
	}
	target, a := startServerApp(t)
	im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Run(access.With(context.Background(), &access.Principal{Kind: access.Operator}), []string{filepath.Join(data, "ndjson")}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := Soak(context.Background(), SoakConfig{
		Target: target, PID: os.Getpid(), Duration: 2 * time.Second, Interval: 500 * time.Millisecond,
		PeakClients: 2, PeakDuration: 500 * time.Millisecond, Name: "smoke", Log: &log,
	})
	if err != nil {
		t.Fatalf("Soak: %v\n%s", err, log.String())
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	if rep.PeakRate <= 0 || rep.Rate != rep.PeakRate*0.8 {
		t.Errorf("peak %v, rate %v: want the rate at 80%% of the peak", rep.PeakRate, rep.Rate)
	}
	if len(rep.Queries) < 8 {
		t.Errorf("the soak ran %d queries: %v", len(rep.Queries), rep.Queries)
	}
	if len(rep.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4", len(rep.Intervals))
	}
	for i, iv := range rep.Intervals {
		if iv.Requests == 0 || iv.Rate <= 0 || iv.P99 <= 0 || iv.P50 > iv.P99 || iv.RSSMB <= 0 || iv.PeakRSSMB < iv.RSSMB {
			t.Errorf("interval %d: %+v", i, iv)
		}
		if iv.Errors != 0 {
			t.Errorf("interval %d: %d errors", i, iv.Errors)
		}
		if want := float64(i) * 0.5; iv.Start != want {
			t.Errorf("interval %d starts at %v s, want %v", i, iv.Start, want)
		}
	}
	if rep.Verdict != "flat" && rep.Verdict != "not flat" || rep.Flat != (rep.Verdict == "flat") {
		t.Errorf("verdict %q, flat %v", rep.Verdict, rep.Flat)
	}
	for _, want := range []string{"verdict: " + rep.Verdict, "rule: " + SoakRule, "p99 ms"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	dir := t.TempDir()
	if err := rep.WriteSVG(dir); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, filepath.Join(dir, "smoke-soak-latency.svg"))
	checkSVG(t, filepath.Join(dir, "smoke-soak-rss.svg"))
	if err := rep.WriteJSON(filepath.Join(dir, "soak.json")); err != nil {
		t.Fatal(err)
	}
}

func TestSoakVerdict(t *testing.T) {
	steady := SoakInterval{Requests: 600, Rate: 100, P50: 2, P95: 4, P99: 6, RSSMB: 100, PeakRSSMB: 110}
	tests := []struct {
		name   string
		last   func(*SoakInterval)
		flat   bool
		reason string
	}{
		{"steady", func(*SoakInterval) {}, true, ""},
		{"p99 up by 40%", func(iv *SoakInterval) { iv.P99 = 8.4 }, true, ""},
		{"p99 doubled", func(iv *SoakInterval) { iv.P99 = 12 }, false, "p99 rose"},
		{"RSS up 9%", func(iv *SoakInterval) { iv.RSSMB = 109 }, true, ""},
		{"RSS up 10%", func(iv *SoakInterval) { iv.RSSMB = 110 }, false, "RSS grew"},
		{"errors", func(iv *SoakInterval) { iv.Errors = 3 }, false, "3 errors"},
		{"falls behind", func(iv *SoakInterval) { iv.Rate = 80 }, false, "rate was 80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last := steady
			tc.last(&last)
			rep := &SoakReport{Rate: 100, Intervals: []SoakInterval{steady, steady, last}}
			rep.judge()
			if rep.Flat != tc.flat {
				t.Errorf("flat = %v (%q), want %v", rep.Flat, rep.Reasons, tc.flat)
			}
			if tc.reason != "" && !slices.ContainsFunc(rep.Reasons, func(r string) bool { return strings.Contains(r, tc.reason) }) {
				t.Errorf("reasons %q lack %q", rep.Reasons, tc.reason)
			}
		})
	}
	// Sub-millisecond latencies get a millisecond of slack.
	fast := SoakInterval{Rate: 100, P99: 0.4, RSSMB: 50}
	slower := fast
	slower.P99 = 1.3
	rep := &SoakReport{Rate: 100, Intervals: []SoakInterval{fast, slower}}
	rep.judge()
	if !rep.Flat {
		t.Errorf("0.4 ms to 1.3 ms judged not flat: %q", rep.Reasons)
	}
}

func TestTargets(t *testing.T) {
	rep := &Report{Rows: []Row{
		{Phase: PhaseImportHTTP, Clients: 1, Rate: 3000},
		{Phase: PhaseImportHTTP, Clients: 8, Rate: 5200},
		{Phase: PhaseImportNDJSON, Clients: 2, Rate: 4000},
		{Phase: PhaseCopy, Clients: 1, Rate: 10000},
		{Phase: PhaseRead, Clients: 8, Rate: 6000, P99: 7, RSSMB: 120},
		{Phase: PhasePgbench, Clients: 8, Rate: 10000},
		{Phase: PhaseCountToken, Clients: 8, Rate: 2.5e6, RSSMB: 310},
		{Phase: PhaseCountDate, Clients: 8, Rate: 3e5, RSSMB: 100},
		{Phase: PhaseFirstPage, Clients: 1, P50: 4.2, Rate: 200, RSSMB: 100},
		{Phase: PhaseUnchained, Clients: 8, Rate: 500, RSSMB: 100},
		{Phase: PhaseChained, Clients: 8, Rate: 200, RSSMB: 100, Errors: 1},
	}}
	applyCeilings(rep)
	want := map[string]string{
		"transaction import ≥ 5,000 resources/s":             TargetMet,
		"NDJSON import ≥ 50% of COPY":                        TargetNotMet,
		"read by id at 8 clients ≥ 50% of pgbench -S":        TargetMet,
		"read by id at 8 clients p99 ≤ 5 ms":                 TargetNotMet,
		"count by token at 8 clients ≥ 2 M matches/s":        TargetMet,
		"count by date range at 8 clients ≥ 400 k matches/s": TargetNotMet,
		"first page of a search at 1 client p50 ≤ 5 ms":      TargetMet,
		"chained search at 8 clients ≤ 2× the unchained":     TargetNotMet,
		"server RSS ≤ 300 MB under the query mix":            TargetNotMet,
		"no errors": TargetNotMet,
	}
	got := Targets(rep)
	for _, tg := range got {
		if w, ok := want[tg.Name]; ok && tg.Status != w {
			t.Errorf("%s: %s (%s), want %s", tg.Name, tg.Status, tg.Measured, w)
		}
		delete(want, tg.Name)
	}
	if len(want) > 0 {
		t.Errorf("targets missing: %v", want)
	}
	if got[0].Measured != "5200 resources/s (best at 8 clients)" {
		t.Errorf("import measured %q", got[0].Measured)
	}
	// Nothing measured at 8 clients: those targets are n/a, not failed.
	rep = &Report{Rows: []Row{{Phase: PhaseRead, Clients: 1, Rate: 100, RSSMB: 50}}}
	for _, tg := range Targets(rep) {
		if strings.Contains(tg.Name, "8 clients") && tg.Status != TargetNA {
			t.Errorf("%s: %s without a row at 8 clients", tg.Name, tg.Status)
		}
	}
	var b bytes.Buffer
	if err := WriteTargets(&b, got); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	col := strings.Index(lines[0], "measured")
	for _, l := range lines[1:] {
		if r := []rune(l); len(r) < col || r[col-2] != ' ' {
			t.Errorf("misaligned line %q (the measured column starts at %d)", l, col)
		}
	}
}

func TestPprofBase(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:6060":                        "http://127.0.0.1:6060/debug/pprof",
		"http://127.0.0.1:6060/":                "http://127.0.0.1:6060/debug/pprof",
		"http://127.0.0.1:6060/debug/pprof/":    "http://127.0.0.1:6060/debug/pprof",
		"http://[::1]:6060/debug/pprof?debug=1": "http://[::1]:6060/debug/pprof",
	} {
		if got, err := pprofBase(in); err != nil || got != want {
			t.Errorf("pprofBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := pprofBase("https://127.0.0.1:6060"); err == nil {
		t.Error("an https pprof URL was accepted")
	}
}

// TestBenchScript checks that scripts/bench.sh parses and answers --help
// (the full run is a benchmark, not a test).
func TestBenchScript(t *testing.T) {
	script := filepath.Join("..", "..", "scripts", "bench.sh")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", script, err, out)
	}
	out, err := exec.Command("bash", script, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", script, err, out)
	}
	for _, opt := range []string{"--sizes", "--stores", "--clients", "--duration", "--out", "--soak", "--patients-10k", "--no-profile"} {
		if !strings.Contains(string(out), opt) {
			t.Errorf("--help does not describe %s:\n%s", opt, out)
		}
	}
	out, err = exec.Command("bash", script, "--no-such-option").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--no-such-option") {
		t.Errorf("an unknown option was not refused: %v\n%s", err, out)
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
