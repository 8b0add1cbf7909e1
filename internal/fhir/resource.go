package fhir

import (
	"regexp"
	"strings"
)

// TypeOf returns the resourceType of a parsed resource, or "".
func TypeOf(res map[string]any) string {
	s, _ := res["resourceType"].(string)
	return s
}

// IDOf returns the logical id of a parsed resource, or "".
func IDOf(res map[string]any) string {
	s, _ := res["id"].(string)
	return s
}

// Meta returns the resource's meta object, creating it if needed.
func Meta(res map[string]any) map[string]any {
	m, ok := res["meta"].(map[string]any)
	if !ok {
		m = map[string]any{}
		res["meta"] = m
	}
	return m
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

// ValidID reports whether s is a valid FHIR logical id
// (https://hl7.org/fhir/R4/datatypes.html#id).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Clone returns a deep copy of a parsed JSON value.
func Clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Clone(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = Clone(e)
		}
		return a
	default:
		return v
	}
}

// SplitReference splits a relative literal reference "Type/id" or
// "Type/id/_history/vid" into its parts. ok is false for anything else
// (absolute URLs, urn: references, contained "#id" references).
func SplitReference(ref string) (typ, id, vid string, ok bool) {
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 2:
		typ, id = parts[0], parts[1]
	case len(parts) == 4 && parts[2] == "_history":
		typ, id, vid = parts[0], parts[1], parts[3]
	default:
		return "", "", "", false
	}
	if typ == "" || typ[0] < 'A' || typ[0] > 'Z' || !ValidID(id) {
		return "", "", "", false
	}
	return typ, id, vid, true
}
