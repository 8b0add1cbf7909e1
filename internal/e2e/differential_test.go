package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/importer"
)

// The differential test (issue 3): the same Synthea records are loaded
// into the embedded store and into PostgreSQL, and a few thousand search
// queries generated from the values in the data must give the same answers
// on both: the same matches (in the same order when sorted), includes,
// totals, pages, and the same errors.

const (
	diffPatients = 15   // patient Bundles loaded, the smallest ones
	diffQueries  = 2100 // queries generated
	diffSeed     = 20240501
	diffBase     = "http://diff.test/fhir"
	diffMaxPages = 8 // pages followed per query (broad queries stop there on both stores)
)

func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("loads Synthea patients into two stores")
	}
	start := time.Now()
	dir := diffBundles(t)
	cfgs := stores(t)
	apps := map[string]*app.App{"sqlite": openApp(t, cfgs["sqlite"](t)), "postgres": openApp(t, cfgs["postgres"](t))}
	var wg sync.WaitGroup
	for name, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			diffLoad(t, name, a, dir)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	loaded := time.Since(start)
	p := newDiffPool(t, apps["sqlite"])
	queries := p.generate(diffQueries)
	answers := map[string][]diffAnswer{}
	for _, name := range []string{"sqlite", "postgres"} {
		began := time.Now()
		answers[name] = runDiffQueries(apps[name].API, queries)
		t.Logf("%s answered in %v", name, time.Since(began).Round(time.Millisecond))
	}
	if os.Getenv("OPENCHART_DIFF_DUMP") != "" {
		for i, q := range queries {
			t.Logf("%s %v -> %+v", q.url, q.strict, answers["sqlite"][i])
		}
	}
	for i, a := range answers["sqlite"] {
		for _, pg := range a {
			if slices.ContainsFunc(pg.Match, func(k string) bool { return strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/") }) {
				t.Fatalf("%s: entries without a type or id: the harness cannot read the Bundles", queries[i].url)
			}
		}
	}
	withResults, mismatches := 0, 0
	var report []string
	for i, q := range queries {
		lite, pg := answers["sqlite"][i], answers["postgres"][i]
		if lite.hasResults() || pg.hasResults() {
			withResults++
		}
		diff := cmp.Diff(lite.normal(q.sorted), pg.normal(q.sorted))
		if diff == "" {
			continue
		}
		mismatches++
		if len(report) < 8 {
			report = append(report, fmt.Sprintf("%s (%s, strict=%v) (-sqlite +postgres):\n%s", q.url, q.kind, q.strict, diff))
		}
	}
	kinds := map[string]int{}
	for _, q := range queries {
		kinds[q.kind]++
	}
	t.Logf("%d resources loaded; query kinds: %v", len(p.items), kinds)
	t.Logf("loaded in %v, queried in %v", loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
	fmt.Printf("differential: %d queries, %d with results, %d mismatches\n", len(queries), withResults, mismatches)
	for _, r := range report {
		t.Error(r)
	}
	if withResults < len(queries)/2 {
		t.Errorf("only %d of %d queries found anything: the generator lost touch with the data", withResults, len(queries))
	}
}

// diffBundles writes the Bundles to load into a temporary folder: the two
// information Bundles and the smallest patient Bundles, with every POST
// turned into a PUT of the id Synthea gave the resource, so that both
// stores hold the same ids and answers compare by Type/id. References
// between entries still go through the fullUrls, and conditional
// references through the identifiers, as in the original Bundles.
func diffBundles(t *testing.T) string {
	files := syntheaFiles(t)
	var info, patients []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "0-") {
			info = append(info, f)
		} else {
			patients = append(patients, f)
		}
	}
	size := func(f string) int64 {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	sort.SliceStable(patients, func(i, j int) bool {
		si, sj := size(patients[i]), size(patients[j])
		return si < sj || si == sj && patients[i] < patients[j]
	})
	if len(patients) > diffPatients {
		patients = patients[:diffPatients]
	}
	out := t.TempDir()
	for _, sub := range []string{"info", "patients"} {
		if err := os.Mkdir(filepath.Join(out, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(sub, f string) {
		b := readBundle(t, f)
		for _, e := range asAnyList(b["entry"]) {
			en, _ := e.(map[string]any)
			res, _ := en["resource"].(map[string]any)
			req, _ := en["request"].(map[string]any)
			if res == nil || req == nil || req["method"] != "POST" || fhir.IDOf(res) == "" {
				continue
			}
			en["request"] = map[string]any{"method": "PUT", "url": fhir.TypeOf(res) + "/" + fhir.IDOf(res)}
		}
		name := strings.TrimSuffix(filepath.Base(f), ".gz")
		if err := os.WriteFile(filepath.Join(out, sub, name), fhir.Marshal(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range info {
		write("info", f)
	}
	for _, f := range patients {
		write("patients", f)
	}
	return out
}

// diffLoad imports the folder's Bundles into a: the information Bundles
// first, then the patients, one file at a time so that both stores see
// the writes in the same order (and _lastUpdated sorts agree); then it
// refreshes the planner statistics.
func diffLoad(t *testing.T, name string, a *app.App, dir string) {
	im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo, Workers: 1})
	if err != nil {
		t.Error(err)
		return
	}
	for _, sub := range []string{"info", "patients"} {
		sum, err := im.Run(opCtx(), []string{filepath.Join(dir, sub)})
		if err != nil {
			t.Errorf("%s: importing %s: %v", name, sub, err)
			return
		}
		for _, f := range sum.Files {
			if f.Failed > 0 {
				t.Errorf("%s: %s: %d failed: %v", name, filepath.Base(f.Path), f.Failed, f.Errors)
			}
		}
	}
	// As "openchart import" does: without planner statistics PostgreSQL
	// runs a nested _has over these tables in seconds instead of
	// milliseconds (docs/STORAGE.md).
	if err := a.Analyze(context.Background()); err != nil {
		t.Errorf("%s: analyze: %v", name, err)
	}
}

func asAnyList(v any) []any {
	l, _ := v.([]any)
	return l
}

// diffQuery is one generated search.
type diffQuery struct {
	url    string // relative to the base: "Observation?code=..."
	kind   string // what it exercises, for the report
	sorted bool   // has _sort: order is compared, not just membership
	strict bool   // sent with Prefer: handling=strict
}

// diffPage is what is compared of one page of an answer.
type diffPage struct {
	Status  int
	Total   string
	Match   []string // Type/id in Bundle order
	Include []string
	Outcome []string // severity|code|diagnostics of outcome issues
}

type diffAnswer []diffPage

func (a diffAnswer) hasResults() bool {
	for _, p := range a {
		if len(p.Match) > 0 || (p.Total != "" && p.Total != "0") {
			return true
		}
	}
	return false
}

// normal is the answer as compared: for a sorted query the pages as they
// are; otherwise the matches and includes of all pages as sorted sets (the
// order of unsorted results is the store's to choose), with the number of
// pages and the totals.
func (a diffAnswer) normal(sorted bool) any {
	if sorted {
		return []diffPage(a)
	}
	var out struct {
		Pages          int
		Statuses       []int
		Totals         []string
		Match, Include []string
		Outcome        []string
	}
	out.Pages = len(a)
	for _, p := range a {
		out.Statuses = append(out.Statuses, p.Status)
		out.Totals = append(out.Totals, p.Total)
		out.Match = append(out.Match, p.Match...)
		out.Include = append(out.Include, p.Include...)
		out.Outcome = append(out.Outcome, p.Outcome...)
	}
	for _, l := range [][]string{out.Match, out.Include, out.Outcome} {
		slices.Sort(l)
	}
	out.Include = slices.Compact(out.Include)
	out.Outcome = slices.Compact(out.Outcome)
	return out
}

// runDiffQueries runs every query through the FHIR API, following next
// links, on a few workers.
func runDiffQueries(api *fhirapi.API, queries []diffQuery) []diffAnswer {
	out := make([]diffAnswer, len(queries))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(2, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = runDiffQuery(api, queries[i])
			}
		}()
	}
	for i := range queries {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

func runDiffQuery(api *fhirapi.API, q diffQuery) diffAnswer {
	var ans diffAnswer
	next := q.url
	for len(ans) < diffMaxPages && next != "" {
		req, err := fhirapi.ParseURL("GET", next)
		if err != nil {
			return append(ans, diffPage{Status: fhirapi.Status(err), Outcome: issues(fhirapi.Outcome(err))})
		}
		req.Base = diffBase
		if q.strict {
			req.Prefer.Handling = "strict"
		}
		resp := api.Handle(opCtx(), req)
		// The body as a client receives it (the Response's own view may
		// hold embedded stored bytes).
		body, err := fhir.Parse(resp.Body, fhir.ParseOptions{})
		if err != nil {
			return append(ans, diffPage{Status: -1, Outcome: []string{err.Error()}})
		}
		p := diffPage{Status: resp.Status}
		next = ""
		switch {
		case fhir.TypeOf(body) == "OperationOutcome":
			p.Outcome = issues(body)
		case fhir.TypeOf(body) == "Bundle":
			if n, ok := body["total"]; ok {
				p.Total = fmt.Sprint(n)
			}
			for _, e := range asAnyList(body["entry"]) {
				en, _ := e.(map[string]any)
				res, _ := en["resource"].(map[string]any)
				mode, _ := en["search"].(map[string]any)["mode"].(string)
				switch mode {
				case "match":
					p.Match = append(p.Match, fhir.TypeOf(res)+"/"+fhir.IDOf(res))
				case "include":
					p.Include = append(p.Include, fhir.TypeOf(res)+"/"+fhir.IDOf(res))
				case "outcome":
					p.Outcome = append(p.Outcome, issues(res)...)
				}
			}
			slices.Sort(p.Include) // includes come in no defined order
			for _, l := range asAnyList(body["link"]) {
				lm, _ := l.(map[string]any)
				if lm["relation"] == "next" {
					u, _ := lm["url"].(string)
					next = strings.TrimPrefix(u, diffBase+"/")
				}
			}
		}
		ans = append(ans, p)
	}
	return ans
}

func issues(oo map[string]any) []string {
	var out []string
	for _, x := range asAnyList(oo["issue"]) {
		m, _ := x.(map[string]any)
		out = append(out, fmt.Sprintf("%v|%v|%v", m["severity"], m["code"], m["diagnostics"]))
	}
	return out
}
