package access

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	lab := url.Values{"category": {"http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}}
	tests := []struct {
		in      string
		want    Scope
		ok      bool
		wantErr bool
	}{
		{in: "patient/Observation.read", want: Scope{Context: "patient", Type: "Observation", Perms: "rs"}, ok: true},
		{in: "user/*.write", want: Scope{Context: "user", Type: "*", Perms: "cud"}, ok: true},
		{in: "system/*.*", want: Scope{Context: "system", Type: "*", Perms: "cruds"}, ok: true},
		{in: "patient/Observation.rs", want: Scope{Context: "patient", Type: "Observation", Perms: "rs"}, ok: true},
		{in: "user/*.cruds", want: Scope{Context: "user", Type: "*", Perms: "cruds"}, ok: true},
		{in: "system/*.rs", want: Scope{Context: "system", Type: "*", Perms: "rs"}, ok: true},
		{in: "user/Patient.c", want: Scope{Context: "user", Type: "Patient", Perms: "c"}, ok: true},
		{in: "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
			want: Scope{Context: "patient", Type: "Observation", Perms: "rs", Query: lab}, ok: true},
		{in: "openid"},
		{in: "fhirUser"},
		{in: "launch/patient"},
		{in: "offline_access"},
		{in: "patient/Observation", wantErr: true},
		{in: "patient/Observation.sr", wantErr: true},          // wrong order
		{in: "patient/Observation.rr", wantErr: true},          // repeated
		{in: "patient/Observation.x", wantErr: true},           // unknown permission
		{in: "patient/Observation.", wantErr: true},            // none
		{in: "patient/observation.rs", wantErr: true},          // not a type
		{in: "patient/Obs-1.rs", wantErr: true},                // not a type
		{in: "patient/Observation.read?code=1", wantErr: true}, // v1 with a query
		{in: "patient/Observation.rs?", wantErr: true},
		{in: "patient/Observation.rs?category=", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok, err := ParseScope(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("scope (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	res, other, err := ParseScopes("openid fhirUser launch/patient patient/*.rs  patient/Observation.read offline_access")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"openid", "fhirUser", "launch/patient", "offline_access"}, other); d != "" {
		t.Errorf("other (-want +got):\n%s", d)
	}
	if len(res) != 2 || res[0].String() != "patient/*.rs" || res[1].String() != "patient/Observation.rs" {
		t.Errorf("resource scopes = %v", res)
	}
	if _, _, err := ParseScopes("openid patient/*.bad"); err == nil {
		t.Error("a malformed scope was accepted")
	}
}

func TestRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nurse := RulesOf(&Principal{Kind: User, Organization: "Organization/1", Roles: []string{"nurse"},
		BreakGlass: []BreakGlass{{Patient: "p1", Reason: "x", Until: now.Add(time.Hour)}, {Patient: "p2", Until: now.Add(-time.Hour)}}}, now)
	frontdesk := RulesOf(&Principal{Kind: User, Organization: "Organization/1", Roles: []string{"frontdesk"},
		BreakGlass: []BreakGlass{{Patient: "p1", Until: now.Add(time.Hour)}}}, now)
	viaApp := RulesOf(&Principal{Kind: User, Organization: "Organization/1", Roles: []string{"physician"}, ClientID: "app", Scopes: []string{"user/Observation.rs"}}, now)
	patient := RulesOf(&Principal{Kind: User, FHIRUser: "Patient/p1", Patient: "p1", Patients: []string{"p1"}}, now)
	proxy := RulesOf(&Principal{Kind: User, FHIRUser: "RelatedPerson/r", Patients: []string{"p1", "p2"}}, now)
	granular := RulesOf(&Principal{Kind: User, Patient: "p1", ClientID: "app", Scopes: []string{"patient/Observation.rs?category=laboratory", "patient/Observation.rs?category=vital-signs"}}, now)
	tests := []struct {
		name string
		r    *Rules
		typ  string
		perm byte
		want bool
	}{
		{"operator", RulesOf(&Principal{Kind: Operator}, now), "Patient", 'd', true},
		{"anonymous", RulesOf(&Principal{Kind: Anonymous}, now), "Patient", 'r', false},
		{"none", RulesOf(nil, now), "Patient", 'r', false},
		{"nurse reads", nurse, "MedicationRequest", 'r', true},
		{"nurse may not prescribe", nurse, "MedicationRequest", 'c', false},
		{"nurse writes observations", nurse, "Observation", 'c', true},
		{"front desk registers", frontdesk, "Patient", 'c', true},
		{"front desk reads no observations", frontdesk, "Observation", 'r', false},
		{"app narrows the roles", viaApp, "Observation", 's', true},
		{"app narrows the roles: condition", viaApp, "Condition", 's', false},
		{"patient reads", patient, "Condition", 's', true},
		{"patient books", patient, "Appointment", 'c', true},
		{"patient may not prescribe", patient, "MedicationRequest", 'c', false},
		{"patient may not update", patient, "Appointment", 'u', false},
		{"granular", granular, "Observation", 's', true},
		{"granular other type", granular, "Condition", 's', false},
		{"staff without org", RulesOf(&Principal{Kind: User, Roles: []string{"physician"}}, now), "Patient", 'r', false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := tc.r.Permit(tc.typ, tc.perm); got != tc.want {
				t.Errorf("Permit(%s, %c) = %v, want %v", tc.typ, tc.perm, got, tc.want)
			}
		})
	}
	if len(nurse.BreakGlass) != 1 || nurse.GrantFor("p1") == nil || nurse.GrantFor("p2") != nil {
		t.Errorf("nurse grants = %+v: want the unexpired one only", nurse.BreakGlass)
	}
	if len(frontdesk.BreakGlass) != 0 {
		t.Errorf("front desk may not break the glass: %+v", frontdesk.BreakGlass)
	}
	if _, restrict := granular.Permit("Observation", 'r'); len(restrict) != 1 || len(restrict[0]) != 2 {
		t.Errorf("granular restrictions = %v, want one group of two queries", restrict)
	}
	if !patient.PatientContext || !patient.Self || len(patient.HiddenLabels()) != 0 {
		t.Errorf("patient rules = %+v", patient)
	}
	if !proxy.Proxy || len(proxy.HiddenLabels()) != 3 || len(proxy.Patients) != 2 {
		t.Errorf("proxy rules = %+v, labels %v", proxy, proxy.HiddenLabels())
	}
	if phys := RulesOf(&Principal{Kind: User, Organization: "o", Roles: []string{"physician"}}, now); len(phys.HiddenLabels()) != 0 {
		t.Errorf("a physician holds the sensitive permission")
	}
	if len(nurse.HiddenLabels()) != 2 {
		t.Errorf("a nurse does not see restricted resources: %v", nurse.HiddenLabels())
	}
}
