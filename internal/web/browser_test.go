package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/openchart/openchart/internal/auth"
)

// The browser tests drive Debian's Chromium, headless, through the
// DevTools protocol: sign-in with a second factor, lockout, a form posted
// from another site, and the idle sign-out. Each page they visit is checked
// with axe-core and screenshotted into the test-output folder.

const chromiumPath = "/usr/bin/chromium"

// inCI reports whether the tests run in continuous integration, where a
// missing browser or axe-core is a failure, not a reason to skip.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// The tests share one Chromium, started by the first browser test; each
// test works in a browser context of its own (its own cookies).
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's context
	cancel  func()
	err     error
	started time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

func startChromium() {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	}
	dir, err := os.MkdirTemp("", "openchart-chromium-")
	if err != nil {
		shared.err = err
		return
	}
	opts = append(opts, chromedp.UserDataDir(dir)) // a fresh profile
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	start := time.Now()
	shared.err = chromedp.Do(ctx) // starts the browser
	shared.started = time.Since(start)
	shared.ctx = ctx
	shared.cancel = func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(dir)
	}
}

// chrome returns the context of a tab in a fresh browser context of the
// shared Chromium.
func chrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if inCI() {
			t.Fatalf("browser tests need %s (scripts/test.sh installs Debian's chromium): %v", chromiumPath, err)
		}
		t.Skipf("skipping: browser tests need %s (apt-get install chromium, or run scripts/test.sh)", chromiumPath)
	}
	shared.once.Do(startChromium)
	if shared.err != nil {
		t.Fatalf("starting chromium: %v", shared.err)
	}
	ctx, cancelTab := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	// A bound against a hung browser, not a performance check: the longest
	// walk-throughs take a minute on a loaded two-core machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v (at %s)", err, location(ctx))
	}
}

func location(ctx context.Context) string {
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v (at %s)", sel, err, location(ctx))
	}
	return s
}

// outputDir is where screenshots go: $OPENCHART_TEST_OUTPUT, else the
// repository's git-ignored test-output folder.
func outputDir(t *testing.T) string {
	dir := os.Getenv("OPENCHART_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-output")
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(outputDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// axePath is axe-core as scripts/test.sh installs it from npm.
var axePath = filepath.Join("..", "..", "testdata", "npm", "node_modules", "axe-core", "axe.min.js")

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkA11y runs axe-core on the current page and fails the test on any
// serious or critical violation (WCAG 2.1 A and AA rules).
func checkA11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		if inCI() {
			t.Fatalf("axe-core is missing (%s): scripts/test.sh installs it with npm: %v", axePath, err)
		}
		t.Logf("accessibility check of %s skipped: %s is not installed (run npm ci in testdata/npm)", page, axePath)
		return
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(src)+";0")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(" "))}))))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility (%s) %s: %s at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("%s: accessibility (%s) %s: %s at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// signIn fills the sign-in form, submits it and waits for the next page.
func signIn(t *testing.T, ctx context.Context, username, password string) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SetValue(chromedp.CSS(`#username`), username),
		chromedp.SetValue(chromedp.CSS(`#password`), password),
	)
	click(t, ctx, `form[action="/login"] button[type=submit]`)
}

// click clicks an element that loads another page, and waits until the
// new page has loaded.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.documentElement.dataset.old = "1"`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.documentElement.dataset.old`))
		if err == nil && done {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("waiting for the page after clicking %s: %v", sel, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBrowserSignInWithTOTP(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.patients()
	e.user("alice", auth.RolePhysician, auth.RoleAdmin)
	base := e.srv.URL

	do(t, ctx, chromedp.Navigate(base+"/"))
	if l := location(ctx); !strings.Contains(l, "/login?next=%2F") {
		t.Fatalf("the home page without a session went to %s", l)
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#username`)))
	checkA11y(t, ctx, "login")
	screenshot(t, ctx, "login")

	// A wrong password first: the message is announced next to the form.
	signIn(t, ctx, "alice", "not the password")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#form-error`)))
	if msg := text(t, ctx, `#form-error`); !strings.HasPrefix(msg, "Wrong username or password.") {
		t.Errorf("message %q", msg)
	}
	checkA11y(t, ctx, "login with an error")
	screenshot(t, ctx, "login-error")

	// Sign in and enrol the second factor.
	signIn(t, ctx, "alice", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)),
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/totp"] button`)))
	checkA11y(t, ctx, "account")
	screenshot(t, ctx, "account")
	click(t, ctx, `form[action="/account/totp"] button`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`img.qr`)))
	checkA11y(t, ctx, "TOTP enrolment")
	screenshot(t, ctx, "totp-enrolment")
	secret := strings.TrimSpace(text(t, ctx, `#secret`))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#code`), code))
	click(t, ctx, `form[action="/account/totp/confirm"] button`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#recovery-codes`)))
	checkA11y(t, ctx, "recovery codes")
	screenshot(t, ctx, "recovery-codes")

	// Sign out through the user menu, then in again with password + code.
	do(t, ctx, chromedp.Click(chromedp.CSS(`details.menu summary`)))
	click(t, ctx, `details.menu form[action="/logout"] button`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#username`)))
	if flash := text(t, ctx, `.flash`); flash != "You are signed out." {
		t.Errorf("after signing out: %q", flash)
	}
	signIn(t, ctx, "alice", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[action="/login/verify"] #code`)))
	checkA11y(t, ctx, "second factor")
	screenshot(t, ctx, "second-factor")
	// The enrolment used the current 30-second step, and a code is good
	// once: answer with the next step's code (the service accepts one step
	// of clock drift).
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#code`), code))
	click(t, ctx, `form[action="/login/verify"] button`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)))
	if l := location(ctx); l != base+"/" {
		t.Errorf("after the second factor: %s", l)
	}
	checkA11y(t, ctx, "home")
	screenshot(t, ctx, "home")

	// Search: part of the name, without its accent.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#name`), "muller"))
	click(t, ctx, `form[role=search] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`section.results`)))
	results := text(t, ctx, `section.results`)
	if !strings.Contains(results, "Müller, Zoë") || !strings.Contains(results, "MRN-1001") {
		t.Errorf("results: %q", results)
	}
	if strings.Contains(results, "Müllerová") {
		t.Errorf("a patient of another organization was found: %q", results)
	}
	checkA11y(t, ctx, "search results")
	screenshot(t, ctx, "search")

	// Administration pages.
	for _, p := range []struct{ path, wait, name string }{
		{"/admin/users", `table`, "admin-users"},
		{"/admin/users/new", `#username`, "admin-new-user"},
		{"/admin/audit", `table.audit`, "admin-audit"},
		{"/patients/zara/break-glass", `#reason`, "break-glass"},
	} {
		do(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		checkA11y(t, ctx, p.name)
		screenshot(t, ctx, p.name)
	}
	if audit := text(t, ctx, `body`); audit == "" {
		t.Error("empty page")
	}
	do(t, ctx, chromedp.Navigate(base+"/admin/audit?user=alice&action=E"), chromedp.WaitVisible(chromedp.CSS(`table.audit`)))
	if rows := text(t, ctx, `table.audit tbody`); !strings.Contains(rows, "login") || !strings.Contains(rows, "alice") {
		t.Errorf("the audit report lacks alice's sign-ins: %q", rows)
	}
	// A narrow (tablet portrait) window.
	if _, err := chromedp.Run(ctx, chromedp.Legacy(emulateWidth(768))); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/?name=mull"), chromedp.WaitVisible(chromedp.CSS(`section.results`)))
	screenshot(t, ctx, "search-tablet")
}

func TestBrowserLockout(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.user("bob", auth.RoleNurse)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login"))
	for i := range 5 {
		signIn(t, ctx, "bob", fmt.Sprintf("wrong password %d", i))
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#form-error`)))
	}
	signIn(t, ctx, "bob", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#form-error`)))
	msg := text(t, ctx, `#form-error`)
	if !strings.Contains(msg, "locked for 15 minutes") {
		t.Errorf("the sixth attempt says %q", msg)
	}
	if l := location(ctx); !strings.HasSuffix(l, "/login") {
		t.Errorf("the sixth attempt went to %s", l)
	}
	screenshot(t, ctx, "lockout")
	// Still signed out.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS(`#username`)))
}

func TestBrowserCSRFFromAnotherSite(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.user("admin1", auth.RoleAdmin)
	// Another site's page that posts a form to the application as soon as
	// it loads: it would create an administrator if the form were taken.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body>
<form id="f" method="post" action="%s/admin/users">
<input name="username" value="mallory"><input name="displayName" value="Mallory">
<input name="roles-0" value="admin"><input name="password" value="a long enough password">
<input name="confirm" value="a long enough password"><input name="csrf" value="guess">
</form><script>document.getElementById("f").submit()</script></body></html>`, e.srv.URL)
	}))
	defer evil.Close()

	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login"))
	signIn(t, ctx, "admin1", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)),
		chromedp.Navigate(evil.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if l := location(ctx); l != e.srv.URL+"/admin/users" {
		t.Fatalf("the form did not reach the application: %s", l)
	}
	if h := text(t, ctx, `main h1`); h != "Request refused" {
		t.Errorf("the posted form got %q", h)
	}
	screenshot(t, ctx, "csrf-refused")
	if _, err := e.auth.UserByName(operator(), "mallory"); err == nil {
		t.Fatal("the other site's form created a user")
	}
	// The session is intact.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	if !strings.Contains(e.logs.String(), "CSRF check failed") {
		t.Error("the refusal was not logged")
	}
}

func TestBrowserIdleSignOut(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{idleTimeout: 3 * time.Second})
	e.user("ivy", auth.RoleNurse)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/login"))
	signIn(t, ctx, "ivy", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)))
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var old *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == auth.SessionCookie {
			old = c
		}
	}
	if old == nil || !old.HTTPOnly {
		t.Fatalf("session cookie %+v", old)
	}
	// Nobody touches the page: it signs itself out.
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if l := location(ctx); l != e.srv.URL+"/login?reason=idle" {
		t.Errorf("after the idle period: %s", l)
	}
	if msg := text(t, ctx, `.notice`); msg != "You were signed out after 3 seconds of inactivity." {
		t.Errorf("notice %q", msg)
	}
	checkA11y(t, ctx, "idle sign-out")
	screenshot(t, ctx, "idle-signed-out")
	// The old cookie opens nothing any more.
	req, _ := http.NewRequest("GET", e.srv.URL+"/account", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: old.Value})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the old cookie got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
