package access

import "net/url"

// Scope is one SMART on FHIR resource scope, v1 ("patient/Observation.read")
// or v2 ("patient/Observation.rs?category=laboratory") syntax, normalised to
// v2 permissions.
type Scope struct {
	// Context is "patient", "user" or "system".
	Context string
	// Type is a resource type or "*".
	Type string
	// Perms is the set of v2 permissions: a subset of "cruds" in that order.
	Perms string
	// Query holds a v2 search restriction ("category=laboratory"): only
	// resources matching it are covered by the scope.
	Query url.Values
}

// Non-resource scopes a client may request: they carry no data access of
// their own.
const (
	ScopeOpenID          = "openid"
	ScopeFHIRUser        = "fhirUser"
	ScopeProfile         = "profile"
	ScopeLaunch          = "launch"
	ScopeLaunchPatient   = "launch/patient"
	ScopeLaunchEncounter = "launch/encounter"
	ScopeOfflineAccess   = "offline_access"
	ScopeOnlineAccess    = "online_access"
)
