package validate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// InvariantFunc evaluates the FHIRPath expression of a constraint on node
// (of FHIR type nodeType) within resource, and reports whether it holds.
// An error means the expression could not be evaluated; the validator
// reports it as a warning and carries on.
type InvariantFunc func(expr string, resource map[string]any, node any, nodeType string) (bool, error)

// Options tunes a Validator.
type Options struct {
	// Profiles are canonical URLs of profiles to check in addition to the
	// base definitions. Not implemented yet: New ignores them.
	Profiles []string
	// Invariants, when set, evaluates the FHIRPath invariants of the
	// definitions; nil skips them.
	Invariants InvariantFunc
}

// Validator checks resources against one set of definitions. It is
// immutable after New and safe for concurrent use.
type Validator struct {
	d       *defs.Definitions
	opts    Options
	types   map[string]*typeInfo
	element *typeInfo // the Element type, for primitive extensions ("_given")
	pool    sync.Pool
}

// New builds a Validator over d, precomputing every lookup table it needs.
func New(d *defs.Definitions, opts Options) *Validator {
	v := &Validator{d: d, opts: opts}
	v.buildModel()
	v.pool.New = func() any { return &state{v: v, path: make([]seg, 0, 16)} }
	return v
}

// HasErrors reports whether any issue has severity error or fatal.
func HasErrors(issues []errs.Issue) bool {
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			return true
		}
	}
	return false
}

// Validate checks one resource. It returns nil when the resource is valid;
// otherwise the issues found, ordered by location. Issues of severity
// warning or information do not make a resource invalid (see HasErrors).
func (v *Validator) Validate(res map[string]any) []errs.Issue {
	s := v.pool.Get().(*state)
	s.validateResource(res, false)
	issues := s.issues
	s.reset()
	v.pool.Put(s)
	if len(issues) > 1 {
		sort.SliceStable(issues, func(i, j int) bool { return issues[i].Expression[0] < issues[j].Expression[0] })
	}
	return issues
}

// seg is one step of the location being validated: a property name and,
// inside an array, the index (-1 otherwise).
type seg struct {
	name string
	idx  int
}

// state is the per-call scratch space of Validate.
type state struct {
	v      *Validator
	path   []seg
	issues []errs.Issue
	res    *resourceCtx // the innermost resource being validated
}

func (s *state) reset() {
	s.path = s.path[:0]
	s.issues = nil
	s.res = nil
}

func (s *state) push(name string, idx int) { s.path = append(s.path, seg{name, idx}) }
func (s *state) pop()                      { s.path = s.path[:len(s.path)-1] }

// location renders the current path in FHIRPath style, the way
// OperationOutcome.issue.expression expects: "Patient.name[0].given[1]".
// Choice elements keep their JSON name ("Observation.valueQuantity.value").
func (s *state) location() string {
	var b strings.Builder
	for i, p := range s.path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.name)
		if p.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.idx))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (s *state) report(severity, code, format string, args ...any) {
	s.issues = append(s.issues, errs.Issue{
		Severity:    severity,
		Code:        code,
		Diagnostics: fmt.Sprintf(format, args...),
		Expression:  []string{s.location()},
	})
}

func (s *state) errorf(code, format string, args ...any) { s.report("error", code, format, args...) }
