package access

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// ConsentModel is the deployment's consent setting: whether staff of an
// organization see the patients of another only after those patients
// opted in, or unless they opted out (docs/ACCESS.md).
type ConsentModel uint8

const (
	// OptIn (the default): another organization sees a patient after an
	// active Consent permits it.
	OptIn ConsentModel = iota
	// OptOut: an organization that treated a patient (an Encounter it
	// provided) sees the patient unless an active Consent denies it.
	OptOut
)

// ParseConsentModel reads the setting's name: "opt-in" or "opt-out".
func ParseConsentModel(s string) (ConsentModel, bool) {
	switch s {
	case "", "opt-in":
		return OptIn, true
	case "opt-out":
		return OptOut, true
	}
	return OptIn, false
}

func (m ConsentModel) String() string {
	if m == OptOut {
		return "opt-out"
	}
	return "opt-in"
}

// Rules is what one principal may do, computed once per request by RulesOf.
// The Repository turns it into query clauses; nothing here touches data.
type Rules struct {
	// Unrestricted principals (operators, OpenChart itself) skip every check.
	Unrestricted bool
	// Refused principals (anonymous, none) may do nothing with data.
	Refused bool
	// groups: a permission needs a covering scope in every group (the
	// role's scopes, intersected with the scopes of the token the request
	// came with). deny takes permissions away again.
	groups [][]Scope
	deny   []Scope
	// PatientContext limits patient data to the compartments of Patients.
	PatientContext bool
	Patients       []string
	// Organization, when set, limits patient data to the patients that
	// organization may see (managing organization, consent, break-glass).
	Organization string
	// Staff is true for users acting in an organization: compartment-type
	// resources of no patient (organizational data) are visible to them.
	Staff bool
	// BreakGlass lists the grants in force.
	BreakGlass []BreakGlass
	// Sensitive: may see restricted and very restricted resources.
	Sensitive bool
	// Auditor: may read the organization's part of the audit trail;
	// SystemAdmin the whole of it (Principal.SystemAdmin).
	Auditor, SystemAdmin bool
	// Proxy: acts for someone else (a RelatedPerson user), who does not see
	// what is labelled confidential to the patient (HiddenLabels).
	Proxy bool
	// Self: a patient acting for themselves, who sees their whole record,
	// labels included.
	Self bool
}

// RulesOf computes the rules of p at time now. A nil principal is refused.
func RulesOf(p *Principal, now time.Time) *Rules {
	if p == nil {
		return &Rules{Refused: true}
	}
	switch p.Kind {
	case Operator, System:
		return &Rules{Unrestricted: true}
	case Client:
		return clientRules(p)
	case User:
		return userRules(p, now)
	}
	return &Rules{Refused: true}
}

func parseAll(ss []string) []Scope {
	var out []Scope
	for _, s := range ss {
		if sc, ok, err := ParseScope(s); err == nil && ok {
			out = append(out, sc)
		}
	}
	return out
}

func hasContext(scopes []Scope, ctx string) bool {
	return slices.ContainsFunc(scopes, func(s Scope) bool { return s.Context == ctx })
}

// clientRules: SMART Backend Services act with their system/ scopes over
// every patient; a client token with patient/ scopes is confined to its
// launch patient.
func clientRules(p *Principal) *Rules {
	tok := parseAll(p.Scopes)
	r := &Rules{groups: [][]Scope{tok}}
	if hasContext(tok, ContextPatient) {
		r.PatientContext = true
		if p.Patient != "" {
			r.Patients = []string{p.Patient}
		}
	}
	return r
}

func userRules(p *Principal, now time.Time) *Rules {
	tok := parseAll(p.Scopes)
	viaClient := p.ClientID != "" && len(p.Scopes) > 0
	r := &Rules{}
	if p.Organization != "" && len(p.Roles) > 0 {
		// Staff and clinicians: the union of their roles' scopes.
		table := Roles()
		var scopes, deny []Scope
		perms := map[string]bool{}
		for _, name := range p.Roles {
			role, ok := table[name]
			if !ok {
				continue
			}
			scopes = append(scopes, parseAll(role.Scopes)...)
			deny = append(deny, parseAll(role.Deny)...)
			for _, x := range role.Perms {
				perms[x] = true
			}
		}
		if p.SystemAdmin {
			scopes = append(scopes, parseAll(auditScopes)...)
		}
		r.groups, r.deny = [][]Scope{scopes}, deny
		r.Organization, r.Staff, r.SystemAdmin = p.Organization, true, p.SystemAdmin
		r.Sensitive, r.Auditor = perms[PermSensitive], perms[PermAudit]
		if perms[PermBreakGlass] {
			for _, g := range p.BreakGlass {
				if g.Patient != "" && g.Until.After(now) {
					r.BreakGlass = append(r.BreakGlass, g)
				}
			}
		}
		if viaClient {
			r.groups = append(r.groups, tok)
			if hasContext(tok, ContextPatient) {
				// An EHR launch with patient/ scopes: that patient only,
				// and only if the organization may see them.
				r.PatientContext = true
				if p.Patient != "" {
					r.Patients = []string{p.Patient}
				}
			}
		}
		return r
	}
	pats := slices.Clone(p.Patients)
	if p.Patient != "" && !slices.Contains(pats, p.Patient) {
		pats = append(pats, p.Patient)
	}
	if len(pats) == 0 {
		if p.SystemAdmin {
			// A system administrator acting for no organization: the
			// audit trail, and no patient's data (an empty patient set).
			r.groups, r.PatientContext, r.SystemAdmin = [][]Scope{parseAll(auditScopes)}, true, true
			if viaClient {
				r.groups = append(r.groups, tok)
			}
			return r
		}
		// Neither staff nor a patient: no data at all.
		return &Rules{Refused: true}
	}
	r.groups = [][]Scope{parseAll(patientScopes)}
	r.PatientContext = true
	r.Patients = pats
	if viaClient {
		r.groups = append(r.groups, tok)
		if p.Patient != "" {
			r.Patients = []string{p.Patient}
		}
	}
	r.Proxy = strings.HasPrefix(p.FHIRUser, "RelatedPerson/")
	r.Self = !r.Proxy
	return r
}

// auditScopes are what a system administrator holds beside their roles:
// the search and read of the audit trail.
var auditScopes = []string{"user/AuditEvent.rs"}

// AuditScope is the part of the audit trail a principal may read, on top
// of the AuditEvent search permission a report needs (docs/ACCESS.md, "The
// audit trail").
type AuditScope uint8

const (
	// AuditNone: none of it (staff without the audit permission, the
	// anonymous).
	AuditNone AuditScope = iota
	// AuditAll: the whole trail (operators, OpenChart itself, system
	// administrators, backend services that act over every patient).
	AuditAll
	// AuditOrganization: the entries of everyone acting for
	// Rules.Organization (that organization's auditors).
	AuditOrganization
	// AuditPatients: the entries that concern Rules.Patients and no other
	// patient (patients, proxies, apps in a patient context).
	AuditPatients
)

// AuditScope says which entries of the audit trail the rules let the
// principal read.
func (r *Rules) AuditScope() AuditScope {
	switch {
	case r.Unrestricted:
		return AuditAll
	case r.Refused:
		return AuditNone
	case r.SystemAdmin:
		return AuditAll
	case r.Staff:
		if r.Auditor {
			return AuditOrganization
		}
		return AuditNone
	case r.PatientContext:
		return AuditPatients
	}
	return AuditAll
}

// Permit reports whether the rules grant permission perm (one of c, r, u,
// d, s) on resources of type typ. When the covering scopes carry query
// restrictions, restrict lists them: every element must hold, and holds
// when any of its queries matches (scopes of one group are OR-ed, groups
// AND-ed).
func (r *Rules) Permit(typ string, perm byte) (ok bool, restrict [][]url.Values) {
	if r.Unrestricted {
		return true, nil
	}
	if r.Refused {
		return false, nil
	}
	for _, d := range r.deny {
		if len(d.Query) == 0 && d.Has(typ, perm) {
			return false, nil
		}
	}
	for _, g := range r.groups {
		var qs []url.Values
		covered, open := false, false
		for _, s := range g {
			if !s.Has(typ, perm) {
				continue
			}
			covered = true
			if len(s.Query) == 0 {
				open = true
				break
			}
			qs = append(qs, s.Query)
		}
		if !covered {
			return false, nil
		}
		if !open {
			restrict = append(restrict, qs)
		}
	}
	return len(r.groups) > 0, restrict
}

// GrantFor returns the break-the-glass grant in force for patient, if any.
func (r *Rules) GrantFor(patient string) *BreakGlass {
	for i := range r.BreakGlass {
		if r.BreakGlass[i].Patient == patient {
			return &r.BreakGlass[i]
		}
	}
	return nil
}

// Security labels (http://hl7.org/fhir/R4/security-labels.html).
const (
	ConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	ActCodeSystem         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// Label is a security label (a meta.security coding).
type Label struct{ System, Code string }

// HiddenLabels are the labels of resources these rules may not see:
// restricted (R) and very restricted (V) without the sensitive permission;
// for proxies also what the patient asked to keep to themselves (v3-ActCode
// PRS, "patient requested sensitivity": an adolescent's confidential care).
//
// A patient acting for themselves sees their own record whole.
func (r *Rules) HiddenLabels() []Label {
	if r.Self {
		return nil
	}
	var out []Label
	if !r.Sensitive || r.Proxy {
		out = append(out, Label{ConfidentialitySystem, "R"}, Label{ConfidentialitySystem, "V"})
	}
	if r.Proxy {
		out = append(out, Label{ActCodeSystem, "PRS"})
	}
	return out
}
