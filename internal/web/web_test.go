package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/store"
)

func TestHeadersAndErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	r := b.get("/login")
	wantStatus(t, r, http.StatusOK)
	for k, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := r.header.Get(k); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q in it", k, got, want)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows more scripts than the server's own: %s", csp)
	}
	if strings.Contains(r.body, "<script>") {
		t.Error("the page has an inline script")
	}
	wantBody(t, r, `<label for="username">Username</label>`, `<main id="main"`, `class="skip" href="#main"`)

	r = b.get("/no/such/page")
	wantStatus(t, r, http.StatusNotFound)
	wantBody(t, r, "Not found", "There is no page at this address.")

	r = b.get("/static/app.css")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet served as %q", ct)
	}
	wantStatus(t, b.get("/static/"), http.StatusNotFound)
}

func TestSignInRequired(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	for _, path := range []string{"/", "/account", "/admin/users", "/admin/audit", "/patients/zoe/break-glass"} {
		r := b.get(path)
		wantStatus(t, r, http.StatusSeeOther)
		if want := "/login?next=" + url.QueryEscape(path); r.location() != want {
			t.Errorf("GET %s went to %q, want %q", path, r.location(), want)
		}
	}
	// A session cookie that names no session: the user is told it ended.
	u, _ := url.Parse(e.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: "forged"}})
	r := b.get("/account")
	if !strings.Contains(r.location(), "reason=expired") {
		t.Errorf("a dead session went to %q", r.location())
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.user("alice", auth.RolePhysician)
	b := e.browser()

	t.Run("wrong password and unknown user say the same", func(t *testing.T) {
		b.get("/login")
		r1 := b.post("/login", url.Values{"username": {"alice"}, "password": {"not the password"}})
		r2 := b.post("/login", url.Values{"username": {"nobody"}, "password": {"not the password"}})
		wantStatus(t, r1, http.StatusUnauthorized)
		wantStatus(t, r2, http.StatusUnauthorized)
		wantBody(t, r1, "Wrong username or password.", `role="alert"`)
		if msg := alertOf(r1.body); msg == "" || msg != alertOf(r2.body) {
			t.Errorf("messages differ: %q and %q", alertOf(r1.body), alertOf(r2.body))
		}
	})
	t.Run("empty fields", func(t *testing.T) {
		r := b.post("/login", url.Values{"username": {""}, "password": {""}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `aria-describedby="username-error"`, `id="username-error">Enter your username.`)
	})
	t.Run("no open redirect", func(t *testing.T) {
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
			c := e.browser()
			c.get("/login")
			r := c.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {next}})
			wantStatus(t, r, http.StatusSeeOther)
			if r.location() != "/" {
				t.Errorf("next=%q redirected to %q", next, r.location())
			}
		}
	})
	t.Run("back to next", func(t *testing.T) {
		c := e.browser()
		c.get("/login?next=%2Faccount")
		r := c.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"/account"}})
		if r.location() != "/account" {
			t.Fatalf("went to %q", r.location())
		}
		wantStatus(t, c.get("/account"), http.StatusOK)
		if got := c.get("/login"); got.status != http.StatusSeeOther {
			t.Errorf("a signed-in user on /login: %d", got.status)
		}
	})
}

func TestLockout(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.user("bob", auth.RoleNurse)
	b := e.browser()
	b.get("/login")
	for i := 0; i < 5; i++ {
		r := b.post("/login", url.Values{"username": {"bob"}, "password": {"wrong password " + string(rune('a'+i))}})
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r := b.post("/login", url.Values{"username": {"bob"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusUnauthorized)
	wantBody(t, r, "locked for 15 minutes")
	if strings.Contains(r.header.Get("Set-Cookie"), auth.SessionCookie+"=") {
		t.Error("a locked account got a session cookie")
	}
	wantStatus(t, b.get("/account"), http.StatusSeeOther)
}

func TestCSRF(t *testing.T) {
	onStores(t, testCSRF)
}

func testCSRF(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.user("admin1", auth.RoleAdmin)
	b := e.browser()
	b.login("admin1")
	b.get("/admin/users/new")
	create := func(name string) url.Values {
		return url.Values{"username": {name}, "displayName": {"X"}, "rows": {"1"}, "roles-0": {"nurse"}}
	}
	cases := []struct {
		name   string
		origin string
		form   url.Values
	}{
		{"no token", b.origin, func() url.Values { v := create("eve1"); v.Set("csrf", ""); return v }()},
		{"wrong token", b.origin, func() url.Values { v := create("eve2"); v.Set("csrf", "x"+b.csrf); return v }()},
		{"other origin", "http://evil.example", create("eve3")},
		{"no origin nor referer", "", create("eve4")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.origin = c.origin
			defer func() { b.origin = e.srv.URL }()
			r := b.post("/admin/users", c.form)
			wantStatus(t, r, http.StatusForbidden)
			wantBody(t, r, "Request refused", "Nothing was changed")
			users, err := e.auth.ListUsers(operator(), auth.UserQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				if strings.HasPrefix(u.Username, "eve") {
					t.Errorf("user %s was created", u.Username)
				}
			}
		})
	}
	if !strings.Contains(e.logs.String(), "CSRF check failed") {
		t.Error("refusals are not logged")
	}
	// The right token from the right origin works.
	b.get("/admin/users/new")
	r := b.post("/admin/users", create("carol"))
	wantStatus(t, r, http.StatusSeeOther)
	// Sign-in forms are protected too (the pre-session token).
	c := e.browser()
	r = c.post("/login", url.Values{"username": {"admin1"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusForbidden)
}

// alertOf returns the text of the form's alert.
func alertOf(body string) string {
	_, after, ok := strings.Cut(body, `role="alert" id="form-error">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(after, "<")
	return msg
}

func TestAdminPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.user("admin1", auth.RoleAdmin)
	e.user("nurse1", auth.RoleNurse)

	nurse := e.browser()
	nurse.login("nurse1")
	for _, p := range []string{"/admin/users", "/admin/audit", "/admin/users/new"} {
		r := nurse.get(p)
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, "This page is for administrators.")
	}
	r := nurse.post("/admin/users", url.Values{"username": {"mallory"}, "displayName": {"M"}, "rows": {"1"}, "roles-0": {"admin"}})
	wantStatus(t, r, http.StatusForbidden)
	if _, err := e.auth.UserByName(operator(), "mallory"); err == nil {
		t.Error("a nurse created a user")
	}

	admin := e.browser()
	admin.login("admin1")
	r = admin.get("/admin/users")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "nurse1", "admin1")

	// Create, with a bad field first.
	admin.get("/admin/users/new")
	r = admin.post("/admin/users", url.Values{"username": {"dana"}, "displayName": {"Dana Doc"}, "fhirUser": {"Doctor 5"},
		"roles-0": {"physician"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="fhirUser-error"`, "Practitioner/123")
	r = admin.post("/admin/users", url.Values{"username": {"dana"}, "displayName": {"Dana Doc"}, "fhirUser": {"Practitioner/5"},
		"roles-0": {"physician"}})
	wantStatus(t, r, http.StatusSeeOther)
	dana, err := e.auth.UserByName(operator(), "dana")
	if err != nil {
		t.Fatal(err)
	}
	if len(dana.Memberships) != 1 || dana.Memberships[0].Organization != e.org || dana.Memberships[0].Roles[0] != "physician" {
		t.Fatalf("memberships %+v", dana.Memberships)
	}
	// Edit the roles, disable.
	admin.get("/admin/users/" + dana.ID)
	r = admin.post("/admin/users/"+dana.ID, url.Values{"displayName": {"Dana Doc"}, "fhirUser": {"Practitioner/5"},
		"roles-0": {"physician", "nurse"}, "disabled": {"yes"}})
	wantStatus(t, r, http.StatusSeeOther)
	dana, _ = e.auth.GetUser(operator(), dana.ID)
	if !dana.Disabled || len(dana.Memberships[0].Roles) != 2 {
		t.Fatalf("after edit: %+v", dana)
	}
	// Re-enable and give a reset link; the link sets the password.
	admin.post("/admin/users/"+dana.ID, url.Values{"displayName": {"Dana Doc"}, "roles-0": {"physician"}})
	admin.get("/admin/users/" + dana.ID)
	r = admin.post("/admin/users/"+dana.ID+"/reset-link", url.Values{})
	wantStatus(t, r, http.StatusOK)
	_, after, _ := strings.Cut(r.body, `/reset?code=`)
	code, _, _ := strings.Cut(after, `"`)
	if code == "" {
		t.Fatalf("no reset link:\n%s", r.body)
	}
	code, _ = url.QueryUnescape(strings.ReplaceAll(code, "&amp;", "&"))
	anon := e.browser()
	anon.get("/reset?code=" + url.QueryEscape(code))
	r = anon.post("/reset", url.Values{"code": {code}, "password": {"short"}, "confirm": {"short"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="password-error"`)
	r = anon.post("/reset", url.Values{"code": {code}, "password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusSeeOther)
	r = anon.post("/reset", url.Values{"code": {code}, "password": {testPassword}, "confirm": {testPassword}})
	wantBody(t, r, "not valid any more")
	anon.login("dana")

	// The audit report shows dana's sign-in, and filters.
	r = admin.get("/admin/audit?user=dana&action=E")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "login (E)")
	if strings.Contains(r.body, "admin1</td>") {
		t.Error("the user filter let other users through")
	}
	// An organization's admin reads the entries of those acting for it:
	// not those of the operator ("test") who set the accounts up.
	r = admin.get("/admin/audit?sort=user&order=asc")
	wantBody(t, r, "Entries of everyone acting for", "admin1</td>")
	if strings.Contains(r.body, "<td>test</td>") {
		t.Error("an organization's admin sees the operator's entries")
	}
	if all, err := e.app.Repo.AuditReport(operator(), store.AuditQuery{User: "test"}); err != nil || len(all.Rows) == 0 {
		t.Errorf("the operator's entries the report leaves out: %v, %v", all, err)
	}
	r = admin.get("/admin/audit?from=yesterday")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="from-error"`)
	r = admin.get("/admin/audit?user=dana&outcome=4")
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, "login (E)") {
		t.Error("the outcome filter let successful sign-ins through")
	}
}

func TestTOTPSignIn(t *testing.T) {
	onStores(t, testTOTPSignIn)
}

func testTOTPSignIn(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.user("erin", auth.RolePhysician)
	b := e.browser()
	b.login("erin")
	b.get("/account")
	r := b.post("/account/totp", url.Values{})
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `src="data:image/png;base64,`)
	_, after, _ := strings.Cut(r.body, `id="secret">`)
	secret, _, _ := strings.Cut(after, "<")
	if secret == "" {
		t.Fatalf("no secret shown:\n%s", r.body)
	}
	r = b.post("/account/totp/confirm", url.Values{"code": {"000000"}, "secret": {secret}, "url": {"otpauth://totp/x"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="code-error"`)
	code, _ := totp.GenerateCode(secret, time.Now())
	r = b.post("/account/totp/confirm", url.Values{"code": {code}})
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Recovery codes", "shown only now")
	_, after, _ = strings.Cut(r.body, `<li><code>`)
	recovery, _, _ := strings.Cut(after, "<")

	// Sign out, and in again with the second factor.
	b.get("/account")
	wantStatus(t, b.post("/logout", url.Values{}), http.StatusSeeOther)
	wantStatus(t, b.get("/account"), http.StatusSeeOther)
	b.get("/login")
	r = b.post("/login", url.Values{"username": {"erin"}, "password": {testPassword}, "next": {"/account"}})
	wantStatus(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location(), "/login/verify") {
		t.Fatalf("went to %q", r.location())
	}
	b.get(r.location())
	r = b.post("/login/verify", url.Values{"code": {"123456"}, "next": {"/account"}})
	wantStatus(t, r, http.StatusUnauthorized)
	wantBody(t, r, "This code is not right")
	r = b.post("/login/verify", url.Values{"code": {recovery}, "next": {"/account"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.location() != "/account" {
		t.Fatalf("went to %q", r.location())
	}
	r = b.get("/account")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "An authenticator app is set up")
}

// onStores runs a test on the embedded store and on PostgreSQL.
func onStores(t *testing.T, test func(t *testing.T, o envOptions)) {
	t.Run("sqlite", func(t *testing.T) { test(t, envOptions{}) })
	t.Run("postgres", func(t *testing.T) { test(t, envOptions{db: pgURL(t)}) })
}

func TestPatientSearch(t *testing.T) {
	onStores(t, func(t *testing.T, o envOptions) {
		e := newEnv(t, o)
		e.patients()
		e.user("fay", auth.RolePhysician)
		b := e.browser()
		b.login("fay")
		cases := []struct {
			query     string
			want, not []string
		}{
			{"name=mull", []string{"Müller, Zoë", "1984-03-27", "female", "MRN-1001"}, []string{"Haddad", "Müllerová"}},
			{"name=zoe", []string{"Müller, Zoë"}, []string{"Haddad"}},
			{"birthdate=1950-11-02", []string{"Haddad, Omar"}, []string{"Müller"}},
			{"mrn=MRN-1001", []string{"Müller, Zoë"}, []string{"Haddad"}},
			{"phone=555-0101", []string{"Müller, Zoë"}, []string{"Haddad"}},
			{"name=nobody", []string{"No patient found."}, []string{"Müller", "Haddad"}},
		}
		for _, c := range cases {
			r := b.get("/?" + c.query)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, c.want...)
			for _, n := range c.not {
				if strings.Contains(r.body, n) {
					t.Errorf("%s: found %q", c.query, n)
				}
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", c.query, r.header.Get("Cache-Control"))
			}
		}
		r := b.get("/?birthdate=27.03.1984")
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `id="birthdate-error"`, "YYYY-MM-DD")
		// The searches are in the audit trail, as fay's.
		page, err := e.app.Repo.AuditReport(operator(), store.AuditQuery{User: "fay", Patient: "zoe"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) == 0 {
			t.Error("the searches are not audited as fay's")
		}
	})
}

func TestBreakGlass(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.patients()
	e.user("gil", auth.RolePhysician)
	e.user("hal", auth.RoleFrontDesk)

	hal := e.browser()
	hal.login("hal")
	r := hal.get("/patients/zoe/break-glass")
	wantStatus(t, r, http.StatusForbidden)
	wantBody(t, r, "Only physicians and nurses")

	gil := e.browser()
	gil.login("gil")
	// zara is a patient of another organization: not found before.
	r = gil.get("/?name=mullerova")
	wantBody(t, r, "No patient found.")
	r = gil.get("/patients/zara/break-glass?next=%2F%3Fname%3Dmullerova")
	wantStatus(t, r, http.StatusOK)
	r = gil.post("/patients/zara/break-glass", url.Values{"reason": {"short"}, "next": {"/?name=mullerova"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="reason-error"`, `id="confirm-error"`)
	r = gil.post("/patients/zara/break-glass", url.Values{"reason": {"Unconscious in the waiting room"}, "confirm": {"yes"}, "next": {"/?name=mullerova"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.location() != "/?name=mullerova" {
		t.Errorf("went to %q", r.location())
	}
	gilUser, _ := e.auth.UserByName(operator(), "gil")
	grants, err := e.auth.Grants(operator(), gilUser.ID)
	if err != nil || len(grants) != 1 || grants[0].Patient != "zara" {
		t.Fatalf("grants %+v, %v", grants, err)
	}
	r = gil.get("/?name=mullerova")
	wantBody(t, r, "Emergency access to Patient/zara is open until", "Müllerová, Zara")
	wantStatus(t, gil.get("/patients/..%2Fx/break-glass"), http.StatusNotFound)
}

func TestSetup(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, created, err := e.auth.SetupCode(operator())
	if err != nil || !created {
		t.Fatalf("setup code: %v %v", created, err)
	}
	b := e.browser()
	b.get("/setup")
	r := b.post("/setup", url.Values{"code": {"wrong"}, "username": {"root"}, "displayName": {"Root"},
		"password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusBadRequest)
	r = b.post("/setup", url.Values{"code": {code}, "username": {"root"}, "displayName": {"Root"},
		"password": {testPassword}, "confirm": {"different"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="confirm-error"`)
	r = b.post("/setup", url.Values{"code": {code}, "username": {"root"}, "displayName": {"Root"},
		"password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusSeeOther)
	b.login("root")
	wantStatus(t, b.get("/admin/users"), http.StatusOK)
	// The code works once.
	c := e.browser()
	c.get("/setup")
	r = c.post("/setup", url.Values{"code": {code}, "username": {"root2"}, "displayName": {"Root"},
		"password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusBadRequest)
}

func TestAccount(t *testing.T) {
	e := newEnv(t, envOptions{idleTimeout: 10 * time.Minute})
	e.user("ivy", auth.RoleNurse)
	e.user("jon", auth.RoleNurse, auth.RoleAdmin)
	b := e.browser()
	b.login("ivy")
	other := e.browser()
	other.login("ivy")

	// Sign out the other session from this one.
	ivy, _ := e.auth.UserByName(operator(), "ivy")
	before, _ := e.auth.ListSessions(operator(), ivy.ID)
	third := e.browser()
	third.login("ivy")
	after, _ := e.auth.ListSessions(operator(), ivy.ID)
	var thirds string
	for _, a := range after {
		if !slices.ContainsFunc(before, func(b *auth.Session) bool { return b.ID == a.ID }) {
			thirds = a.ID
		}
	}
	if len(after) != 3 || thirds == "" {
		t.Fatalf("%d sessions, then %d", len(before), len(after))
	}
	r := b.get("/account")
	wantBody(t, r, `/revoke"`)
	r = b.post("/account/sessions/"+thirds+"/revoke", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, third.get("/account"), http.StatusSeeOther)
	wantStatus(t, other.get("/account"), http.StatusOK)

	r = b.get("/account")
	wantBody(t, r, "(this session)", `data-idle-seconds="600"`)
	r = b.post("/account/password", url.Values{"current": {"wrong wrong wrong"}, "password": {"a new long passphrase"}, "confirm": {"a new long passphrase"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="current-error"`)
	r = b.post("/account/password", url.Values{"current": {testPassword}, "password": {"a new long passphrase"}, "confirm": {"a new long passphrase"}})
	wantStatus(t, r, http.StatusSeeOther)

	b.get("/account")
	r = b.post("/account/logout-everywhere", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, other.get("/account"), http.StatusSeeOther)
	wantStatus(t, b.get("/account"), http.StatusSeeOther)

	// The idle sign-out's landing page.
	jon := e.browser()
	jon.login("jon")
	jon.get("/")
	r = jon.post("/logout", url.Values{"reason": {"idle"}})
	if r.location() != "/login?reason=idle" {
		t.Fatalf("went to %q", r.location())
	}
	r = jon.get(r.location())
	wantBody(t, r, "You were signed out after 10 minutes of inactivity.")
}

func TestSwitchOrganization(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, err := e.auth.CreateUser(operator(), auth.User{Username: "kim", DisplayName: "Kim",
		Memberships: []auth.Membership{{Organization: "Organization/a", Roles: []string{"nurse"}},
			{Organization: "Organization/b", Roles: []string{"physician"}}}}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(u.Username)
	r := b.get("/")
	wantBody(t, r, `<label for="org-switch">Acting for</label>`)
	r = b.post("/session/organization", url.Values{"organization": {"Organization/b"}, "next": {"/account"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = b.get("/patients/zoe/break-glass")
	wantStatus(t, r, http.StatusOK) // a physician in b
	r = b.post("/session/organization", url.Values{"organization": {"Organization/c"}, "next": {"/"}})
	wantStatus(t, r, http.StatusBadRequest)
}

func TestBehindProxy(t *testing.T) {
	e := newEnv(t, envOptions{proxies: 1})
	e.user("lee", auth.RoleNurse)
	b := e.browser()
	b.origin = "https://ehr.example.org"
	b.get("/login")
	// Without the proxy's headers the public origin is not this server.
	r := b.post("/login", url.Values{"username": {"lee"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusForbidden)
	// The proxy appended the address it saw (203.0.113.7) to the one the
	// client sent itself, which is not believed.
	b.header = http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"ehr.example.org"},
		"X-Forwarded-For": {"198.51.100.99, 203.0.113.7"}}
	r = b.post("/login", url.Values{"username": {"lee"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusSeeOther)
	lee, _ := e.auth.UserByName(operator(), "lee")
	sessions, err := e.auth.ListSessions(operator(), lee.ID)
	if err != nil || len(sessions) != 1 || sessions[0].Source != "203.0.113.7" {
		t.Fatalf("sessions %+v, %v", sessions, err)
	}
}

func TestSystemAdmin(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: "root", DisplayName: "Root", SystemAdmin: true}, testPassword); err != nil {
		t.Fatal(err)
	}
	e.user("orgadmin", auth.RoleAdmin)
	root := e.browser()
	root.login("root")
	root.get("/admin/users/new")
	// A membership row with roles but no organization is refused next to it.
	r := root.post("/admin/users", url.Values{"username": {"pat"}, "displayName": {"Pat"}, "rows": {"2"},
		"org-0": {"Organization/north"}, "roles-0": {"physician"}, "roles-1": {"nurse"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="org-1-error"`, "Name the organization")
	r = root.post("/admin/users", url.Values{"username": {"pat"}, "displayName": {"Pat"}, "rows": {"2"},
		"org-0": {"Organization/north"}, "roles-0": {"physician"}, "org-1": {"Organization/south"}, "roles-1": {"nurse", "admin"}})
	wantStatus(t, r, http.StatusSeeOther)
	pat, err := e.auth.UserByName(operator(), "pat")
	if err != nil {
		t.Fatal(err)
	}
	if len(pat.Memberships) != 2 || pat.Memberships[1].Organization != "Organization/south" || len(pat.Memberships[1].Roles) != 2 {
		t.Fatalf("memberships %+v", pat.Memberships)
	}
	// A system administrator lists everyone; an organization's
	// administrator only its members, and cannot open the others.
	wantBody(t, root.get("/admin/users"), ">pat<", ">orgadmin<")
	oa := e.browser()
	oa.login("orgadmin")
	r = oa.get("/admin/users")
	wantBody(t, r, ">orgadmin<")
	if strings.Contains(r.body, ">pat<") {
		t.Error("an organization administrator sees users of other organizations")
	}
	wantStatus(t, oa.get("/admin/users/"+pat.ID), http.StatusNotFound)
	r = oa.post("/admin/users/"+pat.ID, url.Values{"displayName": {"Pat"}, "roles-0": {"admin"}})
	wantStatus(t, r, http.StatusNotFound)
	if p, _ := e.auth.GetUser(operator(), pat.ID); len(p.Memberships) != 2 {
		t.Errorf("memberships changed: %+v", p.Memberships)
	}

	// The audit report: a system administrator reads every organization's
	// entries, with the organization of each, and may narrow them to one.
	r = root.get("/admin/audit?user=orgadmin")
	wantBody(t, r, "All entries", `name="organization"`, "<td>orgadmin</td><td>"+e.org+"</td>")
	r = root.get("/admin/audit?organization=Organization/elsewhere&user=orgadmin")
	wantBody(t, r, "No entries match.")
	r = root.get("/admin/audit?organization=" + url.QueryEscape(e.org))
	wantBody(t, r, "<td>orgadmin</td>")
	if strings.Contains(r.body, "<td>root</td>") {
		t.Error("the organization filter let the system administrator's own entries through")
	}
	// An organization's administrator has no such filter, and asking for
	// another organization's entries still gives its own.
	r = oa.get("/admin/audit?organization=Organization/south")
	wantBody(t, r, "Entries of everyone acting for", "<td>orgadmin</td>")
	if strings.Contains(r.body, `name="organization"`) || strings.Contains(r.body, "<td>root</td>") {
		t.Error("an organization's administrator got the organization filter or another organization's entries")
	}
}
