package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/smart"
	"github.com/openchart/openchart/internal/store"
)

// backendKey is a backend service's key pair.
type backendKey struct {
	alg  jose.SignatureAlgorithm
	priv any
	kid  string
}

func newBackendKey(t *testing.T, alg jose.SignatureAlgorithm) backendKey {
	t.Helper()
	k := backendKey{alg: alg, kid: "key-" + strings.ToLower(string(alg))}
	var err error
	switch alg {
	case jose.ES384:
		k.priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.RS384:
		k.priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (k backendKey) public() jose.JSONWebKey {
	jwk := jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
	return jwk.Public()
}

// assertion signs a client assertion; change edits its claims first.
func (k backendKey) assertion(t *testing.T, clientID, aud string, change func(*jwt.Claims)) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute)), ID: randomJTI()}
	if change != nil {
		change(&c)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var jtiCounter = time.Now().UnixNano()

func randomJTI() string {
	jtiCounter++
	return "jti-" + time.Unix(0, jtiCounter).Format("150405.000000000")
}

func TestBackendServices(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		es, rs := newBackendKey(t, jose.ES384), newBackendKey(t, jose.RS384)
		jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{es.public(), rs.public()}})
		c, secret := e.register(smart.ClientSpec{Name: "Nightly export", JWKS: jwks, Scopes: []string{"system/Patient.rs", "system/Observation.rs"}})
		if secret != "" || c.AuthMethod() != "private_key_jwt" {
			t.Fatalf("a JWKS client got secret %q, method %s", secret, c.AuthMethod())
		}
		tokenURL := e.url + "/oauth/token"
		request := func(assertion, scope string) (int, map[string]any) {
			return e.postForm("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {assertion}}, "", "")
		}
		for _, k := range []backendKey{es, rs} {
			t.Run(string(k.alg), func(t *testing.T) {
				a := k.assertion(t, c.ID, tokenURL, nil)
				st, tok := request(a, "system/Patient.rs system/Observation.rs")
				if st != 200 || tok["scope"] != "system/Patient.rs system/Observation.rs" || tok["refresh_token"] != nil || tok["patient"] != nil {
					t.Fatalf("%d %v", st, tok)
				}
				at := tok["access_token"].(string)
				if st, body := e.fhirGet(at, "Observation?_count=10"); st != 200 || !strings.Contains(body, `"id":"o1"`) || !strings.Contains(body, `"id":"o2"`) {
					t.Errorf("system search: %d %s", st, body)
				}
				if st, _ := e.fhirGet(at, "Condition"); st != http.StatusForbidden {
					t.Errorf("a type outside the scopes: %d, want 403", st)
				}
				// The same assertion again: its jti was used.
				if st, out := request(a, "system/Patient.rs"); st != 401 || out["error"] != "invalid_client" {
					t.Errorf("jti replay: %d %v", st, out)
				}
			})
		}
		for name, tc := range map[string]struct {
			assertion func() string
			scope     string
			want      string
		}{
			"wrong aud": {func() string { return es.assertion(t, c.ID, e.url+"/fhir", nil) }, "system/Patient.rs", "invalid_client"},
			"expired": {func() string {
				return es.assertion(t, c.ID, tokenURL, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-2 * time.Minute)) })
			}, "system/Patient.rs", "invalid_client"},
			"exp too far ahead": {func() string {
				return es.assertion(t, c.ID, tokenURL, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(time.Hour)) })
			}, "system/Patient.rs", "invalid_client"},
			"no jti": {func() string {
				return es.assertion(t, c.ID, tokenURL, func(c *jwt.Claims) { c.ID = "" })
			}, "system/Patient.rs", "invalid_client"},
			"sub is not the client": {func() string {
				return es.assertion(t, c.ID, tokenURL, func(c *jwt.Claims) { c.Subject = "someone" })
			}, "system/Patient.rs", "invalid_client"},
			"unknown kid": {func() string {
				k := es
				k.kid = "other"
				return k.assertion(t, c.ID, tokenURL, nil)
			}, "system/Patient.rs", "invalid_client"},
			"key not registered": {func() string {
				return newBackendKey(t, jose.ES384).assertion(t, c.ID, tokenURL, nil)
			}, "system/Patient.rs", "invalid_client"},
			"patient scope":        {func() string { return es.assertion(t, c.ID, tokenURL, nil) }, "patient/Patient.rs", "invalid_scope"},
			"scope not registered": {func() string { return es.assertion(t, c.ID, tokenURL, nil) }, "system/Condition.rs", "invalid_scope"},
		} {
			t.Run(name, func(t *testing.T) {
				st, out := request(tc.assertion(), tc.scope)
				if out["error"] != tc.want || (tc.want == "invalid_client" && st != 401) {
					t.Errorf("%d %v, want %s", st, out, tc.want)
				}
				if out["access_token"] != nil {
					t.Errorf("a token was issued")
				}
			})
		}
		t.Run("failures are audited", func(t *testing.T) {
			page, err := e.app.Store.AuditRange(context.Background(), store.AuditQuery{Interactions: []string{audit.InteractionLoginFailed}, Count: 100})
			if err != nil {
				t.Fatal(err)
			}
			reasons := map[string]bool{}
			for _, r := range page.Rows {
				en, err := r.Entry()
				if err != nil {
					t.Fatal(err)
				}
				if en.Agent.ClientID == c.ID && en.Agent.Kind == "client" {
					reasons[en.OutcomeDesc] = true
				}
			}
			for _, want := range []string{"client assertion replayed (jti already used)", "client assertion signed with an unknown key",
				"client assertion claims invalid (iss, sub, aud, exp or jti)", "client assertion expires more than five minutes ahead"} {
				if !reasons[want] {
					t.Errorf("no login-failed entry %q among %v", want, reasons)
				}
			}
		})
		t.Run("unsupported grant", func(t *testing.T) {
			st, out := e.postForm("/oauth/token", url.Values{"grant_type": {"password"}}, "", "")
			if st != 400 || out["error"] != "unsupported_grant_type" {
				t.Errorf("%d %v", st, out)
			}
		})
		t.Run("registration refuses private keys", func(t *testing.T) {
			priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: es.priv, KeyID: "k"}}})
			if _, _, err := e.srv.RegisterClient(operator(), smart.ClientSpec{Name: "x", JWKS: priv, Scopes: []string{"system/*.rs"}}); err == nil {
				t.Errorf("a private key was registered")
			}
		})
	})
}
