package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// TestSessions covers a session's life: the principal, the organization
// switch, LastSeen writes, idle and absolute expiry, sign-out, revoking and
// sign-out everywhere.
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

// TestBreakGlass declares an emergency access, checks its audit entry and
// its expiry, and that expired state is purged.
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

// TestPatientAndProxyPrincipal checks the patient context of a proxy's
// session.
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
