package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/demo"
	"github.com/openchart/openchart/internal/errs"
)

// TestUsers creates, finds, updates and lists accounts, with the refusals
// of bad input and of callers who may not manage accounts.
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

// TestDemoUsers creates the demo accounts once: their passwords work and
// are reported only the first time.
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
