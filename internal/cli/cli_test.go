package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/store"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	const data = "DATA" // replaced by a fresh directory
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"import without paths", []string{"import", "--data", data}, 2, "name at least one file"},
		{"import of a missing file", []string{"import", "--data", data, "does-not-exist.json"}, 1, "no such file"},
		{"import of a wrong kind of file", []string{"import", "--data", data, "cli.go"}, 1, "not a .json"},
		{"bad flag", []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"version", []string{"version"}, 0, "openchart"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, a := range c.args {
				if a == data {
					c.args[i] = t.TempDir()
				}
			}
			code, stdout, stderr := run(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("output %q lacks %q", stdout+stderr, c.want)
			}
		})
	}
}

// TestImport runs `openchart import` on a Bundle and NDJSON files: a clean
// import succeeds and counts per type, a second run duplicates nothing, and
// a file with bad lines fails the command but keeps its good lines.
func TestImport(t *testing.T) {
	data := t.TempDir()
	code, stdout, stderr := run(t, "import", "--data", data, "testdata/bundle.json", "testdata/good.ndjson")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Imported 6 resources from 2 files", "Patient                      3", "Observation                  1", "Condition                    1", "Practitioner                 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "import finished: files 2/2, resources 6") {
		t.Errorf("no final progress line in stderr:\n%s", stderr)
	}

	// Again: the same six resources, found unchanged; nothing new.
	if code, stdout, _ = run(t, "import", "--data", data, "testdata"+string(filepath.Separator)+"bundle.json", "testdata/good.ndjson"); code != 0 {
		t.Fatalf("second import: exit %d\n%s", code, stdout)
	}
	countPatients(t, data, 3)

	// Bad lines are reported with their line numbers; the good line loads.
	code, stdout, _ = run(t, "import", "--data", data, "testdata/bad.ndjson")
	if code != 1 {
		t.Fatalf("import of bad lines: exit %d, want 1\n%s", code, stdout)
	}
	for _, want := range []string{"FAILED testdata/bad.ndjson: 2 failed, 1 loaded", "line 1:", "Patient.gender", "line 3:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("failure summary lacks %q:\n%s", want, stdout)
		}
	}
	countPatients(t, data, 4)
}

// countPatients opens the data directory in-process and counts its
// patients as an operator would (the served API needs credentials).
func countPatients(t *testing.T, data string, want int) {
	t.Helper()
	if got := count(t, data, "Patient", nil); got != want {
		t.Fatalf("patients: %d, want %d", got, want)
	}
}

// count counts the resources of a type in a data directory, in-process.
func count(t *testing.T, data, typ string, where []store.Clause) int {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{DataDir: data, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.Repo.Search(operator(context.Background()), &store.Query{Types: []string{typ}, Where: where, Total: store.TotalAccurate})
	if err != nil {
		t.Fatal(err)
	}
	return res.Total
}

// startServe runs `openchart serve` on a free port and returns its base URL.
func startServe(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "OpenChart is running at "); ok {
			base = strings.TrimSuffix(strings.Fields(u)[0], "/")
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not start: %v", <-done)
	}
	go io.Copy(io.Discard, pr)
	return base, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestServeDemo starts the server with the demo clinic and checks the
// operations endpoints and the data a new user sees.
func TestServeDemo(t *testing.T) {
	data := t.TempDir()
	base, stop := startServe(t, "--data", data, "--demo")
	defer func() {
		stop()
		countPatients(t, data, 6)
		// The demo clinicians' calendars are open: free slots to book.
		free := []store.Clause{{Or: []store.Predicate{{Param: "status", Kind: store.KindToken, AnySystem: true, Code: "free"}}}}
		if n := count(t, data, "Slot", free); n < 100 {
			t.Errorf("free slots after serve --demo: %d, want the next weeks' calendars", n)
		}
	}()
	if got := get(t, base+"/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz = %q", got)
	}
	if got := get(t, base+"/readyz"); strings.TrimSpace(got) != "ready" {
		t.Errorf("/readyz = %q", got)
	}
	// Data needs credentials: without them the API answers 401.
	if resp, err := http.Get(base + "/fhir/Patient?_summary=count"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous search: status %d, want 401", resp.StatusCode)
		}
	}
	if got := get(t, base+"/fhir/metadata"); !strings.Contains(got, `"fhirVersion":"4.0.1"`) {
		t.Errorf("metadata: %.200s", got)
	}
	if got := get(t, base+"/metrics"); !strings.Contains(got, "openchart_http_requests_total") || !strings.Contains(got, "openchart_store_operation_duration_seconds") {
		t.Errorf("metrics lack the request and store instruments")
	}
	// The browser pages start at the sign-in page; the API declares its
	// authorization server, which publishes the SMART configuration.
	if got := get(t, base+"/"); !strings.Contains(got, "<title>Sign in") {
		t.Errorf("/ should lead to the sign-in page: %.300s", got)
	}
	if got := get(t, base+"/fhir/metadata"); !strings.Contains(got, `"code":"SMART-on-FHIR"`) || !strings.Contains(got, base+"/oauth/token") {
		t.Errorf("metadata lacks the SMART security section: %.200s", got)
	}
	if got := get(t, base+"/fhir/.well-known/smart-configuration"); !strings.Contains(got, `"token_endpoint":"`+base+`/oauth/token"`) {
		t.Errorf("smart-configuration: %.300s", got)
	}
}

// TestServeSelfSigned serves HTTPS with the self-signed certificate it
// keeps in the data directory, and refuses half a certificate pair.
func TestServeSelfSigned(t *testing.T) {
	data := t.TempDir()
	base, stop := startServe(t, "--data", data, "--self-signed")
	defer stop()
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base URL %s, want https", base)
	}
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("metadata over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	var stderr strings.Builder
	if code := Main([]string{"serve", "--tls-cert", "x.pem"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "go together") {
		t.Errorf("--tls-cert alone: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := Main([]string{"serve", "--consent", "maybe"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "opt-in or opt-out") {
		t.Errorf("--consent maybe: exit %d, %q", code, stderr.String())
	}
	for _, bad := range []string{"-1", "one"} {
		stderr.Reset()
		if code := Main([]string{"serve", "--trusted-proxies", bad}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--trusted-proxies must be") {
			t.Errorf("--trusted-proxies %s: exit %d, %q", bad, code, stderr.String())
		}
	}
}
