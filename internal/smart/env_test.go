package smart_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/server"
	"github.com/openchart/openchart/internal/smart"
	"github.com/openchart/openchart/internal/store/pgtest"
)

var _ smart.Identity = (*auth.Service)(nil)

// stores are the store configurations every test runs on.
func stores() map[string]func(t *testing.T) app.Config {
	return map[string]func(t *testing.T) app.Config{
		"sqlite":   func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir(), Logger: quiet()} },
		"postgres": func(t *testing.T) app.Config { return app.Config{DB: pgtest.URL(t), Logger: quiet()} },
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eachStore runs fn on both stores.
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, cfg(t)))
		})
	}
}

const password = "correct horse battery staple 42"

// env is the whole stack behind one HTTP server: the FHIR API requiring
// tokens, the authorization server, and users made through auth.Service.
type env struct {
	t    *testing.T
	app  *app.App
	auth *auth.Service
	srv  *smart.Server
	url  string
}

func newEnv(t *testing.T, cfg app.Config) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	cfg.BaseURL = ts.URL + "/fhir"
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	as := auth.New(a.Store, auth.Options{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	// Behind one proxy: requests without X-Forwarded-For are the peer's.
	srv, err := smart.New(smart.Config{Store: a.Store, Auth: as, BaseURL: ts.URL, Logger: quiet(), Proxies: 1,
		Patients: smart.RepoPatients(a.Repo, search.NewCompilerFrom(a.Registry))})
	if err != nil {
		t.Fatalf("smart.New: %v", err)
	}
	s, err := server.New(server.Config{
		FHIR:    smart.CORS(fhirhttp.New(a.API, fhirhttp.Options{Authenticate: srv.Authenticate})),
		OAuth:   srv.Handler(),
		Ready:   a.Store.Ping,
		Metrics: metrics.New(),
		Logger:  quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	e := &env{t: t, app: a, auth: as, srv: srv, url: ts.URL}
	e.seed()
	return e
}

func operator() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "test"})
}

// seed stores an organization, two patients with an observation each, a
// patient user for p1 and a physician of the organization.
func (e *env) seed() {
	t := e.t
	t.Helper()
	ctx := operator()
	for _, js := range []string{
		`{"resourceType":"Organization","id":"org1","name":"Clinic"}`,
		`{"resourceType":"Practitioner","id":"dr1","name":[{"family":"House","given":["Greg"]}]}`,
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Lovelace","given":["Ada"]}],"birthDate":"1815-12-10","gender":"female","managingOrganization":{"reference":"Organization/org1"}}`,
		`{"resourceType":"Patient","id":"p2","name":[{"family":"Babbage","given":["Charles"]}],"birthDate":"1791-12-26","gender":"male","managingOrganization":{"reference":"Organization/org1"}}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Heart rate"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":72,"unit":"/min"}}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"Heart rate"},"subject":{"reference":"Patient/p2"},"valueQuantity":{"value":90,"unit":"/min"}}`,
	} {
		res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Repo.Update(ctx, res["resourceType"].(string), res["id"].(string), res, repo.UpdateOptions{}); err != nil {
			t.Fatalf("seeding %s: %v", js[:40], err)
		}
	}
	users := []auth.User{
		{Username: "ada", DisplayName: "Ada Lovelace", FHIRUser: "Patient/p1", Patients: []string{"p1"}},
		{Username: "house", DisplayName: "Greg House", FHIRUser: "Practitioner/dr1",
			Memberships: []auth.Membership{{Organization: "Organization/org1", Roles: []string{auth.RolePhysician}}}},
	}
	for _, u := range users {
		if _, err := e.auth.CreateUser(ctx, u, password); err != nil {
			t.Fatalf("creating %s: %v", u.Username, err)
		}
	}
}

// login signs a user in through auth.Service and returns the session
// token and its CSRF secret.
func (e *env) login(username string) (token, csrf string) {
	e.t.Helper()
	step, err := e.auth.Login(context.Background(), username, password, auth.Meta{Source: "127.0.0.1"})
	if err != nil || step.Token == "" {
		e.t.Fatalf("login %s: %v (%+v)", username, err, step)
	}
	return step.Token, step.Session.CSRF
}

// browser is an HTTP client with a session cookie that does not follow
// redirects, so each step of the flow can be checked.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(username string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if username != "" {
		tok, csrf := e.login(username)
		u, _ := url.Parse(e.url)
		jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: tok, Path: "/"}})
		b.csrf = csrf
	}
	return b
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.url + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, v url.Values) (*http.Response, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.url+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.url)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 50)[:64]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

const redirectURI = "http://app.example/callback"

// authorizeParams are the parameters of a standard request.
func (e *env) authorizeParams(clientID, scope, challenge string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {"st-123"}, "aud": {e.url + "/fhir"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

var requestRE = regexp.MustCompile(`name="request" value="([^"]+)"`)

// authorize runs the authorization endpoint, the picker (choosing
// patient when shown) and the consent screen (approving), and returns the
// redirect back to the app.
func (b *browser) authorize(params url.Values, patient string) *url.URL {
	t := b.e.t
	t.Helper()
	resp, body := b.get("/oauth/authorize?" + params.Encode())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s %s", resp.StatusCode, loc, body)
	}
	if strings.HasPrefix(loc, "/oauth/patient") {
		_, page := b.get(loc)
		m := requestRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("picker page without a request: %s", page)
		}
		resp, body = b.post("/oauth/patient", url.Values{"request": {m[1]}, auth.CSRFField: {b.csrf}, "patient": {patient}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("picking %s: %d %s", patient, resp.StatusCode, body)
		}
		loc = resp.Header.Get("Location")
	}
	if !strings.HasPrefix(loc, "/oauth/consent") {
		t.Fatalf("expected the consent page, got %s", loc)
	}
	_, page := b.get(loc)
	m := requestRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("consent page without a request: %s", page)
	}
	resp, body = b.post("/oauth/consent", url.Values{"request": {m[1]}, auth.CSRFField: {b.csrf}, "decision": {"approve"}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// postForm posts to an endpoint of the server and decodes the JSON answer.
func (e *env) postForm(path string, v url.Values, basicUser, basicPass string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	body, _ := io.ReadAll(resp.Body)
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			e.t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode, out
}

// fhirGet reads the FHIR API with a bearer token and returns the status
// and body.
func (e *env) fhirGet(token, path string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/fhir/"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// register registers a client.
func (e *env) register(spec smart.ClientSpec) (*smart.Client, string) {
	e.t.Helper()
	c, secret, err := e.srv.RegisterClient(operator(), spec)
	if err != nil {
		e.t.Fatalf("registering %s: %v", spec.Name, err)
	}
	return c, secret
}

// publicApp registers the usual public app.
func (e *env) publicApp(scopes ...string) *smart.Client {
	if scopes == nil {
		scopes = []string{"launch", "launch/patient", "openid", "fhirUser", "profile", "offline_access", "online_access", "patient/*.rs", "user/*.rs"}
	}
	c, _ := e.register(smart.ClientSpec{Name: "Growth Chart", Public: true, RedirectURIs: []string{redirectURI}, Scopes: scopes})
	return c
}
