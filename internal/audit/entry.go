package audit

import (
	"slices"
	"time"

	"github.com/openchart/openchart/internal/access"
)

// Action is AuditEvent.action (https://hl7.org/fhir/R4/valueset-audit-event-action.html).
type Action string

const (
	Create  Action = "C"
	Read    Action = "R" // read, view, print, search, query
	Update  Action = "U"
	Delete  Action = "D"
	Execute Action = "E" // an operation, login, logout, export
)

// Interaction names what was done, in FHIR's words where FHIR has one
// (https://hl7.org/fhir/R4/valueset-type-restful-interaction.html) and in
// OpenChart's for the security events.
const (
	InteractionRead             = "read"
	InteractionVRead            = "vread"
	InteractionSearch           = "search"
	InteractionCreate           = "create"
	InteractionUpdate           = "update"
	InteractionPatch            = "patch"
	InteractionDelete           = "delete"
	InteractionHistory          = "history"
	InteractionExport           = "export"
	InteractionLogin            = "login"
	InteractionLoginFailed      = "login-failed"
	InteractionLogout           = "logout"
	InteractionPermissionChange = "permission-change"
	InteractionBreakGlass       = "break-glass"
)

// ActionOf is the AuditEvent.action of an interaction.
func ActionOf(interaction string) Action {
	switch interaction {
	case InteractionRead, InteractionVRead, InteractionSearch, InteractionHistory:
		return Read
	case InteractionCreate:
		return Create
	case InteractionUpdate, InteractionPatch, InteractionPermissionChange:
		return Update
	case InteractionDelete:
		return Delete
	}
	return Execute
}

// Outcome is AuditEvent.outcome (https://hl7.org/fhir/R4/valueset-audit-event-outcome.html).
type Outcome int

const (
	Success        Outcome = 0
	MinorFailure   Outcome = 4  // the request was refused: invalid, not found, denied, conflict
	SeriousFailure Outcome = 8  // the server failed to carry it out
	MajorFailure   Outcome = 12 // the action made the service unavailable
)

// Agent is who acted: the fields of access.Principal that the trail keeps.
type Agent struct {
	Kind         string // access.Kind: anonymous, user, client, operator, system
	UserID       string
	Username     string
	FHIRUser     string // "Practitioner/123"
	ClientID     string // the OAuth client the request came through
	Organization string
	Roles        []string
	Patient      string // the patient context of the session or token
	// BreakGlassPatient and BreakGlassReason record a declared emergency
	// access (170.315(d)(6)).
	BreakGlassPatient string
	BreakGlassReason  string
	Source            string // network address of the request
}

// AgentOf copies a principal; nil is an anonymous agent.
func AgentOf(p *access.Principal) Agent {
	if p == nil {
		return Agent{Kind: access.Anonymous.String()}
	}
	a := Agent{Kind: p.Kind.String(), UserID: p.UserID, Username: p.Username, FHIRUser: p.FHIRUser,
		ClientID: p.ClientID, Organization: p.Organization, Roles: slices.Clone(p.Roles),
		Patient: p.Patient, Source: p.Source}
	if len(p.BreakGlass) > 0 {
		a.BreakGlassPatient, a.BreakGlassReason = p.BreakGlass[0].Patient, p.BreakGlass[0].Reason
	}
	return a
}

// Name is the agent's name in reports: the username, else the client, else
// the kind ("operator", "system", "anonymous").
func (a Agent) Name() string {
	switch {
	case a.Username != "":
		return a.Username
	case a.ClientID != "":
		return a.ClientID
	}
	return a.Kind
}

// Entity is a resource the interaction touched. ID is empty for a search
// or history of a whole type; Version is 0 when it does not apply.
type Entity struct {
	Type    string
	ID      string
	Version int64
}

// UserEntity is the Entity.Type of a user account (an identity-service
// record, not a FHIR resource): permission changes name the account they
// changed with it.
const UserEntity = "User"

// Param is one search parameter value, as the client sent it.
type Param struct {
	Name  string
	Value string
}

// Entry is one audit entry.
type Entry struct {
	// Seq is the entry's position in the chain (from 1), assigned by the
	// store when it appends the entry.
	Seq         int64
	Recorded    time.Time // UTC, microseconds
	Action      Action
	Interaction string
	Outcome     Outcome
	// OutcomeDesc says why an interaction failed (the message a client saw).
	OutcomeDesc string
	Agent       Agent
	Entities    []Entity
	// Patients are the ids of the patients whose data the interaction
	// touched or returned (sorted, no duplicates).
	Patients []string
	// Query holds a search's parameters (this is the audit trail: it may
	// hold identifying values).
	Query []Param
}

// Columns are the fields of an entry a store keeps in columns of its own
// so that reports can filter and sort on them. Verify checks that they
// equal those of the hashed entry.
type Columns struct {
	Recorded    time.Time
	Action      string
	Interaction string
	Outcome     int
	User        string // Agent.Name()
	UserID      string
	FHIRUser    string
	// Organization is Agent.Organization as the canonical bytes spell it
	// (Escape): a store can take it from the bytes alone, which is how
	// entries recorded before the column existed got theirs.
	Organization string
	Patients     []string
}

// Columns returns the entry's column values.
func (e *Entry) Columns() Columns {
	return Columns{Recorded: e.Recorded, Action: string(e.Action), Interaction: e.Interaction,
		Outcome: int(e.Outcome), User: e.Agent.Name(), UserID: e.Agent.UserID, FHIRUser: e.Agent.FHIRUser,
		Organization: Escape(e.Agent.Organization), Patients: SortPatients(slices.Clone(e.Patients))}
}

func (c *Columns) equal(o *Columns) bool {
	return c.Recorded.Equal(o.Recorded) && c.Action == o.Action && c.Interaction == o.Interaction &&
		c.Outcome == o.Outcome && c.User == o.User && c.UserID == o.UserID && c.FHIRUser == o.FHIRUser &&
		c.Organization == o.Organization && slices.Equal(c.Patients, o.Patients)
}

// SortPatients sorts and deduplicates ids, dropping empty ones.
func SortPatients(ids []string) []string {
	ids = slices.DeleteFunc(ids, func(s string) bool { return s == "" })
	slices.Sort(ids)
	return slices.Compact(ids)
}
