package smart_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/smart"
)

const (
	chromiumPath = "/usr/bin/chromium"
	fhirClientJS = "../../testdata/npm/node_modules/fhirclient/build/fhir-client.min.js"
)

// needBrowser skips the test when Chromium or the fhirclient library is
// missing, unless it runs in CI, where that is a failure.
func needBrowser(t *testing.T) []byte {
	t.Helper()
	_, errChrome := os.Stat(chromiumPath)
	js, errJS := os.ReadFile(fhirClientJS)
	if errChrome == nil && errJS == nil {
		return js
	}
	msg := fmt.Sprintf("the fhirclient test needs %s and %s (scripts/test.sh installs both): %v %v", chromiumPath, fhirClientJS, errChrome, errJS)
	if v := os.Getenv("CI"); v != "" && v != "false" && v != "0" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return nil
}

// The page the app is launched at: fhirclient discovers the endpoints from
// the FHIR base and sends the browser to the authorization endpoint, with
// PKCE required.
const launchHTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Launch</title>
<script src="/fhir-client.js"></script></head><body><p>Launching…</p>
<script>
FHIR.oauth2.authorize({
  clientId: %q,
  scope: "launch/patient openid fhirUser patient/*.rs offline_access",
  iss: %q,
  redirectUri: %q,
  pkceMode: "required"
});
</script></body></html>`

// The page the authorization server sends the user back to: fhirclient
// exchanges the code, then the app reads the patient and their
// observations through the FHIR API.
const indexHTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title>
<script src="/fhir-client.js"></script></head><body>
<p id="status">loading</p><p id="name"></p><p id="obs"></p><p id="user"></p>
<script>
FHIR.oauth2.ready().then(async function (client) {
  const p = await client.patient.read();
  const n = p.name[0];
  document.getElementById("name").textContent = n.given.join(" ") + " " + n.family;
  const b = await client.request("Observation?patient=" + client.patient.id);
  document.getElementById("obs").textContent = (b.entry || []).map(function (e) {
    return e.resource.code.text + ": " + e.resource.valueQuantity.value;
  }).join("; ");
  document.getElementById("user").textContent = client.getFhirUser() || "";
  document.getElementById("status").textContent = "done";
}).catch(function (e) {
  document.getElementById("status").textContent = "error: " + e;
});
</script></body></html>`

// TestFHIRClientStandaloneLaunch: the npm fhirclient library completes a
// standalone launch with PKCE in headless Chromium, a clinician choosing
// the patient in the picker and approving the consent screen, and reads
// the patient's data through the FHIR API with the token it got.
func TestFHIRClientStandaloneLaunch(t *testing.T) {
	t.Parallel()
	js := needBrowser(t)
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, cfg(t))
			appSrv := httptest.NewServer(nil)
			t.Cleanup(appSrv.Close)
			c, _ := e.register(smart.ClientSpec{Name: "Chart Viewer", Public: true, RedirectURIs: []string{appSrv.URL + "/index.html"},
				Scopes: []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"}})
			mux := http.NewServeMux()
			mux.HandleFunc("/fhir-client.js", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/javascript")
				w.Write(js)
			})
			mux.HandleFunc("/launch.html", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, launchHTML, c.ID, e.url+"/fhir", appSrv.URL+"/index.html")
			})
			mux.HandleFunc("/index.html", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, indexHTML)
			})
			appSrv.Config.Handler = mux

			session, _ := e.login("house")
			ctx := chrome(t)
			do(t, ctx, "opening the server", chromedp.Navigate(e.url+"/.well-known/smart-configuration"))
			httpOnly := true
			if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: auth.SessionCookie, Value: session,
				URL: e.url, Path: "/", HTTPOnly: &httpOnly}); err != nil {
				t.Fatalf("setting the session cookie: %v", err)
			}
			do(t, ctx, "launching the app", chromedp.Navigate(appSrv.URL+"/launch.html"),
				chromedp.WaitVisible(chromedp.CSS(`form[role=search] #name`)))
			do(t, ctx, "searching the picker by name",
				chromedp.SetValue(chromedp.CSS(`form[role=search] #name`), "Babbage"),
				chromedp.Click(chromedp.CSS(`form[role=search] button`)),
				chromedp.WaitVisible(chromedp.CSS(`#patient-p2`)))
			do(t, ctx, "choosing the patient",
				chromedp.Click(chromedp.CSS(`#patient-p2`)),
				chromedp.Click(chromedp.CSS(`#choose`)),
				chromedp.WaitVisible(chromedp.CSS(`#approve`)))
			consent := text(t, ctx, "main")
			if !strings.Contains(consent, "Charles Babbage") || !strings.Contains(consent, "Read, search all kinds of data of the selected patient") {
				t.Errorf("consent screen:\n%s", consent)
			}
			do(t, ctx, "approving", chromedp.Click(chromedp.CSS(`#approve`)))
			// The app may navigate once more while it settles (fhirclient
			// drops the code from the address), so poll across navigations.
			deadline := time.Now().Add(30 * time.Second)
			for {
				done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { const s = document.getElementById("status"); return !!s && s.textContent !== "loading"; })()`))
				if err == nil && done {
					break
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					t.Fatalf("waiting for the app: %v (at %s)", err, location(ctx))
				}
				time.Sleep(50 * time.Millisecond)
			}
			if status := text(t, ctx, "#status"); status != "done" {
				t.Fatalf("the app says %q", status)
			}
			name, obs, user := text(t, ctx, "#name"), text(t, ctx, "#obs"), text(t, ctx, "#user")
			if name != "Charles Babbage" || obs != "Heart rate: 90" {
				t.Errorf("the app shows name %q, observations %q", name, obs)
			}
			if user != "Practitioner/dr1" && !strings.HasSuffix(user, "/Practitioner/dr1") {
				t.Errorf("fhirUser = %q", user)
			}
		})
	}
}

// chrome starts a headless Chromium for one test and returns a tab's context.
func chrome(t *testing.T) context.Context {
	t.Helper()
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
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v (at %s)\n%s", step, err, location(ctx), html)
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
	return strings.TrimSpace(s)
}
