package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/bench"
	"github.com/openchart/openchart/internal/bench/scale"
)

const benchUsage = `Usage:
  openchart bench data --patients N --out DIR [--seed S] [--src DIR] [--format bundles|ndjson|both]
  openchart bench run  --target URL [--data DIR] [--db URL] [--clients 1,8,32] [--duration 10s]
                       [--pid PID] [--skip-import] [--server-db URL] [--ndjson-store embedded|postgres]
                       [--json FILE] [--svg DIR] [--name NAME] [--token TOKEN] [--import-timeout 30m]
                       [--profile DIR [--pprof-url ADDR] [--profile-seconds 20]]
  openchart bench soak --target URL [--duration 10m] [--interval 1m] [--rate R | --fraction 0.8
                       --peak-clients 8 --peak-duration 20s] [--max-clients 64] [--pid PID]
                       [--json FILE] [--svg DIR] [--name NAME] [--token TOKEN]

scripts/bench.sh runs all of it on both stores and writes docs/performance/.
`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return usageError{fmt.Errorf("name a bench command: data, run or soak")}
	}
	switch args[0] {
	case "data":
		return benchData(ctx, args[1:], stdout, stderr)
	case "run":
		return benchRun(ctx, args[1:], stdout, stderr)
	case "soak":
		return benchSoak(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	default:
		return usageError{fmt.Errorf("unknown bench command %q", args[0])}
	}
}

func benchData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench data", stderr)
	patients := fs.Int("patients", 0, "number of patients to generate")
	out := fs.String("out", "", "output directory")
	seed := fs.Uint64("seed", 1, "seed; the same seed gives the same bytes")
	src := fs.String("src", "../shared/data/synthea-120", "directory of Synthea transaction Bundles")
	format := fs.String("format", "both", "bundles, ndjson or both")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if *patients <= 0 || *out == "" {
		return usageError{fmt.Errorf("--patients N (> 0) and --out DIR are required")}
	}
	start := time.Now()
	last := start
	m, err := scale.Generate(ctx, scale.Options{
		Source: *src, Out: *out, Patients: *patients, Seed: *seed, Format: *format,
		Progress: func(done, total int) {
			if time.Since(last) > 5*time.Second || done == total {
				last = time.Now()
				fmt.Fprintf(stderr, "%d/%d patients\n", done, total)
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %d patients, %d resources to %s in %s (seed %d).\n",
		m.Patients, m.Resources, *out, time.Since(start).Round(time.Millisecond), m.Seed)
	if m.Unresolved > 0 {
		fmt.Fprintf(stdout, "%d NDJSON references could not be made literal.\n", m.Unresolved)
	}
	return nil
}

func benchRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench run", stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of the running server (loopback only)")
	data := fs.String("data", "", "data set made by 'openchart bench data' to import first")
	db := fs.String("db", "", "PostgreSQL URL for the ceilings (COPY, pgbench) and the scratch database")
	clients := fs.String("clients", "1,8,32", "concurrency levels")
	duration := fs.Duration("duration", 10*time.Second, "time per query row and concurrency level")
	pid := fs.Int("pid", 0, "server process id for RSS and CPU (default: found by the target's port)")
	serverDB := fs.String("server-db", "", "PostgreSQL URL of the server's database: ANALYZE runs there after the import")
	skipImport := fs.Bool("skip-import", false, "do not import (the data set is already loaded)")
	only := fs.String("only", "", "run only the query rows whose name contains one of these comma-separated words, e.g. 'read by id' or 'count,$everything'")
	ndjsonStore := fs.String("ndjson-store", "", "store of the in-process NDJSON import: embedded or postgres (default: postgres with --db)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	svgDir := fs.String("svg", "", "also write SVG charts of throughput and p99 latency into this directory")
	token := fs.String("token", os.Getenv("OPENCHART_TOKEN"), "access token for the API (openchart token --scope 'system/*.cruds')")
	name := fs.String("name", "", "label of the run (embedded-120): the SVG files are NAME-throughput.svg and NAME-p99.svg")
	profileDir := fs.String("profile", "", "save CPU profiles of the import phases and the query mix, and the server's heap at the end, into this directory")
	pprofURL := fs.String("pprof-url", "", "the server's pprof address (serve --pprof ADDR); without it only the in-process NDJSON import is profiled")
	profileSecs := fs.Int("profile-seconds", 20, "length of each server CPU profile, in seconds")
	importTimeout := fs.Duration("import-timeout", 30*time.Minute, "bound on each import phase")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if *profileSecs < 1 || *profileSecs > 600 {
		return usageError{fmt.Errorf("--profile-seconds must be between 1 and 600")}
	}
	if *pprofURL != "" && *profileDir == "" {
		return usageError{fmt.Errorf("--pprof-url goes with --profile DIR")}
	}
	levels, err := bench.ParseClients(*clients)
	if err != nil {
		return usageError{err}
	}
	rep, err := bench.Run(ctx, bench.Config{
		Target: *target, Data: *data, DB: *db, Clients: levels, Duration: *duration,
		PID: *pid, SkipImport: *skipImport, Only: splitList(*only), ServerDB: *serverDB, NDJSONStore: *ndjsonStore, Token: *token, Log: stderr,
		ImportTimeout: *importTimeout, Name: *name, ProfileDir: *profileDir, PprofURL: *pprofURL, ProfileSeconds: *profileSecs,
	})
	if rep != nil {
		rep.WriteTable(stdout)
		if *jsonOut != "" {
			if werr := rep.WriteJSON(*jsonOut); werr != nil && err == nil {
				err = werr
			}
		}
		if *svgDir != "" {
			if werr := rep.WriteSVG(*svgDir); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

func benchSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench soak", stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of the running server (loopback only)")
	duration := fs.Duration("duration", 10*time.Minute, "length of the soak")
	interval := fs.Duration("interval", time.Minute, "length of each reported interval")
	rate := fs.Float64("rate", 0, "fixed rate in requests/s (default: --fraction of the measured peak)")
	fraction := fs.Float64("fraction", 0.8, "fraction of the peak rate to soak at")
	peakClients := fs.Int("peak-clients", bench.TargetClients, "clients while measuring the peak rate")
	peakDuration := fs.Duration("peak-duration", 20*time.Second, "time spent measuring the peak rate")
	maxClients := fs.Int("max-clients", 64, "most concurrent requests at the fixed rate")
	pid := fs.Int("pid", 0, "server process id for RSS and CPU (default: found by the target's port)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	svgDir := fs.String("svg", "", "also write SVG charts of latency and RSS against time into this directory")
	name := fs.String("name", "", "label of the run: the SVG files are NAME-soak-latency.svg and NAME-soak-rss.svg")
	token := fs.String("token", os.Getenv("OPENCHART_TOKEN"), "access token for the API (openchart token --scope 'system/*.cruds')")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	case *duration <= 0 || *interval <= 0:
		return usageError{fmt.Errorf("--duration and --interval must be positive")}
	case *fraction <= 0 || *fraction > 1:
		return usageError{fmt.Errorf("--fraction must be in (0, 1]")}
	case *rate < 0:
		return usageError{fmt.Errorf("--rate must not be negative")}
	case *peakClients < 1 || *peakClients > 512 || *maxClients < 1 || *maxClients > 512:
		return usageError{fmt.Errorf("--peak-clients and --max-clients must be between 1 and 512")}
	}
	rep, err := bench.Soak(ctx, bench.SoakConfig{
		Target: *target, Token: *token, PID: *pid, Duration: *duration, Interval: *interval,
		Rate: *rate, Fraction: *fraction, PeakClients: *peakClients, PeakDuration: *peakDuration,
		MaxClients: *maxClients, Name: *name, Log: stderr,
	})
	if rep != nil && len(rep.Intervals) > 0 {
		rep.WriteTable(stdout)
		if *jsonOut != "" {
			if werr := rep.WriteJSON(*jsonOut); werr != nil && err == nil {
				err = werr
			}
		}
		if *svgDir != "" {
			if werr := rep.WriteSVG(*svgDir); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
