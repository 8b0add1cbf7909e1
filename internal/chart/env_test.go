package chart

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/importer"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/shareddata"
	"github.com/openchart/openchart/internal/store/pgtest"
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

func openStack(t testing.TB, name string) *app.App {
	t.Helper()
	cfg := app.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if name == "sqlite" {
		cfg.DataDir = t.TempDir()
	} else {
		cfg.DB = pgtest.URL(t)
	}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// newChart builds the chart over an assembled stack, as the server does.
func newChart(t testing.TB, a *app.App, now time.Time) *Chart {
	t.Helper()
	c, err := New(Config{Repo: a.Repo, Compiler: search.NewCompilerFrom(a.Registry), Now: func() time.Time { return now }})
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
func loadSynthea(t testing.TB, a *app.App, patients []string) {
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
		for _, e := range arr(b, "entry") {
			r := obj(e.(map[string]any), "resource")
			key := ""
			if ids := objs(r, "identifier"); len(ids) > 0 {
				key = str(ids[0], "system") + "|" + str(ids[0], "value")
			}
			if fhir.TypeOf(r) == "PractitionerRole" {
				key = strings.TrimPrefix(str(obj(r, "practitioner"), "reference"), "Practitioner?identifier=")
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
		for _, e := range arr(out, "entry") {
			if st := str(obj(e.(map[string]any), "response"), "status"); !strings.HasPrefix(st, "2") {
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
	for _, e := range arr(b, "entry") {
		if res := obj(e.(map[string]any), "resource"); res != nil {
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
func loadInferno(t testing.TB, a *app.App) []map[string]any {
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
		for _, e := range arr(b, "entry") {
			entry := e.(map[string]any)
			r, req := obj(entry, "resource"), obj(entry, "request")
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
			s := str(obj(r, k), "reference")
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
