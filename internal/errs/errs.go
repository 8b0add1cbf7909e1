// Package errs is OpenChart's one error type: an operation, a kind from a
// small append-only set, and the underlying error. Every door maps kinds to
// its own vocabulary in one place (the FHIR API to HTTP status codes and
// OperationOutcome issues), and tests match on kinds, not on message text.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
// The set is append-only: never renumber.
type Kind uint8

const (
	Other            Kind = iota // unclassified; treated as Internal at the edges
	Invalid                      // the request or resource is malformed or fails validation
	NotFound                     // no such resource (or the caller may not know it exists)
	Gone                         // the resource existed and was deleted
	Conflict                     // a version or uniqueness conflict
	Precondition                 // an If-Match / If-None-Exist style precondition failed
	Permission                   // authenticated but not allowed
	Unauthenticated              // no or bad credentials
	TooLarge                     // a size or count limit was exceeded
	NotSupported                 // the server does not do this
	Transient                    // try again later (store unavailable, timeout)
	Internal                     // a bug or an unexpected failure
	MultipleMatches              // a conditional operation matched more than one resource
	MethodNotAllowed             // the interaction is not defined on this endpoint
)

var kindNames = [...]string{
	Other:            "other",
	Invalid:          "invalid",
	NotFound:         "not-found",
	Gone:             "gone",
	Conflict:         "conflict",
	Precondition:     "precondition-failed",
	Permission:       "forbidden",
	Unauthenticated:  "unauthenticated",
	TooLarge:         "too-large",
	NotSupported:     "not-supported",
	Transient:        "transient",
	Internal:         "internal",
	MultipleMatches:  "multiple-matches",
	MethodNotAllowed: "method-not-allowed",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Issue is one finding about a request or a resource, in the terms of a FHIR
// OperationOutcome.issue: Severity is fatal|error|warning|information, Code is
// from the IssueType value set (invalid, structure, required, value,
// invariant, not-found, ...), Expression holds FHIRPath locations.
type Issue struct {
	Severity    string
	Code        string
	Diagnostics string
	Expression  []string
}

// Error is the error type. Op says what was being done ("read Patient/123"),
// Msg is safe to show to a client, Err is the cause (logged, never shown when
// Kind is Internal or Other), Issues carries detailed findings.
type Error struct {
	Op     string
	Kind   Kind
	Msg    string
	Issues []Issue
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Msg != "" {
		b.WriteString(e.Msg)
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error. Arguments may be, in any order: a Kind, a string (the
// first is Op, the second Msg), an error (the cause), an Issue or []Issue.
// When no Kind is given and the cause is an *Error, its Kind is inherited.
func E(args ...any) error {
	e := &Error{}
	strs := 0
	for _, a := range args {
		switch v := a.(type) {
		case Kind:
			e.Kind = v
		case string:
			if strs == 0 {
				e.Op = v
			} else {
				e.Msg = v
			}
			strs++
		case *Error:
			e.Err = v
		case error:
			e.Err = v
		case Issue:
			e.Issues = append(e.Issues, v)
		case []Issue:
			e.Issues = append(e.Issues, v...)
		default:
			panic(fmt.Sprintf("errs.E: bad argument of type %T", a))
		}
	}
	if e.Kind == Other {
		var inner *Error
		if errors.As(e.Err, &inner) {
			e.Kind = KindOf(inner)
		}
	}
	return e
}

// Errorf is shorthand for an Error of a kind with a formatted client-safe message.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of err: the first non-Other kind in its chain of
// *Error values, or Other.
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Kind != Other {
			return e.Kind
		}
		err = errors.Unwrap(err)
	}
	return Other
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }

// Message is the text a client may see: the outermost non-empty Msg in the
// chain, or a generic text for the kind. Causes of Internal errors are never
// revealed.
func Message(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if x, ok := e.(*Error); ok && x.Msg != "" {
			return x.Msg
		}
	}
	switch KindOf(err) {
	case NotFound:
		return "resource not found"
	case Gone:
		return "resource deleted"
	case Conflict:
		return "version conflict"
	case Precondition:
		return "precondition failed"
	case Permission:
		return "access denied"
	case Unauthenticated:
		return "authentication required"
	case TooLarge:
		return "request too large"
	case NotSupported:
		return "not supported"
	case Transient:
		return "service temporarily unavailable"
	case Invalid:
		return "invalid request"
	}
	return "internal server error"
}

// IssuesOf collects the Issues of every *Error in err's chain, outermost first.
func IssuesOf(err error) []Issue {
	var out []Issue
	for e := err; e != nil; e = errors.Unwrap(e) {
		if x, ok := e.(*Error); ok {
			out = append(out, x.Issues...)
		}
	}
	return out
}
