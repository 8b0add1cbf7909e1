package smart

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// signingKey is the server's key for id tokens: RSA 2048 with RS256, the
// algorithm OpenID Connect clients (and fhirclient) expect. It is generated
// at first start and kept as the item oauth-key/current, unencrypted, so
// every node signs with the same key (docs/SMART.md, rotation).
type signingKey struct {
	private jose.JSONWebKey
	signer  jose.Signer
}

const keyName = "current"

func (s *Server) loadKey(ctx context.Context) (*signingKey, error) {
	for attempt := 0; attempt < 3; attempt++ {
		var jwk jose.JSONWebKey
		_, err := getDoc(ctx, s.cfg.Store, kindKey, keyName, &jwk)
		if err == nil {
			return newSigningKey(jwk)
		}
		if errs.KindOf(err) != errs.NotFound {
			return nil, err
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		jwk = jose.JSONWebKey{Key: k, Algorithm: string(jose.RS256), Use: "sig"}
		tp, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, err
		}
		jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
		err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
			return putDoc(ctx, tx, kindKey, keyName, "", 0, time.Time{}, jwk)
		})
		if err == nil {
			s.log.Info("generated the OAuth signing key", "kid", jwk.KeyID)
			return newSigningKey(jwk)
		}
		if errs.KindOf(err) != errs.Conflict {
			return nil, err
		}
		// Another node created it first: read theirs.
	}
	return nil, fmt.Errorf("could not create or read the signing key")
}

func newSigningKey(jwk jose.JSONWebKey) (*signingKey, error) {
	if _, ok := jwk.Key.(*rsa.PrivateKey); !ok || jwk.KeyID == "" {
		return nil, fmt.Errorf("the stored signing key is not an RSA private key with a key id")
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &signingKey{private: jwk, signer: sig}, nil
}

// sign signs claims as a compact JWT.
func (k *signingKey) sign(claims ...any) (string, error) {
	b := jwt.Signed(k.signer)
	for _, c := range claims {
		b = b.Claims(c)
	}
	return b.Serialize()
}

// jwks serves the public half of the signing key (RFC 7517).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	pub := s.keys.private.Public()
	writeJSONCached(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
}
