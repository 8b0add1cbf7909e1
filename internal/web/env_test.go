package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/doors"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/server"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/web"
)

var _ web.Identity = (*auth.Service)(nil)

// testPassword is the password of every test account.
const testPassword = "correct horse battery staple"

// env is a running web front door over a real stack.
type env struct {
	t    *testing.T
	app  *app.App
	auth *auth.Service
	// doors are the server's doors: the FHIR API (mounted at /fhir of srv,
	// tokens from doors.SMART), the OAuth server and the pages.
	doors *doors.Doors
	srv   *httptest.Server
	logs  *strings.Builder
	org   string
}

type envOptions struct {
	db          string // "" for the embedded store, else a PostgreSQL URL
	idleTimeout time.Duration
	proxies     int
}

func quietLogger(b *strings.Builder) *slog.Logger {
	var w io.Writer = io.Discard
	if b != nil {
		w = b
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	cfg := app.Config{DataDir: t.TempDir(), Logger: quietLogger(nil)}
	if o.db != "" {
		cfg = app.Config{DB: o.db, Logger: quietLogger(nil)}
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	// The doors exactly as the server assembles them, on a listener whose
	// address is the public URL.
	srv := httptest.NewUnstartedServer(nil)
	logs := &strings.Builder{}
	d, err := doors.New(ctx, a, doors.Config{
		PublicURL: "http://" + srv.Listener.Addr().String(),
		Proxies:   o.proxies,
		Logger:    quietLogger(logs),
		Auth: auth.Options{
			Argon2:      auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, // fast hashes for tests
			IdleTimeout: o.idleTimeout,
		},
		VirtualVisitBase: "https://meet.example.org/openchart",
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := d.Auth
	h, err := server.New(server.Config{FHIR: d.FHIR, Web: d.Web, OAuth: d.OAuth,
		Ready: a.Store.Ping, Metrics: metrics.New(), Logger: quietLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{t: t, app: a, auth: svc, doors: d, srv: srv, logs: logs, org: "Organization/clinic"}
	return e
}

// operator is the context of set-up work done by the test itself.
func operator() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "test"})
}

// user creates an account with roles in the test organization.
func (e *env) user(name string, roles ...string) *auth.User {
	e.t.Helper()
	u := auth.User{Username: name, DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Test"}
	if len(roles) > 0 {
		u.Memberships = []auth.Membership{{Organization: e.org, Roles: roles}}
	}
	out, err := e.auth.CreateUser(operator(), u, testPassword)
	if err != nil {
		e.t.Fatalf("creating %s: %v", name, err)
	}
	return out
}

// patient stores a Patient.
func (e *env) patient(json string) {
	e.t.Helper()
	res, err := fhir.Parse([]byte(json), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	id, _ := res["id"].(string)
	if _, err := e.app.Repo.Update(operator(), "Patient", id, res, repo.UpdateOptions{}); err != nil {
		e.t.Fatalf("storing a patient: %v", err)
	}
}

// patients stores the test patients: two of the test organization, one
// of another organization.
func (e *env) patients() {
	for _, org := range []string{"clinic", "other"} {
		res, _ := fhir.Parse([]byte(`{"resourceType":"Organization","id":"`+org+`","name":"`+org+`"}`), fhir.ParseOptions{})
		if _, err := e.app.Repo.Update(operator(), "Organization", org, res, repo.UpdateOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	e.patient(`{"resourceType":"Patient","id":"zara","name":[{"family":"Müllerová","given":["Zara"]}],
		"gender":"female","birthDate":"1990-01-01","managingOrganization":{"reference":"Organization/other"}}`)
	e.patient(`{"resourceType":"Patient","id":"zoe","managingOrganization":{"reference":"Organization/clinic"},"name":[{"use":"official","family":"Müller","given":["Zoë"]}],
		"gender":"female","birthDate":"1984-03-27","telecom":[{"system":"phone","value":"555-0101"}],
		"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oc:mrn","value":"MRN-1001"}]}`)
	e.patient(`{"resourceType":"Patient","id":"omar","managingOrganization":{"reference":"Organization/clinic"},"name":[{"family":"Haddad","given":["Omar"]}],
		"gender":"male","birthDate":"1950-11-02",
		"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oc:mrn","value":"MRN-1002"}]}`)
}

// browser is an HTTP client with its own cookies, that does not follow
// redirects and sends the CSRF token of the last page it read.
type browser struct {
	e      *env
	c      *http.Client
	csrf   string
	origin string
	header http.Header // sent with every request
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, origin: e.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post submits a form from a page of the server (with the CSRF token of
// the last page read, unless the form sets its own).
func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	return b.do(req)
}

// login signs in with a password; it fails the test unless it lands on next.
func (b *browser) login(username string) {
	b.e.t.Helper()
	b.get("/login")
	r := b.post("/login", url.Values{"username": {username}, "password": {testPassword}, "next": {"/"}})
	if r.status != http.StatusSeeOther || r.location() != "/" {
		b.e.t.Fatalf("login %s: %d %s\n%s", username, r.status, r.location(), r.body)
	}
}

func pgURL(t *testing.T) string { return pgtest.URL(t) }

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; location %q\n%s", r.status, status, r.location(), r.body)
	}
}

func wantBody(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("the page lacks %q:\n%s", p, r.body)
		}
	}
}
