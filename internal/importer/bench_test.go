package importer_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/importer"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// benchFiles returns the hospital and practitioner files of the Synthea
// sample and its first OPENCHART_BENCH_FILES patient Bundles (default 10),
// or the directory OPENCHART_BENCH_DIR names (the ndjson directory of
// `openchart bench data`).
func benchFiles(b *testing.B) []string {
	if d := os.Getenv("OPENCHART_BENCH_DIR"); d != "" {
		return []string{d}
	}
	dir := filepath.Join("..", "..", "..", "shared", "data", "synthea-120")
	all, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil || len(all) == 0 {
		b.Skip("the Synthea sample is not at " + dir)
	}
	sort.Strings(all)
	n := 10
	if v, err := strconv.Atoi(os.Getenv("OPENCHART_BENCH_FILES")); err == nil && v > 0 {
		n = v
	}
	return all[:min(len(all), n+2)]
}

// benchImport imports the files into a fresh store per iteration and
// reports resources/s.
func benchImport(b *testing.B, postgres bool) {
	files := benchFiles(b)
	ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator})
	total := 0
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cfg := app.Config{BaseURL: "http://bench.test/fhir", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if postgres {
			cfg.DB = pgtest.URL(b)
		} else {
			cfg.DataDir = b.TempDir()
		}
		a, err := app.Open(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := cpuTime()
		sum, err := im.Run(ctx, files)
		cpu += cpuTime() - before
		b.StopTimer()
		if err != nil || !sum.OK() {
			b.Fatalf("import: %v %+v", err, sum)
		}
		total += sum.Resources
		a.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
	// CPU time of this process per resource: less sensitive than the rate
	// to other load on a shared machine (on PostgreSQL the server's share
	// is not included).
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/resource")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkImportSQLite(b *testing.B)   { benchImport(b, false) }
func BenchmarkImportPostgres(b *testing.B) { benchImport(b, true) }
