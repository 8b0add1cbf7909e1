package chart

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/importer"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/shareddata"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// largestPatient has the most resources of synthea-120 (3,419): the
// benchmark's patient.
const largestPatient = "e5a8d3f4-4484-ebfd-7404-d9f02c9fe6a6"

// syntheaPatients are the patients the tests load, small enough to load
// in seconds: one with allergies, immunizations, care teams and an
// imaging study, one whose prescriptions reference Medication resources,
// and the smallest record of the set.
var syntheaPatients = []string{"b3664f86-0ce9-4a2c-ae85-4d390d438512", "e1dbcb04-9c64-e94c-2bd0-d7b199d369e5", "8a4c9c04-1524-9f1c-d65b-9b17e4520fef"}

// operator is the principal of the tests.
func operator() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.Operator})
}

// storeConfigs are the stores every test runs on.
func storeConfigs() []string { return []string{"sqlite", "postgres"} }

// stack is the part of OpenChart the tests need, assembled as
// internal/app assembles it (app itself is not imported: it sits above
// the doors that use this package).
type stack struct {
	Store    store.Store
	Repo     *repo.Repo
	API      *fhirapi.API
	Compiler *search.Compiler
}

// Analyze refreshes the store's planner statistics after a load.
func (s *stack) Analyze(ctx context.Context) error {
	if an, ok := s.Store.(interface{ Analyze(context.Context) error }); ok {
		return an.Analyze(ctx)
	}
	return nil
}

func openStack(t testing.TB, name string) *stack {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	if name == "sqlite" {
		st, err = sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	} else {
		st, err = postgres.Open(ctx, pgtest.URL(t), postgres.Options{})
	}
	if err != nil {
		t.Fatalf("opening the %s store: %v", name, err)
	}
	t.Cleanup(func() { st.Close() })
	d := defs.Default()
	val := validate.New(d, validate.Options{Invariants: validate.FHIRPathInvariants(d)})
	reg := search.CoreRegistry(d)
	ix, err := search.NewIndexerFrom(reg)
	if err != nil {
		t.Fatal(err)
	}
	comp := search.NewCompilerFrom(reg)
	types := map[string]bool{}
	for _, typ := range d.ResourceTypes() {
		types[typ] = true
	}
	r, err := repo.New(repo.Config{Store: st, Validator: val, Indexer: ix, Criteria: criteria{comp},
		ResourceType: func(n string) bool { return types[n] }, Layout: d, Definitions: d})
	if err != nil {
		t.Fatal(err)
	}
	api, err := fhirapi.New(fhirapi.Config{Repo: r, Defs: d, Compiler: fhirapi.NewSearchAdapter(comp), Validator: val, Indexer: ix,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Software: "OpenChart", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{Store: st, Repo: r, API: api, Compiler: comp}
}

// criteria compiles conditional criteria strictly, as internal/app does.
type criteria struct{ c *search.Compiler }

func (c criteria) Criteria(typ string, params url.Values) (*store.Query, error) {
	compiled, err := c.c.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	return compiled.Query, nil
}

// newChart builds the chart over the stack, as the server does.
func newChart(t testing.TB, a *stack, now time.Time) *Chart {
	t.Helper()
	c, err := New(Config{Repo: a.Repo, Compiler: a.Compiler, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// syntheaFile returns the path of a Synthea Bundle.
func syntheaFile(t testing.TB, name string) string {
	return filepath.Join(shareddata.Path(t, "synthea-120"), name)
}

// loadSynthea loads the patients' Bundles with the importer (as `openchart
// import` does), after the practitioners, organizations and locations
// they reference: the entries of the two information Bundles whose
// identifiers the patients' conditional references name (loading all 778
// of them would take most of the test's time).
func loadSynthea(t testing.TB, a *stack, patients []string) {
	t.Helper()
	dir := shareddata.Path(t, "synthea-120")
	info, err := filepath.Glob(filepath.Join(dir, "0-*Information*.json.gz"))
	if err != nil || len(info) != 2 {
		t.Fatalf("the two information Bundles are not in %s", dir)
	}
	var files []string
	wanted := map[string]bool{}
	for _, p := range patients {
		f := filepath.Join(dir, p+".json.gz")
		files = append(files, f)
		for _, m := range conditionalRef.FindAllStringSubmatch(string(readGz(t, f)), -1) {
			wanted[m[1]] = true
		}
	}
	for _, f := range info {
		b, err := fhir.Parse(readGz(t, f), fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var keep []any
		for _, e := range fhir.List(b["entry"]) {
			r := fhir.Obj(e.(map[string]any)["resource"])
			key := ""
			if ids := objs(r, "identifier"); len(ids) > 0 {
				key = fhir.Str(ids[0]["system"]) + "|" + fhir.Str(ids[0]["value"])
			}
			if fhir.TypeOf(r) == "PractitionerRole" {
				key = strings.TrimPrefix(fhir.Str(fhir.Obj(r["practitioner"])["reference"]), "Practitioner?identifier=")
			}
			if wanted[key] {
				keep = append(keep, e)
			}
		}
		b["entry"] = keep
		out, err := a.API.ProcessBundle(operator(), b, "")
		if err != nil {
			t.Fatalf("loading %s: %v", filepath.Base(f), err)
		}
		for _, e := range fhir.List(out["entry"]) {
			if st := fhir.Str(fhir.Obj(e.(map[string]any)["response"])["status"]); !strings.HasPrefix(st, "2") {
				t.Fatalf("loading %s: an entry failed: %s", filepath.Base(f), fhir.Marshal(e))
			}
		}
	}
	im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := im.Run(operator(), files)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sum.Files {
		if f.Failed > 0 {
			t.Fatalf("%s: %d failed: %v", filepath.Base(f.Path), f.Failed, f.Errors)
		}
	}
	if err := a.Analyze(operator()); err != nil {
		t.Fatal(err)
	}
}

// conditionalRef finds the identifiers of Synthea's conditional references
// ("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999953209").
var conditionalRef = regexp.MustCompile(`"[A-Za-z]+\?identifier=([^"]+)"`)

func readGz(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bundleResources reads a Bundle (.json or .json.gz) and returns its
// resources.
func bundleResources(t testing.TB, path string) []map[string]any {
	t.Helper()
	b, err := fhir.Parse(readGz(t, path), fhir.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]any
	for _, e := range fhir.List(b["entry"]) {
		if res := fhir.Obj(e.(map[string]any)["resource"]); res != nil {
			out = append(out, res)
		}
	}
	return out
}

// byType indexes a Bundle's resources by type.
func byType(res []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, r := range res {
		out[fhir.TypeOf(r)] = append(out[fhir.TypeOf(r)], r)
	}
	return out
}

// loadInferno loads the US Core reference patients (85 and 355) with the
// ids of their Bundles and returns their resources.
func loadInferno(t testing.TB, a *stack) []map[string]any {
	t.Helper()
	dir := shareddata.Path(t, "inferno")
	var all []map[string]any
	for _, name := range []string{"uscore_bundle_patient_85.json", "uscore_bundle_patient_355.json"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fhir.Parse(data, fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range fhir.List(b["entry"]) {
			entry := e.(map[string]any)
			r, req := fhir.Obj(entry["resource"]), fhir.Obj(entry["request"])
			// One Observation of patient 355 carries "Period.stop", an
			// element R4 does not define; it is dropped before loading.
			dropPeriodStop(r)
			if id := fhir.IDOf(r); id != "" && req["method"] == "POST" {
				req["method"], req["url"] = "PUT", fhir.TypeOf(r)+"/"+id
			}
			all = append(all, r)
		}
		if _, err := a.API.ProcessBundle(operator(), b, ""); err != nil {
			t.Fatalf("loading %s: %v", name, err)
		}
	}
	return all
}

func dropPeriodStop(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["stop"]; ok {
			if _, start := x["start"]; start {
				delete(x, "stop")
			}
		}
		for _, c := range x {
			dropPeriodStop(c)
		}
	case []any:
		for _, c := range x {
			dropPeriodStop(c)
		}
	}
}

// ofPatient keeps the resources that name the patient as subject or patient.
func ofPatient(res []map[string]any, id string) []map[string]any {
	var out []map[string]any
	for _, r := range res {
		if fhir.TypeOf(r) == "Patient" && fhir.IDOf(r) == id {
			out = append(out, r)
			continue
		}
		for _, k := range []string{"subject", "patient"} {
			s := fhir.Str(fhir.Obj(r[k])["reference"])
			if s == "Patient/"+id || s == "urn:uuid:"+id || strings.HasSuffix(s, "/Patient/"+id) {
				out = append(out, r)
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ids[T any](list []T, id func(T) string) []string {
	var out []string
	for _, x := range list {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}
