package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/progress"
	"github.com/openchart/openchart/internal/reindex"
)

// reindexCmd rebuilds the search index with the current search parameters
// (after an upgrade that changes definitions, or once custom
// SearchParameter resources are stored).
func reindexCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reindex", stderr)
	var sf storeFlags
	sf.register(fs)
	types := fs.String("type", "", "comma-separated resource types to reindex (default: all)")
	batch := fs.Int("batch", 500, "resources written per transaction")
	after := fs.String("after", "", "resume after this cursor (printed by an interrupted run)")
	// The index must be built with the base URL the server uses, or
	// absolute references to this server would be indexed differently.
	baseURL := fs.String("base-url", defaultBaseURL(), "public base URL of the FHIR API, as the server is given it")
	analyze := fs.Bool("analyze", true, "refresh the database's planner statistics first (PostgreSQL: VACUUM ANALYZE)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if *batch <= 0 {
		return usageError{fmt.Errorf("--batch must be positive")}
	}
	opts := reindex.Options{Batch: *batch, After: *after, Analyze: *analyze}
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			opts.Types = append(opts.Types, t)
		}
	}
	log := newLogger(stderr)
	cfg := sf.config(log)
	cfg.BaseURL = *baseURL
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	opts.Progress = progress.Lines(stderr, "reindex", "", 5*time.Second)
	if isTerminal(stderr) {
		opts.Progress = progress.Terminal(stderr, "")
	}
	sum, err := a.Reindex(ctx, opts)
	if sum != nil && (err == nil || sum.Reindexed > 0) {
		printReindexSummary(stdout, sum)
	}
	switch {
	case err != nil && sum == nil && errs.Is(err, errs.Invalid):
		return usageError{err}
	case err != nil && sum != nil && sum.Last != "":
		return fmt.Errorf("%w\nresume with: openchart reindex --after %s", err, sum.Last)
	case err != nil:
		return err
	case !sum.OK():
		return fmt.Errorf("%d resources could not be reindexed", sum.Failed)
	}
	return nil
}

// defaultBaseURL is the base URL serve uses when it is not given one.
func defaultBaseURL() string {
	if u := os.Getenv("OPENCHART_BASE_URL"); u != "" {
		return u
	}
	return "http://" + envOr("OPENCHART_ADDR", "127.0.0.1:8080") + "/fhir"
}

func printReindexSummary(w io.Writer, s *reindex.Summary) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Reindexed) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "Reindexed %d resources in %s (%.0f resources/s).\n", s.Reindexed, s.Elapsed.Round(time.Millisecond), rate)
	types := make([]string, 0, len(s.Types))
	for t := range s.Types {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(w, "  %-28s %d\n", t, s.Types[t])
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d resources deleted while the job ran\n", s.Skipped)
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "FAILED %d resources:\n", s.Failed)
		for _, e := range s.Errors {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
}
