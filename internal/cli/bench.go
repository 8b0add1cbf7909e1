package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openchart/openchart/internal/bench"
	"github.com/openchart/openchart/internal/bench/scale"
)

const benchUsage = `Usage:
  openchart bench data --patients N --out DIR [--seed S] [--src DIR] [--format bundles|ndjson|both]
  openchart bench run  --target URL [--data DIR] [--db URL] [--clients 1,8,32] [--duration 10s]
                       [--pid PID] [--skip-import] [--server-db URL] [--ndjson-store embedded|postgres]
                       [--json FILE] [--svg DIR]
`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return usageError{fmt.Errorf("name a bench command: data or run")}
	}
	switch args[0] {
	case "data":
		return benchData(ctx, args[1:], stdout, stderr)
	case "run":
		return benchRun(ctx, args[1:], stdout, stderr)
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
	ndjsonStore := fs.String("ndjson-store", "", "store of the in-process NDJSON import: embedded or postgres (default: postgres with --db)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	svgDir := fs.String("svg", "", "also write SVG charts of throughput and p99 latency into this directory")
	token := fs.String("token", os.Getenv("OPENCHART_TOKEN"), "access token for the API (openchart token --scope 'system/*.cruds')")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	levels, err := bench.ParseClients(*clients)
	if err != nil {
		return usageError{err}
	}
	rep, err := bench.Run(ctx, bench.Config{
		Target: *target, Data: *data, DB: *db, Clients: levels, Duration: *duration,
		PID: *pid, SkipImport: *skipImport, ServerDB: *serverDB, NDJSONStore: *ndjsonStore, Token: *token, Log: stderr,
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
