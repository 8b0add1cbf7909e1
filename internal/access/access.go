// Package access carries who is acting, on whose behalf and from where,
// through a request's context to the Repository, where the access policy
// decides and the audit trail records. Doors (the web UI, the FHIR API,
// OAuth clients, operator commands, feeds) put a Principal in the context;
// nothing below them trusts anything else.
package access

import (
	"context"
	"time"
)

// Kind is the kind of actor.
type Kind uint8

const (
	// Anonymous: no credentials (only public endpoints may serve it).
	Anonymous Kind = iota
	// User: a person signed in to OpenChart (staff, clinician, patient, proxy).
	User
	// Client: an OAuth client acting for itself (SMART Backend Services).
	Client
	// Operator: someone with shell access running an openchart command
	// (import, reindex, token); trusted like the data directory itself.
	Operator
	// System: OpenChart itself (start-up demo data, background jobs).
	System
)

func (k Kind) String() string {
	switch k {
	case User:
		return "user"
	case Client:
		return "client"
	case Operator:
		return "operator"
	case System:
		return "system"
	}
	return "anonymous"
}

// Principal is the actor of a request.
type Principal struct {
	Kind Kind
	// UserID and Username name a User; FHIRUser is the resource the user is
	// ("Practitioner/123", "Patient/9", "RelatedPerson/4").
	UserID   string
	Username string
	FHIRUser string
	// ClientID names the OAuth client the request came through, if any.
	ClientID string
	// Organization is the organization the user acts for now, Roles the
	// roles held there.
	Organization string
	Roles        []string
	// Patient is the patient context of a patient-facing session or token
	// (a patient user, a proxy, or a SMART launch).
	Patient string
	// Patients are all the patients a patient or proxy user may act for
	// (Patient is the one chosen now). Empty for other principals.
	Patients []string
	// Scopes are the granted OAuth/SMART scopes (empty for sessions of the
	// web UI, which act with the user's roles).
	Scopes []string
	// BreakGlass lists the emergency accesses the user declared and that
	// are still in force: each opens one patient's record until it expires.
	BreakGlass []BreakGlass
	// Source is where the request came from (client IP), for the audit trail.
	Source string
	// SystemAdmin: a user who administers the whole deployment (every
	// organization's accounts and clients), who may read the whole audit
	// trail. It gives no access to patient data.
	SystemAdmin bool
}

// BreakGlass is a declared emergency access to a record
// (45 CFR 170.315(d)(6)): always time-limited, always audited.
type BreakGlass struct {
	Patient string
	Reason  string
	Until   time.Time
}

// Who is a short description for logs and audit entries: "user:alice",
// "client:app1", "operator".
func (p *Principal) Who() string {
	if p == nil {
		return Anonymous.String()
	}
	switch {
	case p.Username != "":
		return p.Kind.String() + ":" + p.Username
	case p.ClientID != "":
		return p.Kind.String() + ":" + p.ClientID
	}
	return p.Kind.String()
}

type ctxKey struct{}

// With returns a context carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal of ctx, or nil when none was set.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
