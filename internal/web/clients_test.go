package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/smart"
)

// sysAdmin creates a system administrator and signs them in.
func (e *env) sysAdmin(name string) *browser {
	e.t.Helper()
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: name, DisplayName: "Root Test", SystemAdmin: true}, testPassword); err != nil {
		e.t.Fatal(err)
	}
	b := e.browser()
	b.login(name)
	return b
}

func (e *env) clients() []*smart.Client {
	e.t.Helper()
	list, err := e.doors.SMART.ListClients(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

var secretRE = regexp.MustCompile(`id="client-secret">([^<]+)<`)

func TestAdminApps(t *testing.T) {
	for _, db := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", pgURL(t)}} {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, envOptions{db: db.url})
			root := e.sysAdmin("root")
			wantBody(t, root.get("/admin/apps"), "No apps are registered.", "Register an app", `href="/admin/apps" aria-current="page"`)

			// A public patient-facing app.
			r := root.post("/admin/apps", url.Values{"name": {"Growth charts"}, "redirectUris": {"https://growth.example.org/cb\r\nhttps://growth.example.org/cb2"},
				"launchUrl": {"https://growth.example.org/launch"}, "type": {"public"}, "preset": {"patient"}})
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "Growth charts</strong> was registered", "https://growth.example.org/cb2", "launch/patient openid fhirUser patient/*.rs offline_access")
			if strings.Contains(r.body, `id="client-secret"`) {
				t.Error("a public app was shown a secret")
			}
			cs := e.clients()
			if len(cs) != 1 || !cs[0].Public || cs[0].LaunchURL != "https://growth.example.org/launch" || len(cs[0].RedirectURIs) != 2 {
				t.Fatalf("registered: %+v", cs)
			}

			// A confidential app with a secret: shown once, never again.
			r = root.post("/admin/apps", url.Values{"name": {"Decision support"}, "redirectUris": {"https://cds.example.org/cb"},
				"type": {"secret"}, "preset": {"clinician"}})
			wantStatus(t, r, http.StatusOK)
			m := secretRE.FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("no secret shown:\n%s", r.body)
			}
			secret := m[1]
			var conf *smart.Client
			for _, c := range e.clients() {
				if c.Name == "Decision support" {
					conf = c
				}
			}
			if conf == nil || conf.Public || conf.SecretHash == "" || strings.Contains(conf.SecretHash, secret) || strings.Join(conf.Scopes, " ") != "launch openid fhirUser user/*.rs" {
				t.Fatalf("confidential client: %+v", conf)
			}
			// The secret authenticates the client (at the introspection
			// endpoint, which needs a confidential client).
			if st := tokenStatus(t, e, conf.ID, secret); st != http.StatusOK {
				t.Error("the shown secret does not authenticate the client")
			}
			if st := tokenStatus(t, e, conf.ID, secret+"x"); st != http.StatusUnauthorized {
				t.Errorf("a wrong secret: %d", st)
			}
			list := root.get("/admin/apps")
			wantBody(t, list, "Decision support", "Confidential (secret)", "Growth charts", "Public", conf.ID)
			if strings.Contains(list.body, secret) {
				t.Error("the secret is shown again")
			}

			// Field errors, nothing stored.
			for name, c := range map[string]struct {
				form  url.Values
				field string
				msg   string
			}{
				"empty name":   {url.Values{"name": {" "}, "redirectUris": {"https://a.example.org/cb"}, "type": {"public"}, "preset": {"patient"}}, "name", "Enter the app&#39;s name."},
				"bad redirect": {url.Values{"name": {"X"}, "redirectUris": {"ftp://a.example.org/cb"}, "type": {"public"}, "preset": {"patient"}}, "redirectUris", "must start with https://"},
				"bad launch":   {url.Values{"name": {"X"}, "redirectUris": {"https://a.example.org/cb"}, "launchUrl": {"https://a.example.org/l#x"}, "type": {"public"}, "preset": {"clinician"}}, "launchUrl", "must not contain a # fragment"},
				"bad jwks":     {url.Values{"name": {"X"}, "type": {"jwks"}, "jwks": {`{"keys": [`}, "preset": {"backend"}}, "jwks", "This is not valid JSON"},
				"weak jwks":    {url.Values{"name": {"X"}, "type": {"jwks"}, "jwks": {`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`}, "preset": {"backend"}}, "jwks", "JWKS"},
				"bad scope":    {url.Values{"name": {"X"}, "redirectUris": {"https://a.example.org/cb"}, "type": {"public"}, "preset": {"custom"}, "scopes": {"patient/Observation.xyz"}}, "scopes", "Scopes:"},
				"system scope": {url.Values{"name": {"X"}, "redirectUris": {"https://a.example.org/cb"}, "type": {"secret"}, "preset": {"backend"}}, "preset", "System scopes are for backend services"},
				"no type":      {url.Values{"name": {"X"}, "redirectUris": {"https://a.example.org/cb"}, "preset": {"patient"}}, "type", "Choose how the app signs in"},
			} {
				t.Run(name, func(t *testing.T) {
					root.get("/admin/apps")
					r := root.post("/admin/apps", c.form)
					wantStatus(t, r, http.StatusBadRequest)
					wantBody(t, r, `id="`+c.field+`-error">`, c.msg, `aria-describedby="`)
					if c.field != "type" && c.field != "preset" {
						wantBody(t, r, `aria-invalid="true"`)
					}
					if n := len(e.clients()); n != 2 {
						t.Errorf("%d clients after a refused form", n)
					}
				})
			}

			// Others may not register or remove; an organization
			// administrator sees the list only.
			e.user("orgadmin", auth.RoleAdmin)
			oa := e.browser()
			oa.login("orgadmin")
			v := oa.get("/admin/apps")
			wantStatus(t, v, http.StatusOK)
			wantBody(t, v, "Growth charts", "Only a system administrator may register")
			if strings.Contains(v.body, "Register app") || strings.Contains(v.body, "/remove") {
				t.Error("an organization administrator is offered registration or removal")
			}
			e.user("drx", auth.RolePhysician)
			doc := e.browser()
			doc.login("drx")
			wantStatus(t, doc.get("/admin/apps"), http.StatusForbidden)
			for _, b := range []*browser{oa, doc} {
				b.get("/")
				wantStatus(t, b.post("/admin/apps", url.Values{"name": {"Evil"}, "redirectUris": {"https://evil.example.org/cb"}, "type": {"secret"}, "preset": {"clinician"}}), http.StatusForbidden)
				wantStatus(t, b.post("/admin/apps/"+conf.ID+"/remove", url.Values{}), http.StatusForbidden)
			}
			if n := len(e.clients()); n != 2 {
				t.Fatalf("%d clients after refused requests", n)
			}

			// Removal, after confirmation.
			c := root.get("/admin/apps/" + conf.ID + "/remove")
			wantBody(t, c, "Remove Decision support?", "revokes every access and refresh token")
			r = root.post("/admin/apps/"+conf.ID+"/remove", url.Values{})
			wantStatus(t, r, http.StatusSeeOther)
			wantBody(t, root.get(r.location()), "Decision support was removed")
			if cs := e.clients(); len(cs) != 1 || cs[0].Name != "Growth charts" {
				t.Errorf("after removal: %+v", cs)
			}
			wantStatus(t, root.get("/admin/apps/"+conf.ID+"/remove"), http.StatusNotFound)
			if st := tokenStatus(t, e, conf.ID, secret); st != http.StatusUnauthorized {
				t.Errorf("a removed client's secret: %d", st)
			}
		})
	}
}

// tokenStatus posts an introspection request authenticated with a
// client secret: 200 when the secret is right, 401 when not.
func tokenStatus(t *testing.T, e *env, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/introspect", strings.NewReader("token=unknown"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var requestFieldRE = regexp.MustCompile(`name="request" value="([^"]+)"`)

func TestEHRLaunch(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	c, _, err := e.doors.SMART.RegisterClient(context.Background(), smart.ClientSpec{Name: "Risk calculator",
		RedirectURIs: []string{"https://risk.example.org/cb"}, Public: true, LaunchURL: "https://risk.example.org/launch?v=2",
		Scopes: []string{"launch", "openid", "fhirUser", "patient/*.rs"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.doors.SMART.RegisterClient(context.Background(), smart.ClientSpec{Name: "No launch",
		RedirectURIs: []string{"https://x.example.org/cb"}, Public: true, Scopes: []string{"launch/patient", "patient/*.rs"}}); err != nil {
		t.Fatal(err)
	}
	e.user("drlaunch", auth.RolePhysician)
	doc := e.browser()
	doc.login("drlaunch")

	wantBody(t, doc.get("/patients/zoe"), `href="/patients/zoe/launch"`)
	menu := doc.get("/patients/zoe/launch")
	wantStatus(t, menu, http.StatusOK)
	wantBody(t, menu, "Launch an app for Zoë Müller", `action="/patients/zoe/launch/`+c.ID+`"`, "Launch Risk calculator")
	if strings.Contains(menu.body, "No launch") {
		t.Error("an app without a launch URL is offered")
	}

	r := doc.post("/patients/zoe/launch/"+c.ID, url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	loc, err := url.Parse(r.location())
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://risk.example.org/launch" || loc.Query().Get("v") != "2" {
		t.Fatalf("launch went to %s", r.location())
	}
	iss, launch := loc.Query().Get("iss"), loc.Query().Get("launch")
	if iss != e.srv.URL+"/fhir" || launch == "" {
		t.Fatalf("iss %q launch %q", iss, launch)
	}

	// The app's authorization request with the launch reaches the
	// consent page without the patient picker, and the token response
	// carries the patient.
	verifier := "a-verifier-of-enough-length-0123456789-abcdefghij"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://risk.example.org/cb"},
		"scope": {"launch openid fhirUser patient/*.rs"}, "state": {"s1"}, "aud": {iss}, "launch": {launch},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	a := doc.get("/oauth/authorize?" + q.Encode())
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/oauth/consent") {
		t.Fatalf("authorize with the launch: %d %s", a.status, a.location())
	}
	consent := doc.get(a.location())
	wantBody(t, consent, "Risk calculator")
	m := requestFieldRE.FindStringSubmatch(consent.body)
	if m == nil {
		t.Fatalf("consent page:\n%s", consent.body)
	}
	back := doc.post("/oauth/consent", url.Values{"request": {m[1]}, "decision": {"approve"}})
	cb, _ := url.Parse(back.location())
	if cb == nil || cb.Query().Get("code") == "" {
		t.Fatalf("consent: %d %s", back.status, back.location())
	}
	resp, err := http.PostForm(e.srv.URL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {"https://risk.example.org/cb"}, "client_id": {c.ID}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != http.StatusOK || tok["patient"] != "zoe" || tok["need_patient_banner"] != false {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}

	// Unknown app, app without a launch URL, patient not visible,
	// non-clinician.
	doc.get("/patients/zoe/launch")
	wantStatus(t, doc.post("/patients/zoe/launch/nope", url.Values{}), http.StatusNotFound)
	wantStatus(t, doc.post("/patients/zara/launch/"+c.ID, url.Values{}), http.StatusNotFound)
	wantStatus(t, doc.get("/patients/zara/launch"), http.StatusNotFound)
	e.user("desk", auth.RoleFrontDesk)
	desk := e.browser()
	desk.login("desk")
	wantStatus(t, desk.get("/patients/zoe/launch"), http.StatusForbidden)
	desk.get("/")
	wantStatus(t, desk.post("/patients/zoe/launch/"+c.ID, url.Values{}), http.StatusForbidden)
}

// adminShot saves a screenshot into test-output/web/admin/.
func adminShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(outputDir(t), "admin"), 0o755); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join("admin", name))
}

func TestBrowserAdminApps(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.patients()
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: "root", DisplayName: "Root Test", SystemAdmin: true}, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.doors.SMART.RegisterClient(context.Background(), smart.ClientSpec{Name: "Growth charts",
		RedirectURIs: []string{"https://growth.example.org/cb"}, Public: true, LaunchURL: "https://growth.example.org/launch",
		Scopes: []string{"launch", "openid", "fhirUser", "user/*.rs"}}); err != nil {
		t.Fatal(err)
	}

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login?next=/admin/apps"))
	signIn(t, ctx, "root", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#name`)))
	checkA11y(t, ctx, "SMART apps")

	// A form with mistakes: the errors are next to their fields.
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#redirectUris`), "growth.example.org/cb"),
		chromedp.Click(chromedp.CSS(`#type-jwks`)),
		chromedp.SetValue(chromedp.CSS(`#jwks`), `{"keys": [`),
	)
	click(t, ctx, `form[action="/admin/apps"] button[type=submit]`)
	for _, f := range []string{"name", "redirectUris", "jwks"} {
		if msg := text(t, ctx, "#"+f+"-error"); msg == "" {
			t.Errorf("no error next to %s", f)
		}
	}
	checkA11y(t, ctx, "SMART apps with errors")
	adminShot(t, ctx, "apps-errors")

	// A confidential app with a secret.
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#name`), "Decision support"),
		chromedp.SetValue(chromedp.CSS(`#redirectUris`), "https://cds.example.org/cb"),
		chromedp.SetValue(chromedp.CSS(`#launchUrl`), "https://cds.example.org/launch"),
		chromedp.Click(chromedp.CSS(`#type-secret`)),
		chromedp.Click(chromedp.CSS(`#preset-clinician`)),
	)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.querySelector("#jwks").value = ""`)); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `form[action="/admin/apps"] button[type=submit]`)
	if secret := text(t, ctx, `#client-secret`); len(secret) < 32 {
		t.Errorf("secret %q", secret)
	}
	if rows := text(t, ctx, `main table tbody`); !strings.Contains(rows, "Decision support") || !strings.Contains(rows, "Growth charts") {
		t.Errorf("the list: %q", rows)
	}
	checkA11y(t, ctx, "SMART apps after registration")
	adminShot(t, ctx, "apps")

	// The removal's confirmation.
	click(t, ctx, `main table tbody tr:first-child a[href$="/remove"]`)
	checkA11y(t, ctx, "remove an app")
	adminShot(t, ctx, "apps-remove")
	click(t, ctx, `main form button.danger`)
	if rows := text(t, ctx, `main table tbody`); strings.Contains(rows, "Decision support") {
		t.Errorf("removed app still listed: %q", rows)
	}

	// The chart's app menu, for a clinician.
	e.user("drapps", auth.RolePhysician)
	ctx2 := chrome(t)
	do(t, ctx2, chromedp.Navigate(e.srv.URL+"/login?next=/patients/zoe"))
	signIn(t, ctx2, "drapps", testPassword)
	do(t, ctx2, chromedp.WaitVisible(chromedp.CSS(`.banner-launch a[href$="/launch"]`)))
	checkA11y(t, ctx2, "chart with the Launch app control")
	adminShot(t, ctx2, "chart-banner")
	click(t, ctx2, `.banner-launch a[href$="/launch"]`)
	if h := text(t, ctx2, `main h1`); !strings.Contains(h, "Zoë Müller") {
		t.Errorf("launch page heading %q", h)
	}
	checkA11y(t, ctx2, "launch an app")
	adminShot(t, ctx2, "launch")
}
