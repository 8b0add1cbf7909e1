package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Client is a registered OAuth client.
type Client struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirectUris,omitempty"`
	// Public clients cannot keep a secret (browser and mobile apps): they
	// authenticate with PKCE only.
	Public bool `json:"public,omitempty"`
	// SecretHash is the SHA-256 (hex) of the client secret of a
	// client_secret_basic client. The secret itself is shown once.
	SecretHash string `json:"secretHash,omitempty"`
	// JWKS holds the public keys of a private_key_jwt client (SMART
	// Backend Services), given at registration.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// Scopes are the scopes the client may be granted (an upper bound).
	Scopes    []string  `json:"scopes"`
	LaunchURL string    `json:"launchUrl,omitempty"`
	Created   time.Time `json:"created"`
}

// AuthMethod is how the client authenticates at the token endpoint.
func (c *Client) AuthMethod() string {
	switch {
	case c.Public:
		return "none"
	case len(c.JWKS) > 0:
		return "private_key_jwt"
	}
	return "client_secret_basic"
}

// ClientSpec describes a client to register.
type ClientSpec struct {
	Name         string
	RedirectURIs []string
	// Public registers a public client; otherwise the client is
	// confidential: with JWKS (a JSON Web Key Set of public keys) it
	// authenticates with signed assertions (private_key_jwt), without one
	// it gets a generated secret (client_secret_basic).
	Public    bool
	JWKS      []byte
	Scopes    []string
	LaunchURL string
}

// RegisterClient registers a client and returns it with its secret (empty
// unless the client authenticates with one). The secret is not kept: only
// its hash is stored.
func (s *Server) RegisterClient(ctx context.Context, spec ClientSpec) (*Client, string, error) {
	c, err := s.checkSpec(spec)
	if err != nil {
		return nil, "", err
	}
	var secret string
	if !c.Public && len(c.JWKS) == 0 {
		secret = randomToken()
		c.SecretHash = hashSecret(secret)
	}
	c.ID = randomID()
	c.Created = s.now().UTC()
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		if err := putDoc(ctx, tx, kindClient, c.ID, "", 0, time.Time{}, c); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.securityEntry(ctx, auditPermissionChange, "OAuth client registered: "+c.ID+" ("+c.Name+")", ""))
	})
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

func (s *Server) checkSpec(spec ClientSpec) (*Client, error) {
	bad := func(format string, a ...any) error {
		return errs.E("register client", errs.Invalid, fmt.Sprintf(format, a...))
	}
	c := &Client{Name: strings.TrimSpace(spec.Name), Public: spec.Public, LaunchURL: spec.LaunchURL}
	if c.Name == "" {
		return nil, bad("a client needs a name")
	}
	for _, u := range spec.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, bad("redirect URI %q: %v", u, err)
		}
		c.RedirectURIs = append(c.RedirectURIs, u)
	}
	if spec.LaunchURL != "" {
		if err := checkRedirectURI(spec.LaunchURL); err != nil {
			return nil, bad("launch URL %q: %v", spec.LaunchURL, err)
		}
	}
	scopes, err := parseScopes(spec.Scopes)
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(scopes) == 0 {
		return nil, bad("a client needs at least one scope")
	}
	for _, sc := range scopes {
		c.Scopes = append(c.Scopes, sc.raw)
	}
	switch {
	case spec.Public && len(spec.JWKS) > 0:
		return nil, bad("a public client has no keys: give a JWKS to a confidential client only")
	case spec.Public && len(c.RedirectURIs) == 0:
		return nil, bad("a public client needs a redirect URI")
	case len(spec.JWKS) > 0:
		if _, err := parseClientJWKS(spec.JWKS); err != nil {
			return nil, bad("JWKS: %v", err)
		}
		c.JWKS = json.RawMessage(spec.JWKS)
	}
	for _, sc := range scopes {
		if sc.Res != nil && sc.Res.Context == "system" && len(c.JWKS) == 0 {
			return nil, bad("system scopes (%s) are for backend services: register the client with a JWKS", sc.raw)
		}
	}
	return c, nil
}

// checkRedirectURI: absolute http(s) URLs without a fragment (RFC 6749 §3.1.2).
func checkRedirectURI(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return err
	case p.Scheme != "https" && p.Scheme != "http":
		return errors.New("must be an http or https URL")
	case p.Host == "":
		return errors.New("must be absolute")
	case p.Fragment != "" || strings.Contains(u, "#"):
		return errors.New("must not have a fragment")
	}
	return nil
}

// parseClientJWKS reads a client's key set: public RSA (2048 bits or more)
// or EC P-384 keys, each with a key id.
func parseClientJWKS(b []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("no keys")
	}
	for _, k := range set.Keys {
		if k.KeyID == "" {
			return nil, errors.New("every key needs a kid")
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("key %q is a private key: register the public key only", k.KeyID)
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key %q: RSA keys need at least 2048 bits", k.KeyID)
			}
		case *ecdsa.PublicKey:
			if pk.Curve != elliptic.P384() {
				return nil, fmt.Errorf("key %q: EC keys must be on P-384 (ES384)", k.KeyID)
			}
		default:
			return nil, fmt.Errorf("key %q: only RSA and EC P-384 keys are accepted", k.KeyID)
		}
	}
	return &set, nil
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (c *Client) secretMatches(secret string) bool {
	if c.SecretHash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(c.SecretHash)) == 1
}

// GetClient returns a registered client (errs.NotFound when unknown).
func (s *Server) GetClient(ctx context.Context, id string) (*Client, error) {
	var c Client
	if _, err := getDoc(ctx, s.cfg.Store, kindClient, id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ListClients lists the registered clients by id.
func (s *Server) ListClients(ctx context.Context) ([]*Client, error) {
	var out []*Client
	after := ""
	for {
		items, err := s.cfg.Store.ListItems(ctx, store.ItemQuery{Kind: kindClient, After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var c Client
			if err := json.Unmarshal(it.Value, &c); err != nil {
				return nil, err
			}
			out = append(out, &c)
		}
		if len(items) < 100 {
			return out, nil
		}
		after = items[len(items)-1].Key
	}
}

// RemoveClient deletes a client and every grant and token issued to it.
func (s *Server) RemoveClient(ctx context.Context, id string) error {
	if _, err := s.GetClient(ctx, id); err != nil {
		return err
	}
	grants, err := s.clientGrants(ctx, id)
	if err != nil {
		return err
	}
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		for _, g := range grants {
			if err := deleteGrant(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := tx.DeleteItem(ctx, kindClient, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.securityEntry(ctx, auditPermissionChange, "OAuth client removed: "+id, ""))
	})
	if err != nil {
		return err
	}
	s.dropCached(func(t *tokenDoc) bool { return t.ClientID == id })
	return nil
}

// clientGrants lists the ids of the grants of a client.
func (s *Server) clientGrants(ctx context.Context, clientID string) ([]string, error) {
	var out []string
	after := ""
	for {
		items, err := s.cfg.Store.ListItems(ctx, store.ItemQuery{Kind: kindGrant, After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var g grantDoc
			if json.Unmarshal(it.Value, &g) == nil && g.ClientID == clientID {
				out = append(out, it.Key)
			}
		}
		if len(items) < 100 {
			return out, nil
		}
		after = items[len(items)-1].Key
	}
}

// allows reports whether a redirect URI is one the client registered,
// compared exactly (SMART requires exact matching).
func (c *Client) allows(redirectURI string) bool {
	return slices.Contains(c.RedirectURIs, redirectURI)
}
