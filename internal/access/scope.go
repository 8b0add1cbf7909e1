package access

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

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

// Resource scope contexts (SMART App Launch 2.0, scopes-and-launch-context).
const (
	ContextPatient = "patient"
	ContextUser    = "user"
	ContextSystem  = "system"
)

// permOrder is the order v2 permissions are written in.
const permOrder = "cruds"

// ParseScope parses one scope. Resource scopes ("patient/Observation.rs",
// "user/*.write", "system/*.cruds", "patient/Observation.rs?category=...")
// give ok true; any other well-formed scope ("openid", "launch/patient")
// gives ok false and no error, so that a caller can keep it aside. A string
// that starts like a resource scope but is malformed is an error: a client
// must never be granted more, or other, than it asked for.
//
// SMART v1 permissions are normalised to v2: read is "rs", write "cud",
// "*" is "cruds". Only v2 permissions may carry a query restriction.
func ParseScope(s string) (Scope, bool, error) {
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return Scope{}, false, fmt.Errorf("invalid scope %q", s)
		}
		return Scope{}, false, nil
	}
	ctx := s[:slash]
	switch ctx {
	case ContextPatient, ContextUser, ContextSystem:
	default:
		if strings.ContainsAny(s, " \t\r\n\"\\") {
			return Scope{}, false, fmt.Errorf("invalid scope %q", s)
		}
		return Scope{}, false, nil // launch/patient, launch/encounter, ...
	}
	rest := s[slash+1:]
	var rawQuery string
	hasQuery := false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, rawQuery, hasQuery = rest[:i], rest[i+1:], true
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return Scope{}, false, fmt.Errorf("scope %q has no permissions (expected %s/Type.perms)", s, ctx)
	}
	typ, perms := rest[:dot], rest[dot+1:]
	if !validType(typ) {
		return Scope{}, false, fmt.Errorf("scope %q: %q is not a resource type or *", s, typ)
	}
	sc := Scope{Context: ctx, Type: typ}
	switch perms {
	case "read":
		sc.Perms = "rs"
	case "write":
		sc.Perms = "cud"
	case "*":
		sc.Perms = permOrder
	default:
		if !validPerms(perms) {
			return Scope{}, false, fmt.Errorf("scope %q: permissions %q are not a subset of c, r, u, d, s in that order", s, perms)
		}
		sc.Perms = perms
	}
	if hasQuery {
		if perms == "read" || perms == "write" || perms == "*" {
			return Scope{}, false, fmt.Errorf("scope %q: only SMART v2 permissions may carry a query", s)
		}
		if rawQuery == "" {
			return Scope{}, false, fmt.Errorf("scope %q: empty query", s)
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return Scope{}, false, fmt.Errorf("scope %q: bad query: %v", s, err)
		}
		for k, vs := range q {
			if k == "" || len(vs) == 0 || slices.Contains(vs, "") {
				return Scope{}, false, fmt.Errorf("scope %q: query parameter %q has no value", s, k)
			}
		}
		sc.Query = q
	}
	return sc, true, nil
}

// ParseScopes parses a space-separated scope string (OAuth 2.0 scope
// parameter) into its resource scopes and the other scopes, in order.
func ParseScopes(s string) ([]Scope, []string, error) {
	var res []Scope
	var other []string
	for _, f := range strings.Fields(s) {
		sc, ok, err := ParseScope(f)
		switch {
		case err != nil:
			return nil, nil, err
		case ok:
			res = append(res, sc)
		default:
			other = append(other, f)
		}
	}
	return res, other, nil
}

// String writes the scope in v2 syntax.
func (s Scope) String() string {
	out := s.Context + "/" + s.Type + "." + s.Perms
	if len(s.Query) > 0 {
		out += "?" + s.Query.Encode()
	}
	return out
}

// Has reports whether the scope grants permission p (one of c, r, u, d, s)
// on resources of type typ.
func (s Scope) Has(typ string, p byte) bool {
	return (s.Type == "*" || s.Type == typ) && strings.IndexByte(s.Perms, p) >= 0
}

func validType(t string) bool {
	if t == "*" {
		return true
	}
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validPerms: a non-empty subsequence of "cruds".
func validPerms(p string) bool {
	if p == "" {
		return false
	}
	j := 0
	for i := 0; i < len(p); i++ {
		k := strings.IndexByte(permOrder[j:], p[i])
		if k < 0 {
			return false
		}
		j += k + 1
	}
	return true
}
