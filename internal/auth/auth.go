// Package auth holds who may sign in and how: user accounts with their
// organization memberships and roles, argon2id password hashes, TOTP second
// factors with recovery codes, throttling and lockout, sign-in sessions,
// one-time links (first-start setup, password reset, invitations) and
// break-the-glass grants. Everything lives in the store as server state
// (store.Item), and every change that matters (sign-in, failed sign-in,
// sign-out, permission change, break-the-glass) is audited in the same
// transaction as the change.
//
// It knows nothing of HTTP: the web front door (internal/web) and the
// OAuth server (internal/smart) call it.
package auth

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/access"
)

// Roles a user may hold in an organization. What each role may do is the
// access policy's business (access.RoleScopes); these are the names.
const (
	RolePhysician = "physician"
	RoleNurse     = "nurse"
	RoleFrontDesk = "frontdesk"
	RoleBiller    = "biller"
	RoleAdmin     = "admin" // manages users, clients and the audit report of the organization
)

// User is an account. Staff and clinicians hold roles in organizations;
// patients and proxies act for the patients listed in Patients.
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username"` // unique, case-insensitive
	DisplayName string `json:"displayName"`
	// FHIRUser is the resource the user is: "Practitioner/1",
	// "Patient/9", "RelatedPerson/4" (empty for pure staff accounts).
	FHIRUser string `json:"fhirUser,omitempty"`
	// Memberships are the organizations the user works for and the roles
	// held in each.
	Memberships []Membership `json:"memberships,omitempty"`
	// Patients are the patients a patient or proxy user may act for
	// (themselves, or the people they are a proxy for).
	Patients []string `json:"patients,omitempty"`
	// SystemAdmin may manage every organization's users and clients.
	SystemAdmin bool `json:"systemAdmin,omitempty"`
	Disabled    bool `json:"disabled,omitempty"`
	// TOTPEnabled reports whether a second factor is enrolled.
	TOTPEnabled bool      `json:"totpEnabled,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Membership is a user's roles in one organization ("Organization/1").
type Membership struct {
	Organization string   `json:"organization"`
	Roles        []string `json:"roles"`
}

// Session is a signed-in browser session. Its token is only ever held by
// the browser (a cookie); the store keeps a hash of it.
type Session struct {
	ID           string    `json:"id"`
	UserID       string    `json:"userId"`
	Organization string    `json:"organization,omitempty"` // the membership acted under now
	Patient      string    `json:"patient,omitempty"`      // patient/proxy users: the patient acted for now
	CSRF         string    `json:"csrf"`                   // per-session secret for CSRF tokens
	Created      time.Time `json:"created"`
	LastSeen     time.Time `json:"lastSeen"`
	Expires      time.Time `json:"expires"` // absolute limit
	Source       string    `json:"source,omitempty"`
	UserAgent    string    `json:"userAgent,omitempty"`
}

// Service is the identity service. See New in service.go.
//
// The methods below are its surface (implemented in this package):
//
//	CreateUser(ctx, u User, password string) (*User, error)       // admin or operator; audited
//	UpdateUser(ctx, u User) (*User, error)                        // roles, memberships, disabled; audited
//	GetUser(ctx, id string) (*User, error)
//	UserByName(ctx, username string) (*User, error)
//	ListUsers(ctx, q UserQuery) ([]*User, error)
//	SetPassword(ctx, userID, password string) error               // audited; rejects weak passwords
//	ResetLink(ctx, userID string, ttl time.Duration) (string, error) // one-time code; audited
//	UseResetLink(ctx, code, newPassword string) error
//	SetupCode(ctx) (code string, created bool, err error)         // first start: no users yet -> a one-time code
//	UseSetupCode(ctx, code string, admin User, password string) (*User, error)
//
//	BeginTOTP(ctx, userID) (secret, otpauthURL string, err error) // enrolment; confirmed by ConfirmTOTP
//	ConfirmTOTP(ctx, userID, code string) (recoveryCodes []string, err error)
//	DisableTOTP(ctx, userID string) error
//
//	Login(ctx, username, password string, m Meta) (*LoginStep, error) // throttled, lockout, audited
//	SecondFactor(ctx, challenge, code string, m Meta) (*LoginStep, error) // TOTP or recovery code
//	Session(ctx, token string) (*Session, *User, error)           // idle timeout; touches LastSeen
//	SwitchOrganization(ctx, token, org string) error
//	Logout(ctx, token string) error                               // audited
//	LogoutEverywhere(ctx, userID string) (int, error)             // audited
//	ListSessions(ctx, userID string) ([]*Session, error)
//
//	BreakGlass(ctx, userID, patient, reason string) (*access.BreakGlass, error) // audited, time-limited
//	Grants(ctx, userID string) ([]access.BreakGlass, error)       // active break-the-glass grants
//
//	Principal(s *Session, u *User, grants []access.BreakGlass, source string) *access.Principal
type UserQuery struct {
	Organization string // only members of this organization ("" for all)
	After        string // paging by username
	Limit        int
}

// Meta describes where a sign-in attempt comes from, for throttling and
// the audit trail.
type Meta struct {
	Source    string // client IP
	UserAgent string
}

// LoginStep is the outcome of a sign-in step: either a session (Token is
// the cookie value to set) or a second-factor challenge to answer.
type LoginStep struct {
	Token     string   // the session token (set when signed in)
	Session   *Session // set when signed in
	User      *User
	Challenge string // set when a second factor is needed
}

var _ = context.Background
var _ access.Kind

// SessionCookie is the name of the browser session cookie (its value is a
// session token). The web pages and the OAuth authorization endpoint both
// read it.
const SessionCookie = "oc_session"

// CSRFField is the form field that carries a state-changing form's CSRF
// token: the session's CSRF secret, compared in constant time
// (CheckCSRF), plus an Origin/Referer check by the web layer.
const CSRFField = "csrf"
