package smart

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
)

// nonResource are the scopes that carry no data access of their own
// (SMART App Launch 2.0, scopes-and-launch-context.html).
var nonResource = []string{
	access.ScopeOpenID, access.ScopeFHIRUser, access.ScopeProfile, access.ScopeLaunch,
	access.ScopeLaunchPatient, access.ScopeLaunchEncounter, access.ScopeOfflineAccess, access.ScopeOnlineAccess,
}

// scope is one parsed scope: either a non-resource scope (Name) or a
// resource scope (Res).
type scope struct {
	Name string
	Res  *access.Scope
	raw  string // as written
}

// splitScopes splits a space-separated scope parameter (RFC 6749 §3.3).
func splitScopes(s string) []string {
	return strings.Fields(s)
}

// parseScope parses one scope: a non-resource scope SMART defines, or a
// resource scope in v1 or v2 syntax (access.ParseScope, which normalises
// v1 permissions to v2).
func parseScope(s string) (scope, error) {
	if slices.Contains(nonResource, s) {
		return scope{Name: s, raw: s}, nil
	}
	res, ok, err := access.ParseScope(s)
	if err != nil {
		return scope{}, err
	}
	if !ok {
		return scope{}, fmt.Errorf("%w %q", errUnknownScope, s)
	}
	return scope{Res: &res, raw: s}, nil
}

var errUnknownScope = errors.New("unknown scope")

// parseRequested parses the scopes of an authorization request: scopes it
// does not know are left out (RFC 6749 §3.3 lets the server ignore part of
// a request; the token response says what was granted), malformed
// resource scopes are refused.
func parseRequested(list []string) ([]scope, error) {
	var out []scope
	for _, s := range list {
		sc, err := parseScope(s)
		if errors.Is(err, errUnknownScope) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// parseScopes parses a scope list, failing on the first scope it does not
// know (invalid_scope).
func parseScopes(list []string) ([]scope, error) {
	out := make([]scope, 0, len(list))
	for _, s := range list {
		sc, err := parseScope(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

func formatResource(s access.Scope) string { return s.String() }

// narrow returns the part of requested that allowed permits: the more
// specific resource type, the common permissions, the search restriction
// of either (they must agree when both have one). ok is false when
// nothing is left.
func narrow(allowed, requested access.Scope) (access.Scope, bool) {
	if allowed.Context != requested.Context {
		return access.Scope{}, false
	}
	out := access.Scope{Context: requested.Context}
	switch {
	case allowed.Type == "*":
		out.Type = requested.Type
	case requested.Type == "*" || requested.Type == allowed.Type:
		out.Type = allowed.Type
	default:
		return access.Scope{}, false
	}
	for _, c := range "cruds" {
		if strings.ContainsRune(allowed.Perms, c) && strings.ContainsRune(requested.Perms, c) {
			out.Perms += string(c)
		}
	}
	if out.Perms == "" {
		return access.Scope{}, false
	}
	switch {
	case len(allowed.Query) == 0:
		out.Query = requested.Query
	case len(requested.Query) == 0 || requested.Query.Encode() == allowed.Query.Encode():
		out.Query = allowed.Query
	default:
		return access.Scope{}, false
	}
	return out, true
}

// grantable computes the scopes granted for a request: each requested scope
// as far as the client's registered scopes allow it (narrowed when they
// allow less) and as far as permit allows its context. The order of the
// request is kept; duplicates are dropped.
func grantable(requested, registered []scope, permit func(scope) bool) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, rq := range requested {
		if !permit(rq) {
			continue
		}
		for _, rg := range registered {
			switch {
			case rq.Res == nil && rg.Res == nil && rq.Name == rg.Name:
				add(rq.Name)
			case rq.Res != nil && rg.Res != nil:
				if n, ok := narrow(*rg.Res, *rq.Res); ok {
					if n.Type == rq.Res.Type && n.Perms == rq.Res.Perms && n.Query.Encode() == rq.Res.Query.Encode() {
						add(rq.raw)
					} else {
						add(formatResource(n))
					}
				}
			}
		}
	}
	return out
}

// has reports whether the scope list holds name.
func has(scopes []string, name string) bool { return slices.Contains(scopes, name) }

// describe says what a scope allows, in plain language, for the consent
// screen.
func describe(s string) string {
	switch s {
	case access.ScopeOpenID:
		return "Confirm who you are"
	case access.ScopeFHIRUser:
		return "Know which person in the record you are"
	case access.ScopeProfile:
		return "See your name"
	case access.ScopeLaunch, access.ScopeLaunchPatient:
		return "Know which patient's record is open"
	case access.ScopeLaunchEncounter:
		return "Know which visit is open"
	case access.ScopeOfflineAccess:
		return "Keep access when you are not using the app, until you revoke it"
	case access.ScopeOnlineAccess:
		return "Keep access while you are signed in"
	}
	sc, err := parseScope(s)
	if err != nil || sc.Res == nil {
		return s
	}
	r := sc.Res
	var verbs []string
	for _, c := range r.Perms {
		verbs = append(verbs, map[rune]string{'c': "create", 'r': "read", 'u': "update", 'd': "delete", 's': "search"}[c])
	}
	what := "all kinds of data"
	if r.Type != "*" {
		what = r.Type + " records"
	}
	whose := map[string]string{
		"patient": "of the selected patient",
		"user":    "you can access",
		"system":  "of every patient",
	}[r.Context]
	d := strings.Join(verbs, ", ") + " " + what + " " + whose
	if len(r.Query) > 0 {
		d += " (only where " + r.Query.Encode() + ")"
	}
	return strings.ToUpper(d[:1]) + d[1:]
}
