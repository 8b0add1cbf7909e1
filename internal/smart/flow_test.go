package smart_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/smart"
)

// exchange redeems a code at the token endpoint for a public client.
func (e *env) exchange(clientID, code, verifier string) (int, map[string]any) {
	return e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_id": {clientID}}, "", "")
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		verifier, challenge := pkce("abc")
		params := e.authorizeParams(c.ID, "launch/patient openid fhirUser offline_access patient/*.rs", challenge)
		params.Set("nonce", "n-1")
		back := b.authorize(params, "")
		if got := back.Query().Get("state"); got != "st-123" {
			t.Errorf("state = %q, want st-123", got)
		}
		code := back.Query().Get("code")
		if code == "" || !strings.HasPrefix(back.String(), redirectURI) {
			t.Fatalf("redirect back = %s", back)
		}
		st, tok := e.exchange(c.ID, code, verifier)
		if st != http.StatusOK {
			t.Fatalf("token: %d %v", st, tok)
		}
		if tok["patient"] != "p1" || tok["need_patient_banner"] != true || tok["token_type"] != "Bearer" {
			t.Errorf("token response = %v", tok)
		}
		if tok["scope"] != "launch/patient openid fhirUser offline_access patient/*.rs" {
			t.Errorf("scope = %q", tok["scope"])
		}
		if tok["refresh_token"] == nil || tok["id_token"] == nil {
			t.Fatalf("no refresh or id token: %v", tok)
		}
		claims := e.verifyIDToken(tok["id_token"].(string), c.ID)
		if claims["fhirUser"] != e.url+"/fhir/Patient/p1" || claims["nonce"] != "n-1" {
			t.Errorf("id token claims = %v", claims)
		}
		at := tok["access_token"].(string)
		if st, body := e.fhirGet(at, "Patient/p1"); st != http.StatusOK || !strings.Contains(body, "Lovelace") {
			t.Errorf("reading own patient: %d %s", st, body)
		}
		if st, body := e.fhirGet(at, "Observation?patient=p1"); st != http.StatusOK || !strings.Contains(body, `"id":"o1"`) {
			t.Errorf("searching own observations: %d %s", st, body)
		}
		if st, body := e.fhirGet(at, "Patient/p2"); st == http.StatusOK {
			t.Errorf("a patient token read another patient: %d %s", st, body)
		}
		if st, _ := e.fhirGet("", "Patient/p1"); st != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", st)
		}
		if st, _ := e.fhirGet("not-a-token", "Patient/p1"); st != http.StatusUnauthorized {
			t.Errorf("with an unknown token: %d, want 401", st)
		}

		// The code works once; its second use revokes what it issued.
		if st, out := e.exchange(c.ID, code, verifier); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("code reuse: %d %v", st, out)
		}
		if st, _ := e.fhirGet(at, "Patient/p1"); st != http.StatusUnauthorized {
			t.Errorf("token of a reused code still works: %d", st)
		}
	})
}

// verifyIDToken checks an id token's signature against the published JWKS
// and its standard claims, and returns its claims.
func (e *env) verifyIDToken(raw, clientID string) map[string]any {
	e.t.Helper()
	resp, err := http.Get(e.url + "/oauth/jwks")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		e.t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		e.t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		e.t.Fatalf("id token kid %q not in the JWKS", tok.Headers[0].KeyID)
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		e.t.Fatalf("id token signature: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: e.url, AnyAudience: jwt.Audience{clientID}}); err != nil {
		e.t.Errorf("id token claims: %v", err)
	}
	return all
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		verifier, challenge := pkce("xyz")

		t.Run("wrong verifier", func(t *testing.T) {
			back := b.authorize(e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge), "")
			other, _ := pkce("other")
			if st, out := e.exchange(c.ID, back.Query().Get("code"), other); st != 400 || out["error"] != "invalid_grant" {
				t.Errorf("wrong verifier: %d %v", st, out)
			}
			// One guess per code: the right verifier now fails too.
			if st, out := e.exchange(c.ID, back.Query().Get("code"), verifier); st != 400 || out["error"] != "invalid_grant" {
				t.Errorf("after a wrong guess: %d %v", st, out)
			}
		})
		t.Run("redirect_uri mismatch at the token endpoint", func(t *testing.T) {
			back := b.authorize(e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge), "")
			st, out := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
				"redirect_uri": {redirectURI + "x"}, "code_verifier": {verifier}, "client_id": {c.ID}}, "", "")
			if st != 400 || out["error"] != "invalid_grant" {
				t.Errorf("%d %v", st, out)
			}
		})
		t.Run("code of another client", func(t *testing.T) {
			other := e.publicApp()
			back := b.authorize(e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge), "")
			if st, out := e.exchange(other.ID, back.Query().Get("code"), verifier); st != 400 || out["error"] != "invalid_grant" {
				t.Errorf("%d %v", st, out)
			}
		})
		t.Run("unregistered redirect_uri", func(t *testing.T) {
			p := e.authorizeParams(c.ID, "patient/*.rs", challenge)
			p.Set("redirect_uri", "http://evil.example/cb")
			resp, body := b.get("/oauth/authorize?" + p.Encode())
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "redirect_uri") {
				t.Errorf("%d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
		t.Run("unknown client", func(t *testing.T) {
			resp, _ := b.get("/oauth/authorize?" + e.authorizeParams("nope", "patient/*.rs", challenge).Encode())
			if resp.StatusCode != 400 {
				t.Errorf("%d", resp.StatusCode)
			}
		})
		for name, tc := range map[string]struct {
			change    func(url.Values)
			wantError string
		}{
			"plain PKCE":        {func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
			"no PKCE":           {func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
			"wrong aud":         {func(v url.Values) { v.Set("aud", "http://other.example/fhir") }, "invalid_request"},
			"token flow":        {func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
			"malformed scope":   {func(v url.Values) { v.Set("scope", "patient/Observation") }, "invalid_scope"},
			"nothing grantable": {func(v url.Values) { v.Set("scope", "system/*.rs") }, "invalid_scope"},
			"unknown launch":    {func(v url.Values) { v.Set("launch", "nope"); v.Set("scope", "launch patient/*.rs") }, "invalid_request"},
		} {
			t.Run(name, func(t *testing.T) {
				p := e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge)
				tc.change(p)
				resp, _ := b.get("/oauth/authorize?" + p.Encode())
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != tc.wantError || loc.Query().Get("state") != "st-123" ||
					!strings.HasPrefix(loc.String(), redirectURI) {
					t.Errorf("%d %s, want a redirect with error=%s", resp.StatusCode, loc, tc.wantError)
				}
			})
		}
		t.Run("not signed in", func(t *testing.T) {
			anon := e.browser("")
			p := e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge)
			resp, _ := anon.get("/oauth/authorize?" + p.Encode())
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || loc.Path != "/login" {
				t.Fatalf("%d %s", resp.StatusCode, loc)
			}
			next, _ := url.Parse(loc.Query().Get("next"))
			if next.Path != "/oauth/authorize" || next.Query().Get("code_challenge") != challenge {
				t.Errorf("next = %s", next)
			}
		})
		t.Run("deny", func(t *testing.T) {
			resp, _ := b.get("/oauth/authorize?" + e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge).Encode())
			_, page := b.get(resp.Header.Get("Location"))
			req := requestRE.FindStringSubmatch(page)[1]
			resp, _ = b.post("/oauth/consent", url.Values{"request": {req}, auth.CSRFField: {b.csrf}, "decision": {"deny"}})
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
				t.Errorf("deny: %s", loc)
			}
		})
		t.Run("consent without the CSRF token", func(t *testing.T) {
			resp, _ := b.get("/oauth/authorize?" + e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge).Encode())
			_, page := b.get(resp.Header.Get("Location"))
			req := requestRE.FindStringSubmatch(page)[1]
			resp, _ = b.post("/oauth/consent", url.Values{"request": {req}, "decision": {"approve"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%d, want 403", resp.StatusCode)
			}
			// From another origin, with the right token, neither.
			hr, _ := http.NewRequest("POST", e.url+"/oauth/consent", strings.NewReader(url.Values{"request": {req}, auth.CSRFField: {b.csrf}, "decision": {"approve"}}.Encode()))
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			hr.Header.Set("Origin", "http://evil.example")
			r2, err := b.c.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			r2.Body.Close()
			if r2.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin consent: %d, want 403", r2.StatusCode)
			}
		})
		t.Run("another user cannot answer", func(t *testing.T) {
			resp, _ := b.get("/oauth/authorize?" + e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge).Encode())
			_, page := b.get(resp.Header.Get("Location"))
			req := requestRE.FindStringSubmatch(page)[1]
			other := e.browser("house")
			resp, _ = other.post("/oauth/consent", url.Values{"request": {req}, auth.CSRFField: {other.csrf}, "decision": {"approve"}})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%d, want 400", resp.StatusCode)
			}
		})
	})
}

func TestScopeNarrowing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp("launch/patient", "openid", "patient/Observation.rs", "patient/Patient.r")
		b := e.browser("ada")
		verifier, challenge := pkce("nar")
		// Asks for more than registered: everything on every type, user
		// scopes (a patient cannot hold them) and offline access.
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient openid patient/*.cruds user/*.rs offline_access smart/orchestrate_launch", challenge), "")
		st, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
		if st != 200 {
			t.Fatalf("%d %v", st, tok)
		}
		if got := tok["scope"]; got != "launch/patient openid patient/Observation.rs patient/Patient.r" {
			t.Errorf("granted %q", got)
		}
		if tok["refresh_token"] != nil {
			t.Errorf("a refresh token without offline_access granted")
		}
		at := tok["access_token"].(string)
		if st, _ := e.fhirGet(at, "Observation?patient=p1"); st != 200 {
			t.Errorf("search observations: %d", st)
		}
		if st, _ := e.fhirGet(at, "Condition?patient=p1"); st != http.StatusForbidden {
			t.Errorf("search conditions without a scope: %d, want 403", st)
		}
	})
}

func TestRefreshRotationAndRevocation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		verifier, challenge := pkce("ref")
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient offline_access patient/*.rs", challenge), "")
		_, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
		rt1, at1 := tok["refresh_token"].(string), tok["access_token"].(string)

		refresh := func(rt string) (int, map[string]any) {
			return e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ID}}, "", "")
		}
		st, tok2 := refresh(rt1)
		if st != 200 || tok2["patient"] != "p1" || tok2["refresh_token"] == nil || tok2["refresh_token"] == rt1 {
			t.Fatalf("refresh: %d %v", st, tok2)
		}
		rt2, at2 := tok2["refresh_token"].(string), tok2["access_token"].(string)
		if st, _ := e.fhirGet(at2, "Patient/p1"); st != 200 {
			t.Errorf("refreshed token: %d", st)
		}
		// Narrowing at refresh is allowed, widening is not.
		if st, out := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2},
			"client_id": {c.ID}, "scope": {"patient/*.rs user/*.rs"}}, "", ""); st != 400 || out["error"] != "invalid_scope" {
			t.Errorf("widening at refresh: %d %v", st, out)
		}
		// The rotated-out refresh token presented again: the whole grant goes.
		if st, out := refresh(rt1); st != 400 || out["error"] != "invalid_grant" {
			t.Errorf("reuse: %d %v", st, out)
		}
		if st, out := refresh(rt2); st != 400 || out["error"] != "invalid_grant" {
			t.Errorf("the newest refresh token after reuse: %d %v", st, out)
		}
		for _, at := range []string{at1, at2} {
			if st, _ := e.fhirGet(at, "Patient/p1"); st != http.StatusUnauthorized {
				t.Errorf("access token after reuse detection: %d, want 401", st)
			}
		}

		// Revocation (RFC 7009) of a fresh grant, by its refresh token.
		verifier, challenge = pkce("rev")
		back = b.authorize(e.authorizeParams(c.ID, "launch/patient offline_access patient/*.rs", challenge), "")
		_, tok = e.exchange(c.ID, back.Query().Get("code"), verifier)
		at := tok["access_token"].(string)
		if st, _ := e.fhirGet(at, "Patient/p1"); st != 200 {
			t.Fatalf("before revocation: %d", st)
		}
		if st, _ := e.postForm("/oauth/revoke", url.Values{"token": {tok["refresh_token"].(string)}, "client_id": {c.ID}}, "", ""); st != 200 {
			t.Errorf("revoke: %d", st)
		}
		if st, _ := e.fhirGet(at, "Patient/p1"); st != http.StatusUnauthorized {
			t.Errorf("after revocation: %d, want 401", st)
		}
		if st, _ := e.postForm("/oauth/revoke", url.Values{"token": {"unknown"}, "client_id": {c.ID}}, "", ""); st != 200 {
			t.Errorf("revoking an unknown token: %d, want 200", st)
		}
	})
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		rs, secret := e.register(smart.ClientSpec{Name: "Resource server", Scopes: []string{"user/*.rs"}})
		if secret == "" || rs.AuthMethod() != "client_secret_basic" {
			t.Fatalf("confidential client: %q %s", secret, rs.AuthMethod())
		}
		b := e.browser("ada")
		verifier, challenge := pkce("int")
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient openid fhirUser patient/*.rs", challenge), "")
		_, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
		at := tok["access_token"].(string)

		st, out := e.postForm("/oauth/introspect", url.Values{"token": {at}}, rs.ID, secret)
		if st != 200 || out["active"] != true || out["client_id"] != c.ID || out["patient"] != "p1" ||
			out["username"] != "ada" || out["fhirUser"] != e.url+"/fhir/Patient/p1" || out["scope"] != "launch/patient openid fhirUser patient/*.rs" {
			t.Errorf("introspection: %d %v", st, out)
		}
		if _, ok := out["exp"].(float64); !ok {
			t.Errorf("no exp: %v", out)
		}
		if st, out := e.postForm("/oauth/introspect", url.Values{"token": {at}}, rs.ID, "wrong"); st != 401 || out["error"] != "invalid_client" {
			t.Errorf("wrong secret: %d %v", st, out)
		}
		if st, _ := e.postForm("/oauth/introspect", url.Values{"token": {at}, "client_id": {c.ID}}, "", ""); st != 401 {
			t.Errorf("a public client may not introspect: %d", st)
		}
		if st, out := e.postForm("/oauth/introspect", url.Values{"token": {"nope"}}, rs.ID, secret); st != 200 || out["active"] != false || len(out) != 1 {
			t.Errorf("unknown token: %d %v", st, out)
		}
		e.postForm("/oauth/revoke", url.Values{"token": {at}, "client_id": {c.ID}}, "", "")
		if _, out := e.postForm("/oauth/introspect", url.Values{"token": {at}}, rs.ID, secret); out["active"] != false {
			t.Errorf("revoked token introspected as %v", out)
		}
	})
}

func TestLaunchContexts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		doc := e.browser("house")
		u, err := e.auth.UserByName(operator(), "house")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("EHR launch", func(t *testing.T) {
			launch, err := e.srv.NewLaunch(operator(), u.ID, "p1", "enc-9")
			if err != nil {
				t.Fatal(err)
			}
			verifier, challenge := pkce("ehr")
			p := e.authorizeParams(c.ID, "launch openid fhirUser patient/*.rs user/Practitioner.rs", challenge)
			p.Set("launch", launch)
			back := doc.authorize(p, "")
			st, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
			if st != 200 || tok["patient"] != "p1" || tok["encounter"] != "enc-9" || tok["need_patient_banner"] != false {
				t.Fatalf("%d %v", st, tok)
			}
			claims := e.verifyIDToken(tok["id_token"].(string), c.ID)
			if claims["fhirUser"] != e.url+"/fhir/Practitioner/dr1" {
				t.Errorf("fhirUser = %v", claims["fhirUser"])
			}
			// A launch is the launching user's only.
			p.Set("state", "x")
			ada := e.browser("ada")
			resp, _ := ada.get("/oauth/authorize?" + p.Encode())
			if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "invalid_request" {
				t.Errorf("another user's launch: %s", loc)
			}
		})
		t.Run("standalone with the patient picker", func(t *testing.T) {
			verifier, challenge := pkce("pick")
			p := e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge)
			resp, _ := doc.get("/oauth/authorize?" + p.Encode())
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, "/oauth/patient") {
				t.Fatalf("a clinician's standalone launch went to %s, want the picker", loc)
			}
			_, page := doc.get(loc + "&name=Lovelace")
			if !strings.Contains(page, "Ada Lovelace") || strings.Contains(page, "Babbage") {
				t.Errorf("picker search for Lovelace:\n%s", page)
			}
			back := doc.authorize(p, "p2")
			st, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
			if st != 200 || tok["patient"] != "p2" || tok["need_patient_banner"] != true {
				t.Fatalf("%d %v", st, tok)
			}
			at := tok["access_token"].(string)
			if st, body := e.fhirGet(at, "Observation?patient=p2"); st != 200 || !strings.Contains(body, `"id":"o2"`) {
				t.Errorf("chosen patient's observations: %d %s", st, body)
			}
			if st, body := e.fhirGet(at, "Observation/o1"); st == 200 {
				t.Errorf("a patient-context token read another patient's observation: %s", body)
			}
		})
		t.Run("picker refuses a patient not listed", func(t *testing.T) {
			_, challenge := pkce("pick2")
			// ada has a single patient, so no picker; a proxy with two gets one.
			pu, err := e.auth.CreateUser(operator(), auth.User{Username: "mum", DisplayName: "Mum", FHIRUser: "RelatedPerson/r1", Patients: []string{"p1", "p2"}}, password)
			if err != nil {
				t.Fatal(err)
			}
			mum := e.browser(pu.Username)
			resp, _ := mum.get("/oauth/authorize?" + e.authorizeParams(c.ID, "launch/patient patient/*.rs", challenge).Encode())
			loc := resp.Header.Get("Location")
			_, page := mum.get(loc)
			if !strings.Contains(page, "Ada Lovelace") || !strings.Contains(page, "Charles Babbage") {
				t.Errorf("proxy picker:\n%s", page)
			}
			req := requestRE.FindStringSubmatch(page)[1]
			resp, body := mum.post("/oauth/patient", url.Values{"request": {req}, auth.CSRFField: {mum.csrf}, "patient": {"p3"}})
			if resp.StatusCode != 400 || !strings.Contains(body, "Choose one of the patients listed") {
				t.Errorf("choosing an unlisted patient: %d %s", resp.StatusCode, body)
			}
		})
	})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		for _, path := range []string{"/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"} {
			resp, err := http.Get(e.url + path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if resp.StatusCode != 200 || doc["token_endpoint"] != e.url+"/oauth/token" || doc["authorization_endpoint"] != e.url+"/oauth/authorize" {
				t.Errorf("%s: %d %v", path, resp.StatusCode, doc)
			}
			caps, _ := doc["capabilities"].([]any)
			for _, want := range []string{"launch-standalone", "launch-ehr", "permission-v2", "client-confidential-asymmetric"} {
				if !slices.Contains(caps, any(want)) {
					t.Errorf("%s: capability %s missing", path, want)
				}
			}
			if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
				t.Errorf("code_challenge_methods_supported = %v", m)
			}
		}
		// The FHIR API itself needs a token; its capability statement does not.
		if st, _ := e.fhirGet("", "metadata"); st != 200 {
			t.Errorf("metadata: %d", st)
		}
	})
}

func TestOnlineAccess(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		verifier, challenge := pkce("onl")
		back := b.authorize(e.authorizeParams(c.ID, "launch/patient online_access patient/*.rs", challenge), "")
		_, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
		rt, _ := tok["refresh_token"].(string)
		if rt == "" {
			t.Fatalf("no refresh token with online_access: %v", tok)
		}
		refresh := func(rt string) (int, map[string]any) {
			return e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ID}}, "", "")
		}
		st, tok := refresh(rt)
		if st != 200 {
			t.Fatalf("refresh while signed in: %d %v", st, tok)
		}
		// Signing out ends the session the grant lives with.
		ck := b.c.Jar.Cookies(mustURL(e.url))[0]
		if err := e.auth.Logout(operator(), ck.Value); err != nil {
			t.Fatal(err)
		}
		if st, out := refresh(tok["refresh_token"].(string)); st != 400 || out["error"] != "invalid_grant" {
			t.Errorf("refresh after sign-out: %d %v", st, out)
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestRevokeUser(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		c := e.publicApp()
		b := e.browser("ada")
		var tokens []string
		for _, seed := range []string{"u1", "u2"} {
			verifier, challenge := pkce(seed)
			back := b.authorize(e.authorizeParams(c.ID, "launch/patient offline_access patient/*.rs", challenge), "")
			_, tok := e.exchange(c.ID, back.Query().Get("code"), verifier)
			tokens = append(tokens, tok["access_token"].(string))
			if st, _ := e.fhirGet(tok["access_token"].(string), "Patient/p1"); st != 200 {
				t.Fatalf("before: %d", st)
			}
		}
		u, err := e.auth.UserByName(operator(), "ada")
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.srv.RevokeUser(operator(), u.ID)
		if err != nil || n != 2 {
			t.Fatalf("RevokeUser = %d, %v; want 2 grants", n, err)
		}
		for _, at := range tokens {
			if st, _ := e.fhirGet(at, "Patient/p1"); st != http.StatusUnauthorized {
				t.Errorf("after RevokeUser: %d, want 401", st)
			}
		}
	})
}
