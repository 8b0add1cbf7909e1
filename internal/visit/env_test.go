package visit_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/visit"
)

// env is a whole OpenChart stack on one store with the visit service and
// a small clinic: an organization, a physician, and a patient with a
// recorded penicillin allergy.
type env struct {
	t        *testing.T
	app      *app.App
	compiler *search.Compiler
	svc      *visit.Service
	op       context.Context // an operator: setup and checks
	doctor   context.Context // the physician, signed in
	org      string
	prac     string
	patient  string
	allergy  string
}

// stores lists the stores every test runs on.
var stores = map[string]func(t *testing.T) app.Config{
	"sqlite": func(t *testing.T) app.Config {
		return app.Config{DataDir: t.TempDir(), Logger: quiet()}
	},
	"postgres": func(t *testing.T) app.Config {
		return app.Config{DB: pgtest.URL(t), Logger: quiet()}
	},
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestVisit runs the visit's scenarios on both stores, in parallel: one
// stack per store, a fresh patient per scenario, scenarios one after the
// other (they compare resource counts before and after).
func TestVisit(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"WholeVisit", wholeVisit},
		{"Override", override},
		{"Amend", amend},
		{"SignedDocumentsAreImmutable", signedDocumentsAreImmutable},
		{"BadInput", badInput},
		{"StartFromAppointment", startFromAppointment},
		{"ResolveProblem", resolveProblem},
		{"ImagingAndReferral", imagingAndReferral},
		{"Roles", roles},
	}
	for name, cfg := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := newEnv(t, cfg(t))
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) { s.run(t, base.fresh(t)) })
			}
		})
	}
}

func newEnv(t *testing.T, cfg app.Config) *env {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	comp := search.NewCompilerFrom(a.Registry)
	svc, err := visit.New(visit.Config{Repo: a.Repo, Compiler: comp})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, compiler: comp, svc: svc,
		op: access.With(context.Background(), &access.Principal{Kind: access.Operator})}
	e.org = e.create(map[string]any{"resourceType": "Organization", "name": "Riverside Family Practice", "active": true})
	e.prac = e.create(map[string]any{"resourceType": "Practitioner",
		"name": []any{map[string]any{"family": "Okafor", "given": []any{"Ada"}, "prefix": []any{"Dr."}}}})
	e.doctor = access.With(context.Background(), &access.Principal{
		Kind: access.User, UserID: "u1", Username: "aokafor", FHIRUser: e.prac,
		Organization: e.org, Roles: []string{"physician"},
	})
	return e
}

// fresh returns the stack for one scenario: a new patient with a recorded
// penicillin allergy, and t for failures.
func (base *env) fresh(t *testing.T) *env {
	e := *base
	e.t = t
	e.patient = e.create(map[string]any{"resourceType": "Patient",
		"name":                 []any{map[string]any{"family": "Lindqvist", "given": []any{"Maja"}}},
		"gender":               "female",
		"birthDate":            "1984-03-12",
		"managingOrganization": map[string]any{"reference": e.org}})
	e.allergy = e.create(map[string]any{"resourceType": "AllergyIntolerance",
		"clinicalStatus": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}}},
		"verificationStatus": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}}},
		"category":    []any{"medication"},
		"criticality": "high",
		"code": map[string]any{"coding": []any{map[string]any{
			"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "70618", "display": "penicillin"}},
			"text": "Penicillin"},
		"patient": map[string]any{"reference": e.patient}})
	return &e
}

// create stores res as the operator and returns its reference.
func (e *env) create(res map[string]any) string {
	e.t.Helper()
	out, err := e.app.Repo.Create(e.op, res, repo.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating %s: %v", res["resourceType"], err)
	}
	return out.Record.Type + "/" + out.Record.ID
}

// read returns the current content of ref.
func (e *env) read(ref string) (map[string]any, int64) {
	e.t.Helper()
	typ, id, _, _ := fhir.SplitReference(ref)
	rec, err := e.app.Repo.Read(e.op, typ, id)
	if err != nil {
		e.t.Fatalf("reading %s: %v", ref, err)
	}
	res, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return res, rec.Version
}

// search runs a FHIR search as the API would and returns the matches.
func (e *env) search(typ string, params url.Values) []map[string]any {
	e.t.Helper()
	c, err := e.compiler.Compile(typ, params, true)
	if err != nil {
		e.t.Fatalf("compiling %s?%s: %v", typ, params.Encode(), err)
	}
	res, err := e.app.Repo.Search(e.op, c.Query)
	if err != nil {
		e.t.Fatalf("searching %s?%s: %v", typ, params.Encode(), err)
	}
	var out []map[string]any
	for _, r := range res.Records {
		m, err := fhir.Parse(r.JSON, fhir.ParseOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// apiSearch runs a search through the FHIR API, as a client would, and
// returns the matches of the Bundle.
func (e *env) apiSearch(ctx context.Context, typ string, params url.Values) []map[string]any {
	e.t.Helper()
	resp := e.app.API.Handle(ctx, &fhirapi.Request{Method: "GET", Type: typ, Query: params, Base: "http://ehr.test/fhir"})
	if resp.Status != 200 {
		e.t.Fatalf("GET %s?%s: %d %s", typ, params.Encode(), resp.Status, resp.Body)
	}
	b, err := fhir.Parse(resp.Body, fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	entries, _ := b["entry"].([]any)
	for _, en := range entries {
		if str(en, "search", "mode") == "match" {
			out = append(out, path(en, "resource").(map[string]any))
		}
	}
	return out
}

// visitTypes are the resource types a visit writes.
var visitTypes = []string{"Encounter", "Observation", "Composition", "DocumentReference", "Provenance",
	"Condition", "ServiceRequest", "MedicationRequest", "DetectedIssue"}

// counts counts the current resources of each type a visit writes, and
// the versions of the encounters (an update is a write too).
func (e *env) counts() map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for _, typ := range visitTypes {
		res, err := e.app.Repo.Search(e.op, &store.Query{Types: []string{typ}, Total: store.TotalAccurate})
		if err != nil {
			e.t.Fatalf("counting %s: %v", typ, err)
		}
		out[typ] = res.Total
		if typ == "Encounter" {
			all, err := e.app.Repo.Search(e.op, &store.Query{Types: []string{typ}})
			if err != nil {
				e.t.Fatal(err)
			}
			for _, r := range all.Records {
				out["Encounter versions"] += int(r.Version)
			}
		}
	}
	return out
}

func f(v float64) *float64 { return &v }

// path follows keys and indexes ("component", 0, "valueQuantity", "value")
// through a parsed resource.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, keys ...any) string {
	s, _ := path(v, keys...).(string)
	return s
}

func num(v any, keys ...any) string {
	switch n := path(v, keys...).(type) {
	case interface{ String() string }:
		return n.String()
	case nil:
		return ""
	default:
		return "?"
	}
}
