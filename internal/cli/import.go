package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/importer"
)

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	var sf storeFlags
	sf.register(fs)
	workers := fs.Int("workers", 0, "files loaded at once (default: the number of CPUs)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("name at least one file or directory to import")}
	}
	// An import allocates heavily and keeps little: fewer collections buy
	// throughput for a bounded amount of memory (batches are bounded).
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	log := newLogger(stderr)
	a, err := app.Open(ctx, sf.config(log))
	if err != nil {
		return err
	}
	defer a.Close()
	rep := importer.LineReporter(stderr, 5*time.Second)
	if isTerminal(stderr) {
		rep = importer.TerminalReporter(stderr)
	}
	im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo, Workers: *workers, Progress: rep})
	if err != nil {
		return err
	}
	sum, err := im.Run(operator(ctx), fs.Args())
	if err != nil {
		return err
	}
	printSummary(stdout, sum)
	if sum.Resources > 0 {
		start := time.Now()
		if err := a.Analyze(ctx); err != nil {
			return fmt.Errorf("refreshing the store's statistics after the import: %w", err)
		}
		fmt.Fprintf(stdout, "Store statistics refreshed in %s.\n", time.Since(start).Round(time.Millisecond))
	}
	if !sum.OK() {
		return fmt.Errorf("%d entries failed to load", sum.Failed)
	}
	return nil
}

func printSummary(w io.Writer, s *importer.Summary) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Resources) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "Imported %d resources from %d files in %s (%.0f resources/s).\n",
		s.Resources, len(s.Files), s.Elapsed.Round(time.Millisecond), rate)
	types := make([]string, 0, len(s.Types))
	for t := range s.Types {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(w, "  %-28s %d\n", t, s.Types[t])
	}
	for _, p := range s.Skipped {
		fmt.Fprintf(w, "skipped %s: the file is empty\n", p)
	}
	for _, f := range s.Files {
		if f.Failed == 0 {
			continue
		}
		fmt.Fprintf(w, "FAILED %s: %d failed, %d loaded\n", f.Path, f.Failed, f.Resources)
		for _, e := range f.Errors {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
}
