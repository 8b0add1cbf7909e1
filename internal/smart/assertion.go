package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// assertionAlgs are the algorithms SMART Backend Services requires servers
// to support for client assertions (backend-services.html: RS384, ES384).
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

const clockSkew = 30 * time.Second

// verifyAssertion authenticates a client by its JWT assertion (RFC 7523
// §3; SMART Backend Services, "Authenticating to the token endpoint"):
// signed with a key of the client's registered JWKS (by kid), iss and sub
// the client id, aud the token endpoint, exp at most five minutes ahead,
// and a jti never seen before (kept until the assertion expires).
// Every failure is the same invalid_client: the caller learns nothing more.
func (s *Server) verifyAssertion(ctx context.Context, assertion string) (*Client, error) {
	bad := oerr("invalid_client", "client authentication failed")
	if assertion == "" {
		return nil, bad
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, bad
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, bad
	}
	c, err := s.GetClient(ctx, unverified.Issuer)
	if errs.KindOf(err) == errs.NotFound {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if len(c.JWKS) == 0 {
		return nil, bad
	}
	set, err := parseClientJWKS(c.JWKS)
	if err != nil {
		return nil, bad
	}
	h := tok.Headers[0]
	keys := set.Key(h.KeyID)
	if h.KeyID == "" || len(keys) != 1 {
		return nil, bad
	}
	key := keys[0].Key
	switch h.Algorithm {
	case string(jose.RS384):
		if _, ok := key.(*rsa.PublicKey); !ok {
			return nil, bad
		}
	case string(jose.ES384):
		if _, ok := key.(*ecdsa.PublicKey); !ok {
			return nil, bad
		}
	default:
		return nil, bad
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return nil, bad
	}
	now := s.now()
	err = claims.ValidateWithLeeway(jwt.Expected{Issuer: c.ID, Subject: c.ID,
		AnyAudience: jwt.Audience{s.tokenURL()}, Time: now}, clockSkew)
	if err != nil || claims.Expiry == nil || claims.ID == "" {
		return nil, bad
	}
	exp := claims.Expiry.Time()
	if exp.After(now.Add(maxAssertionLife + clockSkew)) {
		return nil, bad
	}
	// The jti is kept until the assertion could no longer be accepted; a
	// second use is a conflict (PutItem of an existing key).
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutItem(ctx, &store.Item{Kind: kindJTI, Key: c.ID + " " + claims.ID, Owner: c.ID,
			Value: []byte("{}"), Expires: exp.Add(clockSkew)})
	})
	if errs.KindOf(err) == errs.Conflict {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	return c, nil
}
