package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
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
	c, why, err := s.checkAssertion(ctx, assertion)
	if why != "" && c != nil {
		// A failed sign-in of a known client is a security event.
		s.auditClientFailure(ctx, c.ID, why)
	}
	return c, err
}

func (s *Server) checkAssertion(ctx context.Context, assertion string) (*Client, string, error) {
	bad := oerr("invalid_client", "client authentication failed")
	if assertion == "" {
		return nil, "", bad
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, "", bad
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, "", bad
	}
	c, err := s.GetClient(ctx, unverified.Issuer)
	if errs.KindOf(err) == errs.NotFound {
		return nil, "", bad
	} else if err != nil {
		return nil, "", err
	}
	fail := func(why string) (*Client, string, error) { return c, why, bad }
	if len(c.JWKS) == 0 {
		return fail("client assertion from a client without keys")
	}
	set, err := parseClientJWKS(c.JWKS)
	if err != nil {
		return fail("the client's registered keys are unusable")
	}
	h := tok.Headers[0]
	keys := set.Key(h.KeyID)
	if h.KeyID == "" || len(keys) != 1 {
		return fail("client assertion signed with an unknown key")
	}
	key := keys[0].Key
	switch h.Algorithm {
	case string(jose.RS384):
		if _, ok := key.(*rsa.PublicKey); !ok {
			return fail("client assertion algorithm does not match the key")
		}
	case string(jose.ES384):
		if _, ok := key.(*ecdsa.PublicKey); !ok {
			return fail("client assertion algorithm does not match the key")
		}
	default:
		return fail("client assertion algorithm not accepted")
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return fail("client assertion signature does not verify")
	}
	now := s.now()
	err = claims.ValidateWithLeeway(jwt.Expected{Issuer: c.ID, Subject: c.ID,
		AnyAudience: jwt.Audience{s.tokenURL()}, Time: now}, clockSkew)
	if err != nil || claims.Expiry == nil || claims.ID == "" {
		return fail("client assertion claims invalid (iss, sub, aud, exp or jti)")
	}
	exp := claims.Expiry.Time()
	if exp.After(now.Add(maxAssertionLife + clockSkew)) {
		return fail("client assertion expires more than five minutes ahead")
	}
	// The jti is kept until the assertion could no longer be accepted; a
	// second use is a conflict (PutItem of an existing key).
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutItem(ctx, &store.Item{Kind: kindJTI, Key: c.ID + " " + claims.ID, Owner: c.ID,
			Value: []byte("{}"), Expires: exp.Add(clockSkew)})
	})
	if errs.KindOf(err) == errs.Conflict {
		return fail("client assertion replayed (jti already used)")
	} else if err != nil {
		return nil, "", err
	}
	return c, "", nil
}

// auditClientFailure records a refused client authentication
// (login-failed, with the client as the agent). Recording is best effort:
// the refusal stands whether or not the entry could be written.
func (s *Server) auditClientFailure(ctx context.Context, clientID, why string) {
	e := &audit.Entry{Action: audit.ActionOf(audit.InteractionLoginFailed), Interaction: audit.InteractionLoginFailed,
		Outcome: audit.MinorFailure, OutcomeDesc: why, Agent: audit.Agent{Kind: access.Client.String(), ClientID: clientID}}
	ctx = context.WithoutCancel(ctx)
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.AppendAudit(ctx, []*audit.Entry{e})
	})
	if err != nil {
		s.log.Error("recording a failed client authentication", "client", clientID, "err", err)
	}
}
