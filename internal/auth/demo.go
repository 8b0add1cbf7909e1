package auth

import (
	"context"
	"fmt"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

// DemoUser is an account of the demo clinic as EnsureDemoUsers reports it.
// Password is set only when the account was created by this call.
type DemoUser struct {
	Username string
	Role     string // admin, physician, nurse, frontdesk, biller, patient, proxy
	Password string
}

// The demo clinic's ids (internal/demo): its organization, Dr. Sarah
// Okafor and Rosa Delgado, FNP, the adult patient Maria Garcia, and Leo
// Tran (7) with his mother Lan Tran as a RelatedPerson.
const (
	demoOrg       = "Organization/demo-riverside-fm"
	demoPhysician = "Practitioner/demo-okafor"
	demoNurse     = "Practitioner/demo-delgado"
	demoPatient   = "demo-maria-garcia"
	demoChild     = "demo-leo-tran"
	demoParent    = "RelatedPerson/demo-leo-tran-mother"
)

var demoUsers = []struct {
	role string
	user User
}{
	{"admin", User{Username: "admin", DisplayName: "Clinic Administrator", SystemAdmin: true,
		Memberships: []Membership{{Organization: demoOrg, Roles: []string{RoleAdmin}}}}},
	{"physician", User{Username: "okafor", DisplayName: "Dr. Sarah Okafor, MD", FHIRUser: demoPhysician,
		Memberships: []Membership{{Organization: demoOrg, Roles: []string{RolePhysician}}}}},
	{"nurse", User{Username: "delgado", DisplayName: "Rosa Delgado, FNP-C", FHIRUser: demoNurse,
		Memberships: []Membership{{Organization: demoOrg, Roles: []string{RoleNurse}}}}},
	{"frontdesk", User{Username: "frontdesk", DisplayName: "Pat Front Desk",
		Memberships: []Membership{{Organization: demoOrg, Roles: []string{RoleFrontDesk}}}}},
	{"biller", User{Username: "biller", DisplayName: "Billy Biller",
		Memberships: []Membership{{Organization: demoOrg, Roles: []string{RoleBiller}}}}},
	{"patient", User{Username: "maria", DisplayName: "Maria Garcia", FHIRUser: "Patient/" + demoPatient,
		Patients: []string{demoPatient}}},
	{"proxy", User{Username: "lan", DisplayName: "Lan Tran", FHIRUser: demoParent,
		Patients: []string{demoChild}}},
}

// EnsureDemoUsers creates the demo clinic's accounts that do not exist
// yet, each with a fresh random password that only this call reports; an
// account that exists is left as it is (its Password is empty: reset it
// with `openchart user reset` to get a new one). The accounts are an
// administrator, a physician and a nurse linked to their Practitioners, a
// front-desk clerk, a biller, a patient (Maria Garcia) and a proxy (Lan
// Tran, mother of Leo Tran). None has a second factor.
func EnsureDemoUsers(ctx context.Context, svc *Service) ([]DemoUser, error) {
	if access.From(ctx) == nil {
		ctx = access.With(ctx, &access.Principal{Kind: access.System})
	}
	var out []DemoUser
	for _, d := range demoUsers {
		_, err := svc.UserByName(ctx, d.user.Username)
		switch {
		case err == nil:
			out = append(out, DemoUser{Username: d.user.Username, Role: d.role})
			continue
		case errs.KindOf(err) != errs.NotFound:
			return nil, err
		}
		pw := demoPassword()
		if _, err := svc.CreateUser(ctx, d.user, pw); err != nil {
			if errs.KindOf(err) == errs.Conflict { // created meanwhile by another server
				out = append(out, DemoUser{Username: d.user.Username, Role: d.role})
				continue
			}
			return nil, fmt.Errorf("creating demo user %s: %w", d.user.Username, err)
		}
		out = append(out, DemoUser{Username: d.user.Username, Role: d.role, Password: pw})
	}
	return out, nil
}

// demoPassword is 16 random characters in groups of four, like a
// recovery code (about 79 bits).
func demoPassword() string { return recoveryCode() }
