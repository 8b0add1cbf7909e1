package reindex

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/progress"
	"github.com/openchart/openchart/internal/store"
)

// Indexer extracts the search-index rows of a resource (search.Indexer).
type Indexer interface {
	Index(res map[string]any) (store.Index, error)
}

// Options tune a run.
type Options struct {
	// Types restricts the job to these resource types; empty means all.
	Types []string
	// Batch is the number of resources per transaction (default 500).
	Batch int
	// After resumes a job: only resources after this cursor (a
	// Summary.Last or a progress line's "after" value) are reindexed.
	After string
	// Workers extract index rows in parallel (default GOMAXPROCS).
	Workers int
	// Analyze refreshes the store's planner statistics before starting,
	// when the store can (PostgreSQL: VACUUM ANALYZE). Right after a bulk
	// import, before autovacuum has run, PostgreSQL plans the deletion of a
	// batch's old rows as sequential scans of the index tables; with
	// statistics the whole job ran about three times faster.
	Analyze bool
	// Progress receives progress reports; nil means none. Each report's
	// Note reads "after CURSOR", the point to resume from.
	Progress progress.Reporter
}

// Summary is the outcome of a run.
type Summary struct {
	Reindexed int            // resources whose rows were replaced
	Types     map[string]int // reindexed resources per type
	// Skipped counts resources deleted by a concurrent writer before their
	// batch was written: they have no rows to rebuild.
	Skipped int
	Failed  int      // resources whose JSON could not be parsed or indexed
	Errors  []string // the first few failures
	Elapsed time.Duration
	// Last is the cursor after the last batch written, "" when the job
	// reached the end: Options.After resumes from it.
	Last string
}

// OK reports whether every resource was reindexed.
func (s *Summary) OK() bool { return s.Failed == 0 }

const maxErrors = 10

// Run reindexes the resources of st selected by opts with ix. It returns
// the summary so far with an error when the store fails or ctx ends; the
// batches already written stay written.
func Run(ctx context.Context, st store.Store, ix Indexer, opts Options) (*Summary, error) {
	if st == nil || ix == nil {
		return nil, errors.New("reindex: a store and an indexer are required")
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	sum := &Summary{Types: map[string]int{}}
	if a, ok := st.(analyzer); ok && opts.Analyze {
		if err := a.Analyze(ctx); err != nil {
			return sum, fmt.Errorf("refreshing planner statistics: %w", err)
		}
	}
	// The count gives the progress bar its end; it includes resources
	// before After, so a resumed job's bar starts short of the end.
	total, err := st.Search(ctx, &store.Query{Types: opts.Types, Total: store.TotalAccurate})
	if err != nil {
		return sum, fmt.Errorf("counting resources: %w", err)
	}
	tr := progress.Start(opts.Progress, 0, int64(total.Total))
	defer func() { sum.Elapsed = time.Since(start) }()
	defer tr.Finish()
	r := &run{st: st, ix: ix, opts: opts, sum: sum}
	cursor := opts.After
	for {
		page, err := st.Scan(ctx, store.ScanQuery{Types: opts.Types, After: cursor, Limit: opts.Batch})
		if err != nil {
			return sum, fmt.Errorf("listing resources after %q: %w", cursor, err)
		}
		if len(page.Records) > 0 {
			if err := r.batch(ctx, page.Records); err != nil {
				return sum, fmt.Errorf("reindexing the batch after %q: %w", cursor, err)
			}
			tr.Advance(int64(len(page.Records)))
			tr.AddItems(int64(len(page.Records)))
		}
		if page.Next == "" {
			sum.Last = ""
			return sum, nil
		}
		cursor, sum.Last = page.Next, page.Next
		tr.SetNote("after " + cursor)
		if err := ctx.Err(); err != nil {
			return sum, errs.E("reindex", errs.Transient, err)
		}
	}
}

// analyzer is a store that can refresh its planner statistics.
type analyzer interface {
	Analyze(ctx context.Context) error
}

type run struct {
	st   store.Store
	ix   Indexer
	opts Options
	sum  *Summary
}

// outcome is what became of one scanned record.
type outcome struct {
	update *store.IndexUpdate // nil when it failed
	err    error
}

// batch extracts the rows of recs in parallel and writes them in one
// transaction, redoing the batch from fresh reads if a concurrent writer
// got there first.
func (r *run) batch(ctx context.Context, recs []*store.Record) error {
	out := make([]outcome, len(recs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(r.opts.Workers, len(recs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				u, err := r.rows(recs[i])
				out[i] = outcome{update: u, err: err}
			}
		}()
	}
	for i := range recs {
		next <- i
	}
	close(next)
	wg.Wait()

	var updates []store.IndexUpdate
	for _, o := range out {
		if o.update != nil {
			updates = append(updates, *o.update)
		}
	}
	err := r.st.InTx(ctx, func(tx store.Tx) error { return tx.Reindex(ctx, updates) })
	switch {
	case err == nil:
		r.count(updates, 0, out)
		return nil
	case errs.Is(err, errs.Conflict), errs.Is(err, errs.NotFound):
		return r.redo(ctx, recs, out)
	}
	return err
}

// redo writes a batch from the current versions, read and locked in the
// writing transaction: resources changed meanwhile are indexed again,
// deleted ones skipped.
func (r *run) redo(ctx context.Context, recs []*store.Record, out []outcome) error {
	refs := make([]store.Ref, len(recs))
	for i, rec := range recs {
		refs[i] = store.Ref{Type: rec.Type, ID: rec.ID}
	}
	var updates []store.IndexUpdate
	var skipped int
	var final []outcome
	err := r.st.InTx(ctx, func(tx store.Tx) error {
		updates, skipped, final = nil, 0, make([]outcome, len(recs))
		cur, err := tx.ReadMany(ctx, refs)
		if err != nil {
			return err
		}
		for i, ref := range refs {
			c := cur[ref]
			switch {
			case c == nil || c.Deleted:
				skipped++
				continue
			case c.Version == recs[i].Version:
				final[i] = out[i]
			default:
				u, err := r.rows(c)
				final[i] = outcome{update: u, err: err}
			}
			if final[i].update != nil {
				updates = append(updates, *final[i].update)
			}
		}
		return tx.Reindex(ctx, updates)
	})
	if err != nil {
		return err
	}
	r.count(updates, skipped, final)
	return nil
}

func (r *run) count(updates []store.IndexUpdate, skipped int, out []outcome) {
	r.sum.Reindexed += len(updates)
	r.sum.Skipped += skipped
	for _, u := range updates {
		r.sum.Types[u.Type]++
	}
	for _, o := range out {
		if o.err == nil {
			continue
		}
		r.sum.Failed++
		if len(r.sum.Errors) < maxErrors {
			r.sum.Errors = append(r.sum.Errors, o.err.Error())
		}
	}
}

// rows computes the index rows of one stored version.
func (r *run) rows(rec *store.Record) (*store.IndexUpdate, error) {
	res, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s/%s: stored JSON does not parse: %w", rec.Type, rec.ID, err)
	}
	ix, err := r.ix.Index(res)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", rec.Type, rec.ID, err)
	}
	return &store.IndexUpdate{Ref: store.Ref{Type: rec.Type, ID: rec.ID}, Version: rec.Version, Index: ix}, nil
}
