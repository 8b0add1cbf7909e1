package schedule

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	// The machine may lack the system's zone database; templates name IANA
	// zones, so the package carries its own copy.
	_ "time/tzdata"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// Config holds the service's dependencies and the clinic's rules.
type Config struct {
	// Repo is the Repository every read and write goes through (required).
	Repo *repo.Repo
	// Compiler compiles the FHIR searches the service runs (required): the
	// compiler the FHIR API uses, so parameters mean what they mean there.
	Compiler *search.Compiler
	// Now gives the current time (default time.Now).
	Now func() time.Time
	// VirtualBase is the https URL under which virtual visits get their
	// rooms ("https://meet.example.org/openchart"); a virtual booking's
	// join link is VirtualBase + "/" + a random room id. Without it,
	// virtual visits cannot be booked.
	VirtualBase string
	// CancelNotice is how long before the start a patient may still cancel
	// or reschedule by themselves (default 24 hours; the clinic's staff may
	// always cancel).
	CancelNotice time.Duration
}

// Service runs the clinic's scheduling. It is safe for concurrent use.
type Service struct {
	repo        *repo.Repo
	compiler    *search.Compiler
	now         func() time.Time
	virtualBase string
	notice      time.Duration
}

// DefaultCancelNotice is the notice period patients must give when the
// configuration sets none.
const DefaultCancelNotice = 24 * time.Hour

// New checks the configuration and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errors.New("schedule: no repository")
	case cfg.Compiler == nil:
		return nil, errors.New("schedule: no search compiler")
	}
	if cfg.VirtualBase != "" {
		u, err := url.Parse(cfg.VirtualBase)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("schedule: the virtual visit base %q must be an https URL without query or fragment", cfg.VirtualBase)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CancelNotice == 0 {
		cfg.CancelNotice = DefaultCancelNotice
	}
	if cfg.CancelNotice < 0 {
		return nil, errors.New("schedule: the cancellation notice cannot be negative")
	}
	return &Service{repo: cfg.Repo, compiler: cfg.Compiler, now: cfg.Now,
		virtualBase: strings.TrimSuffix(cfg.VirtualBase, "/"), notice: cfg.CancelNotice}, nil
}

// CancelNotice is the notice period of PatientMayCancel.
func (s *Service) CancelNotice() time.Duration { return s.notice }

// Code is a coded value (a Coding); Text alone is allowed where the
// element is a CodeableConcept.
type Code struct {
	System, Code, Display string
	Text                  string
}

func (c Code) zero() bool { return c == Code{} }

func (c Code) concept() map[string]any {
	cc := map[string]any{}
	if c.Code != "" {
		coding := map[string]any{"code": c.Code}
		if c.System != "" {
			coding["system"] = c.System
		}
		if c.Display != "" {
			coding["display"] = c.Display
		}
		cc["coding"] = []any{coding}
	}
	if c.Text != "" {
		cc["text"] = c.Text
	}
	return cc
}

func codeOf(v any) Code {
	cc := fhir.Obj(v)
	var c Code
	c.Text = fhir.Str(cc["text"])
	if cs := fhir.List(cc["coding"]); len(cs) > 0 {
		m := fhir.Obj(cs[0])
		c.System, c.Code, c.Display = fhir.Str(m["system"]), fhir.Str(m["code"]), fhir.Str(m["display"])
	}
	return c
}

// Label is the text to show for the code.
func (c Code) Label() string {
	switch {
	case c.Text != "":
		return c.Text
	case c.Display != "":
		return c.Display
	}
	return c.Code
}

// principal refuses a context without a principal: every call is made for
// someone, whom the Repository checks and records.
func principal(ctx context.Context, op string) error {
	if access.From(ctx) == nil {
		return errs.E(op, errs.Unauthenticated, "scheduling needs a signed-in user")
	}
	return nil
}

// checkRef checks a relative reference "Type/id" to one of types and
// returns its id.
func checkRef(op, field, ref string, types ...string) (string, error) {
	typ, id, vid, ok := fhir.SplitReference(ref)
	if ok && vid == "" {
		for _, t := range types {
			if typ == t {
				return id, nil
			}
		}
	}
	return "", errs.E(op, errs.Invalid, fmt.Sprintf("%s must be a reference to a %s (\"%s/id\"), not %q", field, strings.Join(types, " or "), types[0], ref),
		errs.Issue{Severity: "error", Code: "value", Diagnostics: "expected " + strings.Join(types, " or ") + "/id", Expression: []string{field}})
}

func checkID(op, field, id string) error {
	if !fhir.ValidID(id) {
		return errs.E(op, errs.Invalid, fmt.Sprintf("%q is not a valid id", id),
			errs.Issue{Severity: "error", Code: "value", Diagnostics: "an id is 1 to 64 letters, digits, '-' or '.'", Expression: []string{field}})
	}
	return nil
}

func parse(rec *store.Record) (map[string]any, error) {
	return fhir.ParseStored("schedule", rec.Type, rec.ID, rec.JSON)
}

// instant formats t as a FHIR instant in its own zone, to the second.
func instant(t time.Time) string { return t.Format(time.RFC3339) }

func parseInstant(v any) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, fhir.Str(v))
	return t
}

// query compiles FHIR search parameters strictly.
func (s *Service) query(typ string, params url.Values) (*store.Query, error) {
	c, err := s.compiler.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	return c.Query, nil
}

// pageSize is the size of the pages all() reads.
const pageSize = 500

// all runs a query page by page and returns every match.
func (s *Service) all(ctx context.Context, typ string, params url.Values) ([]*store.Record, error) {
	q, err := s.query(typ, params)
	if err != nil {
		return nil, err
	}
	q.Count = pageSize
	var out []*store.Record
	for {
		res, err := s.repo.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Records...)
		if !res.More || len(res.Records) == 0 {
			return out, nil
		}
		q.Offset += len(res.Records)
	}
}

// names returns the display names of patients by reference, in one search.
func (s *Service) names(ctx context.Context, refs []string) (map[string]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, r := range refs {
		typ, id, _, ok := fhir.SplitReference(r)
		if ok && typ == "Patient" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	recs, err := s.all(ctx, "Patient", url.Values{"_id": {strings.Join(ids, ",")}})
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		out["Patient/"+rec.ID] = PersonName(res)
	}
	return out, nil
}

// PersonName is the name to show for a Patient or Practitioner: its
// official (else first) name as "Given Family", or its text.
func PersonName(res map[string]any) string {
	var pick map[string]any
	for _, n := range fhir.List(res["name"]) {
		m := fhir.Obj(n)
		if m == nil {
			continue
		}
		if pick == nil || fhir.Str(m["use"]) == "official" && fhir.Str(pick["use"]) != "official" {
			pick = m
		}
	}
	if pick == nil {
		return ""
	}
	if t := fhir.Str(pick["text"]); t != "" {
		return t
	}
	var parts []string
	for _, g := range fhir.List(pick["given"]) {
		if g := fhir.Str(g); g != "" {
			parts = append(parts, g)
		}
	}
	if f := fhir.Str(pick["family"]); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}
