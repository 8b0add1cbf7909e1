package visit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/safety"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// Config holds the service's dependencies.
type Config struct {
	// Repo is the Repository every read and write goes through (required).
	Repo *repo.Repo
	// Compiler compiles the FHIR searches the service runs (required): the
	// same compiler the FHIR API uses, so parameters mean what they mean
	// there.
	Compiler *search.Compiler
	// Codes looks up ICD-10-CM, LOINC and RxNorm codes (default
	// TerminologyCodes: the embedded code systems).
	Codes Codes
	// Safety runs the drug-allergy, interaction and duplicate-therapy
	// checks of a prescription (default safety.Default(): the embedded
	// knowledge set).
	Safety SafetyChecker
	// Organization is the deployment's own organization ("Organization/1"),
	// the serviceProvider of an encounter when the principal acts for no
	// organization (optional).
	Organization string
}

// Service is the visit workflow. It is safe for concurrent use.
type Service struct {
	repo     *repo.Repo
	compiler *search.Compiler
	codes    Codes
	safety   SafetyChecker
	org      string
}

// New checks the configuration and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errors.New("visit: no repository")
	case cfg.Compiler == nil:
		return nil, errors.New("visit: no search compiler")
	}
	if cfg.Codes == nil {
		cfg.Codes = TerminologyCodes()
	}
	if cfg.Safety == nil {
		cfg.Safety = safety.Default()
	}
	if cfg.Organization != "" && !isRef(cfg.Organization, "Organization") {
		return nil, fmt.Errorf("visit: organization %q is not an Organization reference", cfg.Organization)
	}
	return &Service{repo: cfg.Repo, compiler: cfg.Compiler, codes: cfg.Codes, safety: cfg.Safety, org: cfg.Organization}, nil
}

// FieldErrors maps the fields of a form or request to what is wrong with
// them, in words a clinician reads next to the field ("Systolic pressure
// must be between 50 and 300 mmHg"). Operations return it inside an
// errs.Invalid error; Fields extracts it.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	keys := f.keys()
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + f[k]
	}
	return strings.Join(parts, "; ")
}

func (f FieldErrors) keys() []string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// add records msg for field unless the field already has a message (the
// first problem found is the one to fix first).
func (f FieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// err returns nil when f is empty, else the errs.Invalid error carrying f,
// with one OperationOutcome issue per field (its expression is the field
// name), so the FHIR API and the web pages show the same messages.
func (f FieldErrors) err(op string) error {
	if len(f) == 0 {
		return nil
	}
	keys := f.keys()
	issues := make([]errs.Issue, len(keys))
	for i, k := range keys {
		issues[i] = errs.Issue{Severity: "error", Code: "invalid", Diagnostics: f[k], Expression: []string{k}}
	}
	msg := f[keys[0]]
	if len(keys) > 1 {
		msg = fmt.Sprintf("%d fields need attention", len(keys))
	}
	return errs.E(op, errs.Invalid, msg, f, issues)
}

// Fields returns the field errors inside err, or nil.
func Fields(err error) FieldErrors {
	var f FieldErrors
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// fieldErr is a one-field error.
func fieldErr(op, field, msg string) error {
	return FieldErrors{field: msg}.err(op)
}

// principal returns the caller, refusing a context without one: the
// Repository checks and records who acts, and the visit records them as
// performer, author or requester.
func principal(ctx context.Context, op string) (*access.Principal, error) {
	p := access.From(ctx)
	if p == nil || p.Kind == access.Anonymous {
		return nil, errs.E(op, errs.Unauthenticated, "sign-in required")
	}
	return p, nil
}

// ---- references ------------------------------------------------------

// isRef reports whether s is a relative reference "Type/id" to typ.
func isRef(s, typ string) bool {
	t, id, ok := strings.Cut(s, "/")
	return ok && t == typ && fhir.ValidID(id)
}

// normRef accepts "Type/id" or a bare id and returns "Type/id", or "" when
// s is neither.
func normRef(s, typ string) string {
	s = strings.TrimSpace(s)
	if isRef(s, typ) {
		return s
	}
	if fhir.ValidID(s) {
		return typ + "/" + s
	}
	return ""
}

// normAnyRef is normRef over several allowed types; a bare id takes the
// first.
func normAnyRef(s string, types ...string) string {
	s = strings.TrimSpace(s)
	for _, t := range types {
		if isRef(s, t) {
			return s
		}
	}
	if fhir.ValidID(s) {
		return types[0] + "/" + s
	}
	return ""
}

func splitRef(ref string) (typ, id string) {
	typ, id, _ = strings.Cut(ref, "/")
	return typ, id
}

// ---- reading ---------------------------------------------------------

// reader is what Repo and Tx have in common for reads.
type reader interface {
	Read(ctx context.Context, typ, id string) (*store.Record, error)
	Search(ctx context.Context, q *store.Query) (*store.Result, error)
}

// doc is a resource read for the workflow, with its version.
type doc struct {
	Type, ID string
	Version  int64
	Res      map[string]any
}

func (d *doc) Ref() string { return d.Type + "/" + d.ID }

func parseRecord(rec *store.Record) (*doc, error) {
	res, err := fhir.ParseStored("visit", rec.Type, rec.ID, rec.JSON)
	if err != nil {
		return nil, err
	}
	return &doc{Type: rec.Type, ID: rec.ID, Version: rec.Version, Res: res}, nil
}

// load reads ref. A missing or deleted resource is a field error on field
// ("No patient Patient/9 was found"); other failures pass through.
func load(ctx context.Context, r reader, op, field, ref, what string) (*doc, error) {
	typ, id := splitRef(ref)
	rec, err := r.Read(ctx, typ, id)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound || errs.KindOf(err) == errs.Gone {
			return nil, fieldErr(op, field, fmt.Sprintf("No %s %s was found", what, ref))
		}
		return nil, err
	}
	return parseRecord(rec)
}

// exists checks that ref names a stored resource, adding a field error
// when it does not.
func exists(ctx context.Context, r reader, fe FieldErrors, field, ref, what string) error {
	typ, id := splitRef(ref)
	_, err := r.Read(ctx, typ, id)
	switch errs.KindOf(err) {
	case errs.Other:
		if err != nil {
			return err
		}
	case errs.NotFound, errs.Gone:
		fe.add(field, fmt.Sprintf("No %s %s was found", what, ref))
	default:
		return err
	}
	return nil
}

// find runs a FHIR search of typ with params (compiled strictly) and
// returns every match, without paging.
func (s *Service) find(ctx context.Context, r reader, typ string, params url.Values) ([]*doc, error) {
	c, err := s.compiler.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	q := c.Query
	q.Count, q.Offset, q.Total = 0, 0, store.TotalNone
	res, err := r.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*doc, 0, len(res.Records))
	for _, rec := range res.Records {
		d, err := parseRecord(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ---- encounters --------------------------------------------------------

// openStatuses are the Encounter statuses in which the visit can still be
// documented and ordered for.
var openStatuses = map[string]bool{"planned": true, "arrived": true, "triaged": true, "in-progress": true, "onleave": true}

// encounter is an Encounter read for a step of the visit.
type encounter struct {
	*doc
	Patient string // "Patient/id"
	Status  string
}

// loadEncounter reads the encounter of a step; open requires it to be
// still open for documentation.
func loadEncounter(ctx context.Context, r reader, op, id string, open bool) (*encounter, error) {
	ref := normRef(id, "Encounter")
	if ref == "" {
		return nil, fieldErr(op, "encounter", "Choose the visit (an encounter id)")
	}
	d, err := load(ctx, r, op, "encounter", ref, "visit")
	if err != nil {
		return nil, err
	}
	e := &encounter{doc: d, Patient: fhir.RefOf(d.Res["subject"])}
	e.Status = fhir.Str(d.Res["status"])
	if !isRef(e.Patient, "Patient") {
		return nil, fieldErr(op, "encounter", "The visit has no patient")
	}
	if open && !openStatuses[e.Status] {
		return nil, errs.E(op, errs.Conflict, fmt.Sprintf("The visit is %s; it can no longer be changed", e.Status),
			errs.Issue{Severity: "error", Code: "business-rule", Diagnostics: "the encounter is " + e.Status, Expression: []string{"encounter"}})
	}
	return e, nil
}

// clinician returns the Practitioner (or PractitionerRole) acting: the
// principal's own FHIR user when it is one, else the encounter's first
// practitioner participant.
func clinician(p *access.Principal, enc map[string]any) string {
	if isRef(p.FHIRUser, "Practitioner") || isRef(p.FHIRUser, "PractitionerRole") {
		return p.FHIRUser
	}
	return encounterPractitioner(enc)
}

func encounterPractitioner(enc map[string]any) string {
	parts := fhir.List(enc["participant"])
	for _, pt := range parts {
		m := fhir.Obj(pt)
		if ref := fhir.RefOf(m["individual"]); isRef(ref, "Practitioner") || isRef(ref, "PractitionerRole") {
			return ref
		}
	}
	return ""
}

// derivedID is the id of the one resource of a kind that belongs to
// another ("note-<encounter id>"), or a fresh id when that would be too
// long for a FHIR id.
func derivedID(prefix, id string) string {
	if d := prefix + "-" + id; fhir.ValidID(d) {
		return d
	}
	return repo.NewID()
}

// ---- values ------------------------------------------------------------

// dateTime renders t as a FHIR dateTime in UTC, to the second.
func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// decimal renders v as a FHIR decimal with at most places decimals, without
// trailing zeros.
func decimal(v float64, places int) json.Number {
	p := math.Pow(10, float64(places))
	v = math.Round(v*p) / p
	return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func concept(system, code, display string) map[string]any {
	cc := map[string]any{"coding": []any{coding(system, code, display)}}
	if display != "" {
		cc["text"] = display
	}
	return cc
}

// parseDate accepts a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) that is not
// in the future, returning the message to show when it is not.
func parseDate(s string, now time.Time) (string, string) {
	s = strings.TrimSpace(s)
	layouts := []string{"2006-01-02", "2006-01", "2006"}
	for _, l := range layouts {
		if len(s) != len(l) {
			continue
		}
		t, err := time.Parse(l, s)
		if err != nil {
			break
		}
		if t.After(now) {
			return "", "The date cannot be in the future"
		}
		if t.Year() < 1900 {
			return "", "The date must be after 1900"
		}
		return s, ""
	}
	return "", "Enter a date as YYYY-MM-DD"
}

// Code system URIs written by the visit.
const (
	sysLOINC        = "http://loinc.org"
	sysSNOMED       = "http://snomed.info/sct"
	sysUCUM         = "http://unitsofmeasure.org"
	sysICD10CM      = "http://hl7.org/fhir/sid/icd-10-cm"
	sysRxNorm       = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysActCode      = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysObsCategory  = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysCondCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
	sysCondClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVer      = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysDiagRole     = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
	sysParticipant  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysSignature    = "urn:iso-astm:E1762-95:2013"
	sysProvAgent    = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	sysDocCategory  = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
	sysDoseRate     = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
	sysTemplate     = "http://openchart.org/fhir/CodeSystem/note-template"
	sysRequisition  = "http://openchart.org/fhir/sid/requisition"
)
