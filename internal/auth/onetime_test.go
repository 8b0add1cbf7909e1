package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

// TestOneTimeCodes covers the first-start code, password resets and the
// generic codes.
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
