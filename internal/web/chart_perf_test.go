package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/importer"
	"github.com/openchart/openchart/internal/shareddata"
)

// largestSynthea has the most resources of synthea-120 (3,419, 2,265 of
// them Observations).
const largestSynthea = "e5a8d3f4-4484-ebfd-7404-d9f02c9fe6a6"

// TestChartSummaryPageTime measures the chart summary page of the largest
// Synthea patient on each store, through the whole front door (session,
// principal, summary, rendering) over HTTP on the loopback: it logs the
// latency and fails when a page costs more than 150 ms of CPU (the
// process's, client included; PostgreSQL's own is not in it). It loads 3,419 resources per store, so it
// runs only when OPENCHART_CHART_PERF is set:
//
//	OPENCHART_CHART_PERF=1 go test ./internal/web/ -run TestChartSummaryPageTime -v
func TestChartSummaryPageTime(t *testing.T) {
	if os.Getenv("OPENCHART_CHART_PERF") == "" {
		t.Skip("set OPENCHART_CHART_PERF=1 to measure the summary page of the largest Synthea patient")
	}
	for _, db := range []string{"embedded", "postgres"} {
		t.Run(db, func(t *testing.T) {
			o := envOptions{}
			if db == "postgres" {
				o.db = pgURL(t)
			}
			e := newEnv(t, o)
			loadSyntheaPatient(t, e, largestSynthea)
			u := e.user("drperf", auth.RolePhysician)
			// Synthea's patients belong to no organization of the test:
			// the physician opens the record through an emergency access.
			if _, err := e.auth.BreakGlass(operator(), u.ID, largestSynthea, "performance measurement of the chart page"); err != nil {
				t.Fatalf("break-glass: %v", err)
			}
			b := e.browser()
			b.login("drperf")
			var times []time.Duration
			var cpu time.Duration
			for i := range 25 {
				if i == 5 {
					cpu = -cpuTime(t)
				}
				start := time.Now()
				r := b.get("/patients/" + largestSynthea)
				d := time.Since(start)
				if r.status != http.StatusOK || !strings.Contains(r.body, "Latest results") {
					t.Fatalf("summary page: %d\n%s", r.status, r.body)
				}
				if i >= 5 { // the first requests warm caches and connections
					times = append(times, d)
				}
			}
			cpu += cpuTime(t)
			perPage := cpu / time.Duration(len(times))
			slices.Sort(times)
			p50, p95 := times[len(times)/2], times[len(times)*95/100]
			t.Logf("%s: summary page of %s: p50 %v, p95 %v, CPU %v per page (%d requests)", db, largestSynthea[:8],
				p50.Round(time.Millisecond), p95.Round(time.Millisecond), perPage.Round(time.Millisecond), len(times))
			// On a shared machine the latency follows the other work on the
			// cores; the CPU a page costs does not.
			if perPage > 150*time.Millisecond {
				t.Errorf("the summary page costs %v of CPU, more than 150 ms", perPage)
			}
		})
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syntheaRef finds the identifiers of Synthea's conditional references
// ("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999953209").
var syntheaRef = regexp.MustCompile(`"[A-Za-z]+\?identifier=([^"]+)"`)

// loadSyntheaPatient loads one patient's Bundle with the importer, after
// the practitioners and organizations its conditional references name.
func loadSyntheaPatient(t *testing.T, e *env, id string) {
	t.Helper()
	dir := shareddata.Path(t, "synthea-120")
	file := filepath.Join(dir, id+".json.gz")
	wanted := map[string]bool{}
	for _, m := range syntheaRef.FindAllStringSubmatch(string(gunzip(t, file)), -1) {
		wanted[m[1]] = true
	}
	info, err := filepath.Glob(filepath.Join(dir, "0-*Information*.json.gz"))
	if err != nil || len(info) == 0 {
		t.Fatalf("the information Bundles are not in %s", dir)
	}
	for _, f := range info {
		b, err := fhir.Parse(gunzip(t, f), fhir.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := b["entry"].([]any)
		var keep []any
		for _, en := range entries {
			r, _ := en.(map[string]any)["resource"].(map[string]any)
			key := ""
			if ids, _ := r["identifier"].([]any); len(ids) > 0 {
				i0, _ := ids[0].(map[string]any)
				sys, _ := i0["system"].(string)
				val, _ := i0["value"].(string)
				key = sys + "|" + val
			}
			if r["resourceType"] == "PractitionerRole" {
				p, _ := r["practitioner"].(map[string]any)
				ref, _ := p["reference"].(string)
				key = strings.TrimPrefix(ref, "Practitioner?identifier=")
			}
			if wanted[key] {
				keep = append(keep, en)
			}
		}
		b["entry"] = keep
		if _, err := e.app.API.ProcessBundle(operator(), b, ""); err != nil {
			t.Fatalf("loading %s: %v", filepath.Base(f), err)
		}
	}
	im, err := importer.New(importer.Config{Bundles: e.app.API, Repo: e.app.Repo})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := im.Run(operator(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sum.Files {
		if f.Failed > 0 {
			t.Fatalf("%s: %d failed: %v", filepath.Base(f.Path), f.Failed, f.Errors)
		}
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
