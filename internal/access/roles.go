package access

// Role names as internal/auth defines them (auth.RolePhysician...). They
// are repeated here as plain strings because access sits below auth; the
// table below is the one place that says what each role may do.
const (
	rolePhysician = "physician"
	roleNurse     = "nurse"
	roleFrontDesk = "frontdesk"
	roleBiller    = "biller"
	roleAdmin     = "admin"
)

// Extra permissions a role may hold beyond its scopes.
const (
	// PermSensitive: may see resources labelled restricted or very
	// restricted (meta.security v3-Confidentiality R or V).
	PermSensitive = "sensitive"
	// PermBreakGlass: may declare an emergency access to a record the
	// user could not otherwise see (the grant itself is auth's business).
	PermBreakGlass = "break-glass"
	// PermAudit: may read the audit trail of the organization: the
	// entries of everyone acting for it (the scope AuditEvent.rs is needed
	// too; without this permission it reaches AuditEvents apps recorded,
	// not the trail).
	PermAudit = "audit"
)

// Role is what holders of one role may do in their organization: SMART v2
// "user/" scopes, scopes taken away again (Deny, for "everything but"),
// and extra permissions.
type Role struct {
	Scopes []string
	Deny   []string
	Perms  []string
}

// billingTypes are the resources a biller writes.
var billingTypes = []string{"Claim", "ClaimResponse", "ChargeItem", "Account", "ExplanationOfBenefit", "Invoice", "Coverage"}

// Roles returns the role table: role name -> what it may do. It is data,
// documented in docs/ACCESS.md; a deployment that needs other roles
// changes this table. The map is a fresh copy.
func Roles() map[string]Role {
	frontdesk := []string{
		"user/Patient.crus", "user/RelatedPerson.crus", "user/Coverage.crus",
		"user/Appointment.cruds", "user/Schedule.crus", "user/Slot.crus",
		"user/Encounter.crus", // check-in
		"user/Location.rs", "user/Practitioner.rs", "user/PractitionerRole.rs", "user/Organization.rs",
	}
	biller := []string{
		"user/Patient.rs", "user/Encounter.rs", "user/Condition.rs", "user/Procedure.rs",
	}
	for _, t := range billingTypes {
		biller = append(biller, "user/"+t+".cruds")
	}
	return map[string]Role{
		rolePhysician: {Scopes: []string{"user/*.cruds"}, Perms: []string{PermSensitive, PermBreakGlass}},
		roleNurse: {Scopes: []string{"user/*.cruds"}, Deny: []string{"user/MedicationRequest.c"},
			Perms: []string{PermBreakGlass}},
		roleFrontDesk: {Scopes: frontdesk},
		roleBiller:    {Scopes: biller},
		roleAdmin: {Scopes: []string{
			"user/Organization.cruds", "user/Practitioner.cruds", "user/PractitionerRole.cruds",
			"user/Location.cruds", "user/HealthcareService.cruds", "user/Consent.cruds",
			"user/AuditEvent.rs", // the audit report
		}, Perms: []string{PermAudit}},
	}
}

// patientScopes are what a patient (or proxy) user may do about the
// patients they act for: read everything of their compartment, and create
// the few resources a patient writes (a message, a booking, a
// questionnaire's answers, a consent).
var patientScopes = []string{
	"patient/*.rs",
	"patient/Communication.c", "patient/Appointment.c",
	"patient/QuestionnaireResponse.c", "patient/Consent.c",
}
