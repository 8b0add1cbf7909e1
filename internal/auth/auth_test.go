package auth

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/demo"
	"github.com/openchart/openchart/internal/errs"
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

func TestPasswordHash(t *testing.T) {
	h := hashPassword(goodPassword, testArgon2)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if strings.Contains(h, goodPassword) {
		t.Fatal("the hash holds the password")
	}
	if ok, stale := verifyPassword(h, goodPassword, testArgon2); !ok || stale {
		t.Errorf("verify right password: ok %v stale %v", ok, stale)
	}
	if ok, _ := verifyPassword(h, goodPassword+"!", testArgon2); ok {
		t.Error("a wrong password verified")
	}
	if _, stale := verifyPassword(h, goodPassword, DefaultArgon2); !stale {
		t.Error("a hash weaker than the configured parameters is not reported stale")
	}
	if h2 := hashPassword(goodPassword, testArgon2); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", h[:len(h)-50]} {
		if ok, _ := verifyPassword(bad, goodPassword, testArgon2); ok {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		name, user, pw string
		ok             bool
	}{
		{"good", "alice", goodPassword, true},
		{"short", "alice", "short-pw", false},
		{"eleven", "alice", "abcdefghijx", false},
		{"username", "alice.smith.md", "Alice.Smith.MD", false},
		{"one character", "alice", "aaaaaaaaaaaaaaa", false},
		{"common", "alice", "Password1234", false},
		{"digit run", "alice", "123456789012", false},
		{"letter run", "alice", "abcdefghijklm", false},
		{"unicode counts characters", "alice", "ééééééééééé", false},
		{"long enough unicode", "alice", "ünïcödé-pässwörd", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPassword(c.user, c.pw)
			if (err == nil) != c.ok {
				t.Fatalf("CheckPassword(%q) = %v, want ok %v", c.pw, err, c.ok)
			}
			if err != nil && (errs.KindOf(err) != errs.Invalid || errs.Message(err) == "") {
				t.Errorf("error %v: want an invalid error with a message", err)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := e.op
		alice := e.user(t, physician("Alice"), goodPassword)
		if alice.ID == "" || alice.Created.IsZero() {
			t.Fatalf("created user %+v", alice)
		}
		// Usernames are unique in any case.
		_, err := e.svc.CreateUser(ctx, physician("ALICE"), "")
		wantKind(t, err, errs.Conflict)
		got, err := e.svc.UserByName(ctx, "aLiCe")
		if err != nil || got.ID != alice.ID {
			t.Fatalf("UserByName = %+v, %v", got, err)
		}
		if got, err := e.svc.GetUser(ctx, alice.ID); err != nil || got.Username != "Alice" {
			t.Fatalf("GetUser = %+v, %v", got, err)
		}
		_, err = e.svc.GetUser(ctx, "nobody")
		wantKind(t, err, errs.NotFound)

		// Bad input is refused with a message for the form.
		for name, u := range map[string]User{
			"bad role":     {Username: "bob", DisplayName: "Bob", Memberships: []Membership{{Organization: "Organization/o1", Roles: []string{"surgeon"}}}},
			"bad username": {Username: "b ob", DisplayName: "Bob"},
			"no name":      {Username: "bob"},
			"bad org":      {Username: "bob", DisplayName: "Bob", Memberships: []Membership{{Organization: "Patient/1", Roles: []string{RoleNurse}}}},
			"bad fhirUser": {Username: "bob", DisplayName: "Bob", FHIRUser: "Observation/1"},
		} {
			_, err := e.svc.CreateUser(ctx, u, "")
			if errs.KindOf(err) != errs.Invalid || errs.Message(err) == "" {
				t.Errorf("%s: err = %v, want invalid with a message", name, err)
			}
		}
		_, err = e.svc.CreateUser(ctx, physician("weak"), "password1234")
		wantKind(t, err, errs.Invalid)

		// Nobody but an operator, the system or an administrator manages accounts.
		_, err = e.svc.CreateUser(context.Background(), physician("carol"), "")
		wantKind(t, err, errs.Permission)
		asAlice := access.With(context.Background(), &access.Principal{Kind: access.User, UserID: alice.ID, Username: "Alice"})
		_, err = e.svc.CreateUser(asAlice, physician("carol"), "")
		wantKind(t, err, errs.Permission)

		// An organization administrator manages the accounts of that organization only.
		adm := e.user(t, User{Username: "orgadmin", DisplayName: "Org Admin",
			Memberships: []Membership{{Organization: "Organization/o1", Roles: []string{RoleAdmin}}}}, "")
		asAdm := access.With(context.Background(), &access.Principal{Kind: access.User, UserID: adm.ID, Username: "orgadmin"})
		if _, err := e.svc.CreateUser(asAdm, physician("dave"), ""); err != nil {
			t.Fatalf("org admin creating a member: %v", err)
		}
		other := physician("erin")
		other.Memberships[0].Organization = "Organization/o2"
		_, err = e.svc.CreateUser(asAdm, other, "")
		wantKind(t, err, errs.Permission)

		// Update: roles change, audited with the target account.
		alice.Memberships[0].Roles = []string{RolePhysician, RoleAdmin}
		upd, err := e.svc.UpdateUser(ctx, *alice)
		if err != nil || len(upd.Memberships[0].Roles) != 2 {
			t.Fatalf("UpdateUser = %+v, %v", upd, err)
		}
		last := lastEntry(t, e.st, audit.InteractionPermissionChange)
		if len(last.Entities) != 1 || last.Entities[0] != (audit.Entity{Type: audit.UserEntity, ID: alice.ID}) ||
			last.Agent.Kind != "operator" || !strings.Contains(last.OutcomeDesc, "physician,admin") {
			t.Errorf("permission-change entry %+v", last)
		}

		list, err := e.svc.ListUsers(ctx, UserQuery{})
		if err != nil || len(list) != 3 || list[0].Username != "Alice" || list[1].Username != "dave" {
			t.Fatalf("ListUsers = %v, %v", names(list), err)
		}
		page, err := e.svc.ListUsers(ctx, UserQuery{After: "Alice", Limit: 1})
		if err != nil || len(page) != 1 || page[0].Username != "dave" {
			t.Fatalf("ListUsers page 2 = %v, %v", names(page), err)
		}
		o1, err := e.svc.ListUsers(ctx, UserQuery{Organization: "Organization/o2"})
		if err != nil || len(o1) != 0 {
			t.Fatalf("ListUsers of o2 = %v, %v", names(o1), err)
		}
	})
}

func names(us []*User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Username)
	}
	return out
}

func TestLoginAndLockout(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := Meta{Source: "10.0.0.7", UserAgent: "test"}
		u := e.user(t, physician("alice"), goodPassword)

		step, err := e.svc.Login(ctx, "ALICE", goodPassword, m)
		if err != nil || step.Token == "" || step.Session == nil || step.Challenge != "" {
			t.Fatalf("Login = %+v, %v", step, err)
		}
		if step.Session.Organization != "Organization/o1" || step.Session.CSRF == "" {
			t.Errorf("session %+v", step.Session)
		}
		login := lastEntry(t, e.st, audit.InteractionLogin)
		if login.Agent.UserID != u.ID || login.Agent.Source != m.Source || login.Outcome != audit.Success || login.Agent.Organization != "Organization/o1" {
			t.Errorf("login entry %+v", login)
		}

		// Unknown users and wrong passwords get the same answer.
		_, errUnknown := e.svc.Login(ctx, "mallory", goodPassword, m)
		wantKind(t, errUnknown, errs.Unauthenticated)
		_, errWrong := e.svc.Login(ctx, "alice", "wrong password!", m)
		wantKind(t, errWrong, errs.Unauthenticated)
		if errUnknown.Error() != errWrong.Error() {
			t.Errorf("unknown user %q and wrong password %q answer differently", errUnknown, errWrong)
		}
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); f.OutcomeDesc != "wrong password" || f.Outcome != audit.MinorFailure || f.Agent.UserID != u.ID {
			t.Errorf("failed login entry %+v", f)
		}

		// Four more failures (five in a row) lock the account ...
		for range 4 {
			_, err := e.svc.Login(ctx, "alice", "wrong password!", m)
			wantKind(t, err, errs.Unauthenticated)
		}
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); !strings.Contains(f.OutcomeDesc, "account locked for 15m") {
			t.Errorf("fifth failure: %q, want the lockout recorded", f.OutcomeDesc)
		}
		// ... so that even the right password fails, answering as a wrong one,
		_, err = e.svc.Login(ctx, "alice", goodPassword, m)
		wantKind(t, err, errs.Unauthenticated)
		if err.Error() != errWrong.Error() {
			t.Errorf("locked answer %q differs from a wrong password's", err)
		}
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); f.OutcomeDesc != "account locked" {
			t.Errorf("attempt while locked audited as %q", f.OutcomeDesc)
		}
		// ... for 15 minutes.
		e.clock.Add(14 * time.Minute)
		_, err = e.svc.Login(ctx, "alice", goodPassword, m)
		wantKind(t, err, errs.Unauthenticated)
		e.clock.Add(2 * time.Minute)
		if _, err := e.svc.Login(ctx, "alice", goodPassword, m); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		// A success resets the count: four failures do not lock.
		for range 4 {
			e.svc.Login(ctx, "alice", "wrong password!", m)
		}
		if _, err := e.svc.Login(ctx, "alice", goodPassword, m); err != nil {
			t.Fatalf("four failures locked the account: %v", err)
		}

		// Checking the current password (before a change) counts failures too.
		if err := e.svc.CheckPassword(ctx, u.ID, goodPassword); err != nil {
			t.Fatalf("CheckPassword right: %v", err)
		}
		for range 5 {
			err := e.svc.CheckPassword(ctx, u.ID, "not my password")
			wantKind(t, err, errs.Unauthenticated)
		}
		if err := e.svc.CheckPassword(ctx, u.ID, goodPassword); errs.KindOf(err) != errs.Unauthenticated {
			t.Fatalf("CheckPassword of a locked account: %v", err)
		}
		_, err = e.svc.Login(ctx, "alice", goodPassword, m)
		wantKind(t, err, errs.Unauthenticated)
		e.clock.Add(16 * time.Minute)

		// A disabled account cannot sign in, and its sessions end.
		step, _ = e.svc.Login(ctx, "alice", goodPassword, m)
		u.Disabled = true
		if _, err := e.svc.UpdateUser(e.op, *u); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.Session(ctx, step.Token)
		wantKind(t, err, errs.Unauthenticated)
		_, err = e.svc.Login(ctx, "alice", goodPassword, m)
		wantKind(t, err, errs.Unauthenticated)
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); f.OutcomeDesc != "account disabled" {
			t.Errorf("disabled login audited as %q", f.OutcomeDesc)
		}
	})
}

func TestSourceLimit(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		svc := New(e.st, Options{Argon2: testArgon2, Now: e.clock.Now, SourceFailures: 3})
		e.user(t, physician("alice"), goodPassword)
		ctx := context.Background()
		spray := Meta{Source: "203.0.113.9"}
		for _, name := range []string{"bob", "carol", "dave"} {
			svc.Login(ctx, name, "Summer-2026-pw", spray)
		}
		// The address is refused now, even with a right password ...
		_, err := svc.Login(ctx, "alice", goodPassword, spray)
		wantKind(t, err, errs.Unauthenticated)
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); !strings.Contains(f.OutcomeDesc, "from this address") {
			t.Errorf("refusal audited as %q", f.OutcomeDesc)
		}
		// ... other addresses are not, and the window passes.
		if _, err := svc.Login(ctx, "alice", goodPassword, Meta{Source: "10.1.1.1"}); err != nil {
			t.Fatalf("another address: %v", err)
		}
		e.clock.Add(16 * time.Minute)
		if _, err := svc.Login(ctx, "alice", goodPassword, spray); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.user(t, User{Username: "alice", DisplayName: "Alice", Memberships: []Membership{
			{Organization: "Organization/o1", Roles: []string{RolePhysician}},
			{Organization: "Organization/o2", Roles: []string{RoleNurse, RoleAdmin}}}}, goodPassword)
		a, err := e.svc.Login(ctx, "alice", goodPassword, Meta{Source: "10.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		sess, user, err := e.svc.Session(ctx, a.Token)
		if err != nil || sess.ID != a.Session.ID || user.ID != u.ID {
			t.Fatalf("Session = %+v %+v %v", sess, user, err)
		}
		if !CheckCSRF(sess, sess.CSRF) || CheckCSRF(sess, sess.CSRF+"x") || CheckCSRF(sess, "") {
			t.Error("CheckCSRF")
		}
		_, _, err = e.svc.Session(ctx, a.Token+"x")
		wantKind(t, err, errs.Unauthenticated)

		// Principal: the organization acted for and the roles held there.
		if err := e.svc.SwitchOrganization(ctx, a.Token, "Organization/o2"); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.SwitchOrganization(ctx, a.Token, "Organization/o3"), errs.Permission)
		sess, user, _ = e.svc.Session(ctx, a.Token)
		p := e.svc.Principal(sess, user, nil, "10.0.0.1")
		if p.Kind != access.User || p.UserID != u.ID || p.Organization != "Organization/o2" || strings.Join(p.Roles, ",") != "nurse,admin" || p.Source != "10.0.0.1" {
			t.Errorf("principal %+v", p)
		}

		// Use keeps a session alive; LastSeen is written at most once a minute.
		before := lastSeen(t, e, a.Token)
		e.clock.Add(30 * time.Second)
		e.svc.Session(ctx, a.Token)
		if got := lastSeen(t, e, a.Token); !got.Equal(before) {
			t.Errorf("LastSeen written after 30 s")
		}
		for range 3 {
			e.clock.Add(10 * time.Minute)
			if _, _, err := e.svc.Session(ctx, a.Token); err != nil {
				t.Fatalf("a session in use ended: %v", err)
			}
		}
		// Idle for longer than the timeout: it ends, and the log-off is audited once.
		e.clock.Add(16 * time.Minute)
		_, _, err = e.svc.Session(ctx, a.Token)
		wantKind(t, err, errs.Unauthenticated)
		_, _, err = e.svc.Session(ctx, a.Token)
		wantKind(t, err, errs.Unauthenticated)
		if lo := lastEntry(t, e.st, audit.InteractionLogout); lo.OutcomeDesc != "idle timeout" || lo.Agent.UserID != u.ID {
			t.Errorf("idle log-off entry %+v", lo)
		}
		if n := countEntries(t, e.st, audit.InteractionLogout); n != 1 {
			t.Errorf("%d logout entries, want 1", n)
		}

		// The absolute lifetime ends even a busy session.
		b, _ := e.svc.Login(ctx, "alice", goodPassword, Meta{})
		for range 12*4 + 1 {
			e.clock.Add(15*time.Minute - time.Second)
			if _, _, err = e.svc.Session(ctx, b.Token); err != nil {
				break
			}
		}
		wantKind(t, err, errs.Unauthenticated)

		// Logout, and logout everywhere.
		c, _ := e.svc.Login(ctx, "alice", goodPassword, Meta{})
		if err := e.svc.Logout(ctx, c.Token); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.Session(ctx, c.Token)
		wantKind(t, err, errs.Unauthenticated)
		var tokens []string
		for range 3 {
			s, _ := e.svc.Login(ctx, "alice", goodPassword, Meta{})
			tokens = append(tokens, s.Token)
		}
		list, err := e.svc.ListSessions(ctx, u.ID)
		if err != nil || len(list) != 3 {
			t.Fatalf("ListSessions = %d, %v", len(list), err)
		}
		asAlice := access.With(ctx, &access.Principal{Kind: access.User, UserID: u.ID, Username: "alice"})
		if err := e.svc.RevokeSession(asAlice, u.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.LogoutEverywhere(ctx, u.ID) // nobody signed in may not
		wantKind(t, err, errs.Permission)
		n, err := e.svc.LogoutEverywhere(asAlice, u.ID)
		if err != nil || n != 2 {
			t.Fatalf("LogoutEverywhere = %d, %v", n, err)
		}
		for _, tok := range tokens {
			if _, _, err := e.svc.Session(ctx, tok); errs.KindOf(err) != errs.Unauthenticated {
				t.Errorf("a session survived sign-out everywhere: %v", err)
			}
		}
		if lo := lastEntry(t, e.st, audit.InteractionLogout); lo.OutcomeDesc != "signed out everywhere (2 sessions)" || lo.Agent.UserID != u.ID {
			t.Errorf("logout-everywhere entry %+v", lo)
		}
	})
}

func lastSeen(t *testing.T, e *env, token string) time.Time {
	t.Helper()
	var d sessionDoc
	if _, err := getJSON(context.Background(), e.st, kindSession, tokenKey(token), &d); err != nil {
		t.Fatal(err)
	}
	return d.LastSeen
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTP(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.user(t, physician("alice"), goodPassword)
		asAlice := access.With(ctx, &access.Principal{Kind: access.User, UserID: u.ID, Username: "alice"})
		_, _, err := e.svc.BeginTOTP(ctx, u.ID)
		wantKind(t, err, errs.Permission)
		secret, url, err := e.svc.BeginTOTP(asAlice, u.ID)
		if err != nil || !strings.HasPrefix(url, "otpauth://totp/OpenChart:alice?") || !strings.Contains(url, "secret="+secret) {
			t.Fatalf("BeginTOTP = %q %q %v", secret, url, err)
		}
		// Until confirmed, sign-in is unchanged.
		if s, err := e.svc.Login(ctx, "alice", goodPassword, Meta{}); err != nil || s.Token == "" {
			t.Fatalf("login before confirmation: %+v %v", s, err)
		}
		_, err = e.svc.ConfirmTOTP(asAlice, u.ID, "000000")
		wantKind(t, err, errs.Invalid)
		now := e.clock.Now()
		codes, err := e.svc.ConfirmTOTP(asAlice, u.ID, totpCode(t, secret, now))
		if err != nil || len(codes) != 10 {
			t.Fatalf("ConfirmTOTP = %v, %v", codes, err)
		}
		if got, _ := e.svc.GetUser(ctx, u.ID); !got.TOTPEnabled {
			t.Error("TOTPEnabled not set")
		}

		// Password, then a code.
		step, err := e.svc.Login(ctx, "alice", goodPassword, Meta{})
		if err != nil || step.Challenge == "" || step.Token != "" {
			t.Fatalf("Login with a second factor = %+v, %v", step, err)
		}
		// The code used to confirm is spent; the next step's code works, once.
		_, err = e.svc.SecondFactor(ctx, step.Challenge, totpCode(t, secret, now), Meta{})
		wantKind(t, err, errs.Unauthenticated)
		e.clock.Add(30 * time.Second)
		code := totpCode(t, secret, e.clock.Now())
		done, err := e.svc.SecondFactor(ctx, step.Challenge, code, Meta{})
		if err != nil || done.Token == "" {
			t.Fatalf("SecondFactor = %+v, %v", done, err)
		}
		if lo := lastEntry(t, e.st, audit.InteractionLogin); lo.OutcomeDesc != "signed in with totp" {
			t.Errorf("login entry %q", lo.OutcomeDesc)
		}
		// The challenge is spent, and the code cannot be replayed with a new one.
		_, err = e.svc.SecondFactor(ctx, step.Challenge, code, Meta{})
		wantKind(t, err, errs.Unauthenticated)
		step, _ = e.svc.Login(ctx, "alice", goodPassword, Meta{})
		_, err = e.svc.SecondFactor(ctx, step.Challenge, code, Meta{})
		wantKind(t, err, errs.Unauthenticated)
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); f.OutcomeDesc != "wrong second factor" {
			t.Errorf("replay audited as %q", f.OutcomeDesc)
		}
		// A code one step late still works (clock skew); two steps late does not.
		e.clock.Add(60 * time.Second)
		_, err = e.svc.SecondFactor(ctx, step.Challenge, totpCode(t, secret, e.clock.Now().Add(-60*time.Second)), Meta{})
		wantKind(t, err, errs.Unauthenticated)
		if _, err := e.svc.SecondFactor(ctx, step.Challenge, totpCode(t, secret, e.clock.Now().Add(-30*time.Second)), Meta{}); err != nil {
			t.Fatalf("a code one step old: %v", err)
		}

		// A recovery code works once, typed in any case and with spaces.
		step, _ = e.svc.Login(ctx, "alice", goodPassword, Meta{})
		typed := " " + strings.ToUpper(codes[3]) + " "
		if _, err := e.svc.SecondFactor(ctx, step.Challenge, typed, Meta{}); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		step, _ = e.svc.Login(ctx, "alice", goodPassword, Meta{})
		_, err = e.svc.SecondFactor(ctx, step.Challenge, codes[3], Meta{})
		wantKind(t, err, errs.Unauthenticated)
		if _, err := e.svc.SecondFactor(ctx, step.Challenge, codes[4], Meta{}); err != nil {
			t.Fatalf("another recovery code: %v", err)
		}

		// A challenge expires.
		step, _ = e.svc.Login(ctx, "alice", goodPassword, Meta{})
		e.clock.Add(6 * time.Minute)
		_, err = e.svc.SecondFactor(ctx, step.Challenge, totpCode(t, secret, e.clock.Now()), Meta{})
		wantKind(t, err, errs.Unauthenticated)
		if f := lastEntry(t, e.st, audit.InteractionLoginFailed); f.OutcomeDesc != "second factor too late" || f.Agent.UserID != u.ID {
			t.Errorf("late second factor audited as %+v", f)
		}

		// Disabling the second factor returns to passwords alone.
		if err := e.svc.DisableTOTP(e.op, u.ID); err != nil {
			t.Fatal(err)
		}
		if s, err := e.svc.Login(ctx, "alice", goodPassword, Meta{}); err != nil || s.Token == "" {
			t.Fatalf("login after DisableTOTP: %+v %v", s, err)
		}
	})
}

func TestOneTimeCodes(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// First start: a setup code, replaced by a fresh one on each call.
		code1, created, err := e.svc.SetupCode(ctx)
		if err != nil || !created || code1 == "" {
			t.Fatalf("SetupCode = %q %v %v", code1, created, err)
		}
		code2, _, _ := e.svc.SetupCode(ctx)
		admin := User{Username: "root-admin", DisplayName: "First Admin"}
		_, err = e.svc.UseSetupCode(ctx, code1, admin, goodPassword)
		wantKind(t, err, errs.Invalid)
		_, err = e.svc.UseSetupCode(ctx, code2, admin, "too weak")
		wantKind(t, err, errs.Invalid)
		a, err := e.svc.UseSetupCode(ctx, code2, admin, goodPassword)
		if err != nil || !a.SystemAdmin {
			t.Fatalf("UseSetupCode = %+v, %v", a, err)
		}
		_, err = e.svc.UseSetupCode(ctx, code2, User{Username: "second", DisplayName: "Second"}, goodPassword)
		wantKind(t, err, errs.Invalid)
		if code, created, err := e.svc.SetupCode(ctx); err != nil || created || code != "" {
			t.Fatalf("SetupCode with an account = %q %v %v", code, created, err)
		}
		if _, err := e.svc.Login(ctx, "root-admin", goodPassword, Meta{}); err != nil {
			t.Fatal(err)
		}

		// Password reset: issued by an administrator, spent once; a weak
		// password leaves the code valid; sessions end.
		asAdmin := access.With(ctx, &access.Principal{Kind: access.User, UserID: a.ID, Username: a.Username})
		u, err := e.svc.CreateUser(asAdmin, physician("bob"), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Login(ctx, "bob", "", Meta{})
		wantKind(t, err, errs.Unauthenticated)
		reset, err := e.svc.ResetLink(asAdmin, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.UseResetLink(ctx, reset, "bob"), errs.Invalid)
		if err := e.svc.UseResetLink(ctx, reset, goodPassword); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.UseResetLink(ctx, reset, goodPassword+"2"), errs.Invalid)
		s, err := e.svc.Login(ctx, "bob", goodPassword, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		reset2, _ := e.svc.ResetLink(asAdmin, u.ID, time.Hour)
		if err := e.svc.UseResetLink(ctx, reset2, "another good passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Session(ctx, s.Token); errs.KindOf(err) != errs.Unauthenticated {
			t.Errorf("a session survived the password reset: %v", err)
		}
		// A reset code expires.
		reset3, _ := e.svc.ResetLink(asAdmin, u.ID, time.Hour)
		e.clock.Add(61 * time.Minute)
		wantKind(t, e.svc.UseResetLink(ctx, reset3, goodPassword), errs.Invalid)

		// The generic codes keep their purpose.
		inv, err := e.svc.OneTime(ctx, PurposeInvite, "Patient/p1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ConsumeOneTime(ctx, PurposeReset, inv)
		wantKind(t, err, errs.Invalid)
		if sub, err := e.svc.ConsumeOneTime(ctx, PurposeInvite, inv); err != nil || sub != "Patient/p1" {
			t.Fatalf("ConsumeOneTime = %q, %v", sub, err)
		}
		_, err = e.svc.ConsumeOneTime(ctx, PurposeInvite, inv)
		wantKind(t, err, errs.Invalid)
	})
}

// TestOneTimeConcurrent spends one code from many goroutines: exactly one
// succeeds.
func TestOneTimeConcurrent(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		code, err := e.svc.OneTime(ctx, PurposeInvite, "x", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				if _, err := e.svc.ConsumeOneTime(ctx, PurposeInvite, code); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if errs.KindOf(err) != errs.Invalid {
					t.Errorf("unexpected error %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("%d goroutines spent the code, want 1", ok)
		}
	})
}

func TestBreakGlass(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		doc := e.user(t, physician("alice"), goodPassword)
		clerk := e.user(t, User{Username: "clerk", DisplayName: "Clerk",
			Memberships: []Membership{{Organization: "Organization/o1", Roles: []string{RoleFrontDesk}}}}, "")
		asDoc := access.With(ctx, &access.Principal{Kind: access.User, UserID: doc.ID, Username: "alice", Source: "10.0.0.3"})

		_, err := e.svc.BreakGlass(asDoc, doc.ID, "Patient/p9", "  urgent ")
		wantKind(t, err, errs.Invalid)
		_, err = e.svc.BreakGlass(ctx, clerk.ID, "p9", "unconscious patient in the ER")
		wantKind(t, err, errs.Permission)

		g, err := e.svc.BreakGlass(asDoc, doc.ID, "Patient/p9", "unconscious patient in the ER")
		if err != nil || g.Patient != "p9" || !g.Until.Equal(e.clock.Now().Add(4*time.Hour)) {
			t.Fatalf("BreakGlass = %+v, %v", g, err)
		}
		en := lastEntry(t, e.st, audit.InteractionBreakGlass)
		if strings.Join(en.Patients, ",") != "p9" || en.Agent.BreakGlassPatient != "p9" ||
			en.Agent.BreakGlassReason != "unconscious patient in the ER" || en.Agent.UserID != doc.ID || en.Agent.Source != "10.0.0.3" {
			t.Errorf("break-glass entry %+v", en)
		}
		grants, err := e.svc.Grants(ctx, doc.ID)
		if err != nil || len(grants) != 1 || grants[0].Patient != "p9" {
			t.Fatalf("Grants = %+v, %v", grants, err)
		}
		s, _ := e.svc.Login(ctx, "alice", goodPassword, Meta{})
		sess, u, _ := e.svc.Session(ctx, s.Token)
		if p := e.svc.Principal(sess, u, grants, ""); len(p.BreakGlass) != 1 || p.BreakGlass[0].Reason != g.Reason {
			t.Errorf("principal grants %+v", p.BreakGlass)
		}
		e.clock.Add(4*time.Hour + time.Second)
		if grants, err := e.svc.Grants(ctx, doc.ID); err != nil || len(grants) != 0 {
			t.Fatalf("Grants after 4 hours = %+v, %v", grants, err)
		}
		if p := e.svc.Principal(sess, u, []access.BreakGlass{*g}, ""); len(p.BreakGlass) != 0 {
			t.Error("Principal kept an expired grant")
		}
		// Expired state is reclaimed: a code that expired a moment ago goes.
		err = e.st.InTx(ctx, func(tx store.Tx) error {
			return tx.PutItem(ctx, &store.Item{Kind: kindOneTime, Key: "stale", Value: []byte(`{}`), Expires: time.Now().Add(-time.Second)})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.Purge(ctx); err != nil || n < 1 {
			t.Errorf("Purge = %d, %v", n, err)
		}
	})
}

func TestPatientAndProxyPrincipal(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.user(t, User{Username: "lan", DisplayName: "Lan Tran", FHIRUser: "RelatedPerson/r1",
			Patients: []string{"Patient/kid1", "kid2"}}, goodPassword)
		s, err := e.svc.Login(ctx, "lan", goodPassword, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Session.Patient != "kid1" {
			t.Errorf("session patient %q", s.Session.Patient)
		}
		wantKind(t, e.svc.SwitchPatient(ctx, s.Token, "Patient/other"), errs.Permission)
		if err := e.svc.SwitchPatient(ctx, s.Token, "Patient/kid2"); err != nil {
			t.Fatal(err)
		}
		sess, u, _ := e.svc.Session(ctx, s.Token)
		p := e.svc.Principal(sess, u, nil, "")
		if p.Patient != "kid2" || strings.Join(p.Patients, ",") != "kid1,kid2" || p.FHIRUser != "RelatedPerson/r1" || p.Organization != "" {
			t.Errorf("proxy principal %+v", p)
		}
	})
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
		// The hashes are there instead.
		if _, err := e.st.GetItem(ctx, kindSession, tokenKey(s.Token)); err != nil {
			t.Errorf("session not stored under its token's hash: %v", err)
		}
	})
}

func TestDemoUsers(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		first, err := EnsureDemoUsers(ctx, e.svc)
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]bool{}
		for _, d := range first {
			roles[d.Role] = true
			if len(d.Password) < MinPasswordLength {
				t.Errorf("%s: password %q", d.Username, d.Password)
			}
			if _, err := e.svc.Login(ctx, d.Username, d.Password, Meta{}); err != nil {
				t.Errorf("%s cannot sign in: %v", d.Username, err)
			}
		}
		for _, r := range []string{"admin", "physician", "nurse", "frontdesk", "biller", "patient", "proxy"} {
			if !roles[r] {
				t.Errorf("no demo %s", r)
			}
		}
		again, err := EnsureDemoUsers(ctx, e.svc)
		if err != nil || len(again) != len(first) {
			t.Fatalf("second EnsureDemoUsers = %v, %v", again, err)
		}
		for _, d := range again {
			if d.Password != "" {
				t.Errorf("%s: password reported again", d.Username)
			}
		}
		lan, _ := e.svc.UserByName(ctx, "lan")
		if lan.FHIRUser != demoParent || strings.Join(lan.Patients, ",") != demoChild {
			t.Errorf("proxy %+v", lan)
		}
	})
}

// TestDemoReferences checks that the demo accounts point at resources the
// demo clinic has.
func TestDemoReferences(t *testing.T) {
	have := map[string]bool{}
	for _, b := range demo.Bundles(time.Now()) {
		entries, _ := b["entry"].([]any)
		for _, en := range entries {
			r, _ := en.(map[string]any)["resource"].(map[string]any)
			typ, _ := r["resourceType"].(string)
			id, _ := r["id"].(string)
			have[typ+"/"+id] = true
		}
	}
	if len(have) < 100 {
		t.Fatalf("only %d demo resources found", len(have))
	}
	for _, ref := range []string{demoOrg, demoPhysician, demoNurse, "Patient/" + demoPatient, "Patient/" + demoChild, demoParent} {
		if !have[ref] {
			t.Errorf("the demo clinic has no %s", ref)
		}
	}
}

// TestConcurrentFailures fails many sign-ins at once: each is counted
// (none lost to a concurrent update) and each answers as a wrong password.
func TestConcurrentFailures(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		svc := New(e.st, Options{Argon2: testArgon2, Now: e.clock.Now, MaxFailures: 100, SourceFailures: 1000})
		u := e.user(t, physician("alice"), goodPassword)
		ctx := context.Background()
		const n = 12
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := svc.Login(ctx, "alice", "wrong password!", Meta{Source: "10.9.9.9"})
				if errs.KindOf(err) != errs.Unauthenticated {
					t.Errorf("concurrent failure answered %v", err)
				}
			})
		}
		wg.Wait()
		th, _, err := svc.readThrottle(ctx, e.st, "user:"+u.ID)
		if err != nil || th.Failures != n {
			t.Errorf("account failures = %d, %v; want %d", th.Failures, err, n)
		}
		src, _, err := svc.readThrottle(ctx, e.st, "ip:10.9.9.9")
		if err != nil || src.Failures != n {
			t.Errorf("address failures = %d, %v; want %d", src.Failures, err, n)
		}
		if got := countEntries(t, e.st, audit.InteractionLoginFailed); got != n {
			t.Errorf("%d login-failed entries, want %d", got, n)
		}
	})
}

// BenchmarkHashPassword measures the cost of one sign-in's hash with the
// production parameters.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		hashPassword(goodPassword, DefaultArgon2)
	}
}
