package access

import (
	"testing"
	"time"
)

// TestAuditScope: which part of the audit trail each kind of principal
// reads.
func TestAuditScope(t *testing.T) {
	staff := func(role string) *Principal {
		return &Principal{Kind: User, Username: "u", Organization: "Organization/x", Roles: []string{role}}
	}
	sysadmin := staff("nurse")
	sysadmin.SystemAdmin = true
	tests := []struct {
		name string
		p    *Principal
		want AuditScope
	}{
		{"nobody", nil, AuditNone},
		{"anonymous", &Principal{Kind: Anonymous}, AuditNone},
		{"operator", &Principal{Kind: Operator}, AuditAll},
		{"system", &Principal{Kind: System}, AuditAll},
		{"backend service", &Principal{Kind: Client, ClientID: "c", Scopes: []string{"system/AuditEvent.rs"}}, AuditAll},
		{"patient app", &Principal{Kind: Client, ClientID: "c", Patient: "p", Scopes: []string{"patient/*.rs"}}, AuditPatients},
		{"patient", &Principal{Kind: User, Username: "p", Patient: "p", Patients: []string{"p"}}, AuditPatients},
		{"admin", staff("admin"), AuditOrganization},
		{"physician", staff("physician"), AuditNone},
		{"front desk", staff("frontdesk"), AuditNone},
		{"system administrator in an organization", sysadmin, AuditAll},
		{"system administrator of none", &Principal{Kind: User, Username: "s", SystemAdmin: true}, AuditAll},
		{"user of no organization and no patient", &Principal{Kind: User, Username: "n"}, AuditNone},
	}
	for _, tc := range tests {
		r := RulesOf(tc.p, time.Now())
		if got := r.AuditScope(); got != tc.want {
			t.Errorf("%s: AuditScope = %d, want %d", tc.name, got, tc.want)
		}
	}
	// A system administrator of no organization may search the trail and
	// nothing of any patient.
	r := RulesOf(&Principal{Kind: User, Username: "s", SystemAdmin: true}, time.Now())
	if ok, _ := r.Permit("AuditEvent", 's'); !ok {
		t.Error("system administrator: AuditEvent search refused")
	}
	if ok, _ := r.Permit("Observation", 's'); ok || !r.PatientContext || len(r.Patients) != 0 {
		t.Errorf("system administrator: Observation permitted %v, patient context %v %v", ok, r.PatientContext, r.Patients)
	}
}
