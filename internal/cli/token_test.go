package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/server"
	"github.com/openchart/openchart/internal/smart"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// runningServer serves the FHIR API, requiring tokens, over the store the
// commands are pointed at, as a server process would while the commands
// run beside it. It returns the server's URL and its store.
func runningServer(t *testing.T, cfg app.Config) (string, store.Store) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	srv, err := smart.New(smart.Config{Store: a.Store, Auth: auth.New(a.Store, auth.Options{}), BaseURL: ts.URL, Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{FHIR: fhirhttp.New(a.API, fhirhttp.Options{Authenticate: srv.Authenticate}),
		OAuth: srv.Handler(), Ready: a.Store.Ping, Metrics: metrics.New(), Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator})
	for _, js := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Lovelace"}]}`,
		`{"resourceType":"Patient","id":"p2","name":[{"family":"Babbage"}]}`,
	} {
		res, _ := fhir.Parse([]byte(js), fhir.ParseOptions{})
		if _, err := a.Repo.Update(ctx, "Patient", res["id"].(string), res, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	as := auth.New(a.Store, auth.Options{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	if _, err := as.CreateUser(ctx, auth.User{Username: "ada", DisplayName: "Ada", FHIRUser: "Patient/p1", Patients: []string{"p1"}}, ""); err != nil {
		t.Fatal(err)
	}
	return ts.URL, a.Store
}

func bearerGet(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// printedToken is the token a command printed.
func printedToken(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestTokenCommand(t *testing.T) {
	for name, storeArgs := range map[string]func(t *testing.T) (app.Config, []string){
		"sqlite": func(t *testing.T) (app.Config, []string) {
			dir := t.TempDir()
			return app.Config{DataDir: dir}, []string{"--data", dir}
		},
		"postgres": func(t *testing.T) (app.Config, []string) {
			u := pgtest.URL(t)
			return app.Config{DB: u}, []string{"--db", u}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, sa := storeArgs(t)
			url, st := runningServer(t, cfg)
			token := func(args ...string) (int, string, string) {
				return run(t, append(append([]string{"token"}, args...), sa...)...)
			}

			code, out, errOut := token("--scope", "system/Patient.rs")
			if code != 0 {
				t.Fatalf("system token: exit %d: %s", code, errOut)
			}
			sys := printedToken(out)
			if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(sys) {
				t.Fatalf("last line %q is not a token", sys)
			}
			if st := bearerGet(t, url+"/fhir/Patient/p2", sys); st != 200 {
				t.Errorf("system token read: %d", st)
			}
			if st := bearerGet(t, url+"/fhir/Observation?patient=p1", sys); st != 403 {
				t.Errorf("system token outside its scopes: %d, want 403", st)
			}

			code, out, errOut = token("--scope", "patient/*.rs", "--user", "ada", "--ttl", "10m")
			if code != 0 {
				t.Fatalf("user token: exit %d: %s", code, errOut)
			}
			ada := printedToken(out)
			if st := bearerGet(t, url+"/fhir/Patient/p1", ada); st != 200 {
				t.Errorf("ada's token, her record: %d", st)
			}
			if st := bearerGet(t, url+"/fhir/Patient/p2", ada); st == 200 {
				t.Errorf("ada's token read another patient")
			}

			for _, bad := range [][]string{
				{"--scope", "patient/*.rs"},                     // no patient
				{"--scope", "user/*.rs"},                        // no user
				{"--scope", "system/*.rs", "--user", "ada"},     // a user with system scopes
				{"--scope", "patient/*.rs", "--user", "nobody"}, // unknown user
				{"--scope", "patient/Observation"},              // malformed
			} {
				if code, out, _ := token(bad...); code == 0 {
					t.Errorf("%v: exit 0, printed %q", bad, out)
				}
			}
			if code, _, _ := token(); code != 2 {
				t.Errorf("without --scope: exit %d, want 2", code)
			}

			// Issuance is audited as the operator's.
			page, err := st.AuditRange(context.Background(), store.AuditQuery{Interactions: []string{audit.InteractionLogin}, Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range page.Rows {
				e, err := r.Entry()
				if err != nil {
					t.Fatal(err)
				}
				if e.Agent.Kind == "operator" && strings.Contains(e.OutcomeDesc, "access token issued by an operator") {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%d operator token entries, want 2", n)
			}
		})
	}
}

func TestClientCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "client", "add", "--data", dir, "--name", "Growth chart", "--public",
		"--redirect-uri", "https://app.example/cb", "--scopes", "launch/patient patient/*.rs")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`client_id: ([0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil || strings.Contains(out, "secret") {
		t.Fatalf("add printed %q", out)
	}
	id := m[1]
	code, out, errOut = run(t, "client", "add", "--data", dir, "--name", "Reporting", "--confidential", "--scopes", "user/*.rs")
	if code != 0 || !regexp.MustCompile(`client secret \(shown once, store it now\): [A-Za-z0-9_-]{43}`).MatchString(out) {
		t.Fatalf("confidential add: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "client", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "Growth chart") || !strings.Contains(out, "client_secret_basic") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, _, errOut := run(t, "client", "remove", "--data", dir, id); code != 0 {
		t.Errorf("remove: %d %s", code, errOut)
	}
	if _, out, _ = run(t, "client", "list", "--data", dir); strings.Contains(out, id) {
		t.Errorf("removed client still listed: %s", out)
	}
	for _, bad := range [][]string{
		{"client", "add", "--data", dir, "--name", "x", "--scopes", "patient/*.rs"},             // neither public nor confidential
		{"client", "add", "--data", dir, "--name", "x", "--public", "--scopes", "patient/*.rs"}, // public without a redirect URI
		{"client", "add", "--data", dir, "--name", "x", "--public", "--redirect-uri", "ftp://x", "--scopes", "patient/*.rs"},
		{"client", "add", "--data", dir, "--name", "x", "--confidential", "--scopes", "system/*.rs"}, // system scopes need keys
		{"client", "remove", "--data", dir, "nope"},
	} {
		if code, _, _ := run(t, bad...); code == 0 {
			t.Errorf("%v: exit 0", bad)
		}
	}
}
