package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
)

// TestLoginAndLockout signs in, fails, and locks an account after five
// failures for fifteen minutes, answering every failure alike while the
// audit trail tells them apart.
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

// TestSourceLimit sprays failed sign-ins across accounts from one address
// until the address is refused.
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

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTOTP enrols a second factor and signs in with it: codes good once,
// one step of skew, recovery codes spent, challenges expiring.
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

// TestRehash signs in with a hash made with weaker parameters than the
// service's: the hash is replaced, and the password still works.
func TestRehash(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.user(t, physician("alice"), goodPassword)
		stronger := New(e.st, Options{Argon2: Argon2Params{Memory: 2048, Time: 2, Threads: 1}, Now: e.clock.Now})
		if _, err := stronger.Login(ctx, "alice", goodPassword, Meta{}); err != nil {
			t.Fatal(err)
		}
		rec, _, err := stronger.userByKey(ctx, e.st, "alice")
		if err != nil || !strings.HasPrefix(rec.Password, "$argon2id$v=19$m=2048,t=2,p=1$") {
			t.Fatalf("hash after sign-in: %q, %v", rec.Password, err)
		}
		if _, err := e.svc.Login(ctx, "alice", goodPassword, Meta{}); err != nil {
			t.Fatalf("sign-in with the new hash: %v", err)
		}
	})
}
