package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Item kinds of the server state this package keeps (store.Item.Kind).
const (
	kindUser      = "user"       // key: lower-cased username; value: userRecord
	kindUserID    = "user-id"    // key: user id; value: the lower-cased username
	kindSession   = "session"    // key: hex SHA-256 of the token; owner: user id
	kindChallenge = "challenge"  // key: hex SHA-256 of the token; owner: user id
	kindThrottle  = "throttle"   // key: "user:<id>" or "ip:<address>"
	kindOneTime   = "onetime"    // key: hex SHA-256 of the code; owner: purpose:subject
	kindGrant     = "breakglass" // key: grant id; owner: user id
)

// Options tune the service. Zero values take the defaults documented on
// each field.
type Options struct {
	// Argon2 are the parameters of new password hashes (default
	// DefaultArgon2). Existing hashes verify with the parameters they
	// were made with; a hash weaker than these is replaced at the next
	// successful sign-in.
	Argon2 Argon2Params
	// MaxFailures consecutive failed sign-ins lock an account (default 5)
	// for LockoutDuration (default 15 minutes). The count is forgotten
	// LockoutDuration after the last failure, and on a successful sign-in.
	MaxFailures     int
	LockoutDuration time.Duration
	// SourceFailures failed sign-ins from one address within SourceWindow
	// refuse further attempts from it until the window ends (defaults 50
	// and 15 minutes): password spraying across accounts.
	SourceFailures int
	SourceWindow   time.Duration
	// IdleTimeout ends a session nobody used for that long (default 15
	// minutes); SessionLifetime ends any session (default 12 hours).
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// ChallengeTTL is how long a second-factor challenge may be answered
	// (default 5 minutes).
	ChallengeTTL time.Duration
	// BreakGlassTTL is how long a break-the-glass grant lasts (default 4
	// hours).
	BreakGlassTTL time.Duration
	// SetupTTL is how long a first-start setup code is valid (default 24
	// hours).
	SetupTTL time.Duration
	// Issuer names the service in authenticator apps (default "OpenChart").
	Issuer string
	// OnAccessChange, when set, is called after an account's access changed
	// (memberships, roles, patients, administrator flag, disabled): the
	// authorization server revokes the tokens issued under the old access.
	OnAccessChange func(ctx context.Context, userID string)
	// Now is the clock (default time.Now). Tests move it forward; it must
	// not run behind the store's clock, which expires items.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.LockoutDuration <= 0 {
		o.LockoutDuration = 15 * time.Minute
	}
	if o.SourceFailures <= 0 {
		o.SourceFailures = 50
	}
	if o.SourceWindow <= 0 {
		o.SourceWindow = 15 * time.Minute
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 15 * time.Minute
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 12 * time.Hour
	}
	if o.ChallengeTTL <= 0 {
		o.ChallengeTTL = 5 * time.Minute
	}
	if o.BreakGlassTTL <= 0 {
		o.BreakGlassTTL = 4 * time.Hour
	}
	if o.SetupTTL <= 0 {
		o.SetupTTL = 24 * time.Hour
	}
	if o.Issuer == "" {
		o.Issuer = "OpenChart"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// New returns the identity service over a store.
func New(st store.Store, opts Options) *Service {
	opts.defaults()
	return &Service{st: st, opts: opts}
}

// Service is the identity service (see the method list on its doc
// comment in auth.go).
type Service struct {
	st   store.Store
	opts Options

	dummyOnce sync.Once
	dummy     string
}

// dummyHash is what sign-in attempts for unknown usernames verify
// against, so that they take as long as those for known ones. Made on
// first use: commands that never sign anyone in skip its cost.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = hashPassword(randomToken(), s.opts.Argon2) })
	return s.dummy
}

// Options returns the options in force (defaults filled in).
func (s *Service) Options() Options { return s.opts }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// inTx runs fn in a store transaction, again when a concurrent change of
// an item it read made one of its writes conflict (a version check).
// Concurrent sign-in failures of one account or address update the same
// counter; a short random pause spreads the next attempts.
func (s *Service) inTx(ctx context.Context, fn func(store.Tx) error) error {
	const attempts = 8
	for i := 1; ; i++ {
		err := s.st.InTx(ctx, fn)
		var own *ownConflict
		if i == attempts || errs.KindOf(err) != errs.Conflict || errors.As(err, &own) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+mrand.IntN(5*i)) * time.Millisecond):
		}
	}
}

// ownConflict marks a conflict that running the transaction again cannot
// resolve.
type ownConflict struct{ msg string }

func (c *ownConflict) Error() string { return c.msg }

func conflict(op, msg string) error {
	return errs.E(op, errs.Conflict, msg, &ownConflict{msg})
}

// randomToken is 32 random bytes, base64url without padding: session
// tokens, challenges and one-time codes.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenKey is the store key of a token: the hex SHA-256 of it. A token is
// 256 random bits, so a fast hash is enough: nobody can guess one from its
// hash, and the store never holds the token itself.
func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func getJSON(ctx context.Context, r store.ItemReader, kind, key string, v any) (*store.Item, error) {
	it, err := r.GetItem(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	return decodeItem(it, v)
}

func decodeItem(it *store.Item, v any) (*store.Item, error) {
	if err := json.Unmarshal(it.Value, v); err != nil {
		return nil, errs.E("reading "+it.Kind, errs.Internal, fmt.Errorf("decoding item %s: %w", it.Key, err))
	}
	return it, nil
}

func putJSON(ctx context.Context, tx store.Tx, it *store.Item, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errs.E("writing "+it.Kind, errs.Internal, err)
	}
	it.Value = b
	read := it.Version
	err = tx.PutItem(ctx, it)
	if read > 0 && errs.KindOf(err) == errs.NotFound {
		// Deleted since it was read (a code spent, a session ended, a
		// counter cleared): a conflict, so that the transaction runs again
		// and sees it gone.
		return errs.E("writing "+it.Kind, errs.Conflict, err)
	}
	return err
}

// entry starts an audit entry for an interaction by agent.
func entry(interaction string, agent audit.Agent) *audit.Entry {
	return &audit.Entry{Action: audit.ActionOf(interaction), Interaction: interaction, Agent: agent}
}

// appendAudit stamps the entries with the transaction's time and appends
// them: the last thing a transaction does.
func appendAudit(ctx context.Context, tx store.Tx, entries ...*audit.Entry) error {
	for _, e := range entries {
		e.Recorded = tx.Now()
		e.Patients = audit.SortPatients(e.Patients)
	}
	return tx.AppendAudit(ctx, entries)
}

// userAgent is the audit agent of a user acting for themselves.
func userAgent(u *User, source string) audit.Agent {
	return audit.Agent{Kind: access.User.String(), UserID: u.ID, Username: u.Username, FHIRUser: u.FHIRUser, Source: source}
}

// actor is the audit agent of the principal of ctx.
func actor(ctx context.Context) audit.Agent { return audit.AgentOf(access.From(ctx)) }

// userEntity names a user account in an audit entry. Accounts are not
// FHIR resources: the AuditEvent view shows them by identifier.
func userEntity(id string) audit.Entity { return audit.Entity{Type: audit.UserEntity, ID: id} }

// Purge deletes the server state that has expired (ended sessions, spent
// or stale codes, old counters and grants) and reports how many items went.
// Reads already ignore expired items; this only reclaims their space. Run
// it now and then (a daily job, or at start-up).
func (s *Service) Purge(ctx context.Context) (int, error) {
	var n int
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.PurgeItems(ctx, time.Now())
		return err
	})
	return n, err
}
