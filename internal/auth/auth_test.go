package auth

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// clock is a test clock that starts at the real time and moves only when
// told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	st    store.Store
	svc   *Service
	clock *clock
	// op is a context acting as an operator.
	op context.Context
}

// testArgon2 keeps hashing cheap in tests; production uses DefaultArgon2.
var testArgon2 = Argon2Params{Memory: 1024, Time: 1, Threads: 1}

// onStores runs fn against the embedded store and PostgreSQL.
func onStores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	open := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open[name](t)
			t.Cleanup(func() { st.Close() })
			c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
			svc := New(st, Options{Argon2: testArgon2, Now: c.Now})
			op := access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "root"})
			fn(t, &env{st: st, svc: svc, clock: c, op: op})
		})
	}
}

const goodPassword = "correct horse battery staple"

func (e *env) user(t *testing.T, u User, password string) *User {
	t.Helper()
	got, err := e.svc.CreateUser(e.op, u, password)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Username, err)
	}
	return got
}

func physician(name string) User {
	return User{Username: name, DisplayName: "Dr. " + name,
		Memberships: []Membership{{Organization: "Organization/o1", Roles: []string{RolePhysician}}}}
}

// auditEntries returns the whole audit trail.
func auditEntries(t *testing.T, st store.Store) []*audit.Entry {
	t.Helper()
	rows, err := st.AuditScan(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*audit.Entry
	for _, r := range rows {
		e, err := audit.Decode(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func lastEntry(t *testing.T, st store.Store, interaction string) *audit.Entry {
	t.Helper()
	es := auditEntries(t, st)
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Interaction == interaction {
			return es[i]
		}
	}
	t.Fatalf("no %s entry in the audit trail", interaction)
	return nil
}

func countEntries(t *testing.T, st store.Store, interaction string) int {
	n := 0
	for _, e := range auditEntries(t, st) {
		if e.Interaction == interaction {
			n++
		}
	}
	return n
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != k {
		t.Fatalf("err = %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
}

// TestNoSecretsStored signs in, enrols TOTP, issues codes, and then scans
// every stored item and every audit entry for the password, the tokens
// and the codes.
func TestNoSecretsStored(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		setup, _, _ := e.svc.SetupCode(ctx)
		const adminPW = "first admin passphrase"
		a, err := e.svc.UseSetupCode(ctx, setup, User{Username: "boss", DisplayName: "Boss"}, adminPW)
		if err != nil {
			t.Fatal(err)
		}
		u := e.user(t, physician("alice"), goodPassword)
		secrets := []string{adminPW, goodPassword, setup}
		s, err := e.svc.Login(ctx, "alice", goodPassword, Meta{Source: "10.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s.Token)
		e.svc.Login(ctx, "alice", "a wrong guess of it", Meta{})
		secrets = append(secrets, "a wrong guess of it")
		asAlice := access.With(ctx, &access.Principal{Kind: access.User, UserID: u.ID})
		secret, _, _ := e.svc.BeginTOTP(asAlice, u.ID)
		codes, err := e.svc.ConfirmTOTP(asAlice, u.ID, totpCode(t, secret, e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			secrets = append(secrets, c, normalizeCode(c))
		}
		ch, _ := e.svc.Login(ctx, "alice", goodPassword, Meta{})
		secrets = append(secrets, ch.Challenge)
		reset, _ := e.svc.ResetLink(e.op, u.ID, time.Hour)
		inv, _ := e.svc.OneTime(ctx, PurposeInvite, a.ID, time.Hour)
		secrets = append(secrets, reset, inv)
		b, err := e.svc.Login(ctx, "boss", adminPW, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, b.Token)
		if err := e.svc.Logout(ctx, b.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.BreakGlass(ctx, u.ID, "p1", "patient unconscious in the ER"); err != nil {
			t.Fatal(err)
		}

		var stored [][]byte
		for _, kind := range []string{kindUser, kindUserID, kindSession, kindChallenge, kindThrottle, kindOneTime, kindGrant} {
			items, err := e.st.ListItems(ctx, store.ItemQuery{Kind: kind, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				stored = append(stored, []byte(it.Key), []byte(it.Owner), it.Value)
			}
		}
		rows, err := e.st.AuditScan(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			stored = append(stored, r.Data)
		}
		if len(stored) < 20 {
			t.Fatalf("only %d stored values: the scan looks at nothing", len(stored))
		}
		for _, sec := range secrets {
			for _, b := range stored {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("secret %q stored in clear: %.200s", sec, b)
				}
			}
		}
		// Every entry made here reads as a valid AuditEvent.
		v := validate.New(defs.Default(), validate.Options{})
		kinds := map[string]bool{}
		for _, en := range auditEntries(t, e.st) {
			kinds[en.Interaction] = true
			for _, is := range v.Validate(en.AuditEvent("OpenChart")) {
				if is.Severity == "error" || is.Severity == "fatal" {
					t.Errorf("%s entry %d: %s %v: %s", en.Interaction, en.Seq, is.Code, is.Expression, is.Diagnostics)
				}
			}
		}
		if len(kinds) != 5 {
			t.Errorf("entries of %v, want login, login-failed, logout, permission-change and break-glass", kinds)
		}
		// The hashes are there instead.
		if _, err := e.st.GetItem(ctx, kindSession, tokenKey(s.Token)); err != nil {
			t.Errorf("session not stored under its token's hash: %v", err)
		}
	})
}
