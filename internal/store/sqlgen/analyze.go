package sqlgen

import (
	"context"
	"sync"
)

// DefaultAnalyzeAfter is the default of AutoAnalyze's minimum growth.
const DefaultAnalyzeAfter = 10_000

// AutoAnalyze decides when a store refreshes its query planner's statistics
// by itself, and runs the refresh in the background. Statistics taken on an
// empty or small database make the planner choose plans that are orders of
// magnitude slower once the tables are large (a chained search scanning
// instead of probing an index), and neither an import over the API nor
// PostgreSQL without autovacuum refreshes them. A refresh starts after a
// commit once the versions written since the last refresh number at least
// the minimum and at least as many as the resources at the last refresh:
// each time the data has doubled, so a growing database is analysed
// O(log n) times. One refresh runs at a time; a failed one is tried again
// after the next growth.
type AutoAnalyze struct {
	min    int64
	run    func(context.Context) error
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	base    int64 // resources at the last refresh (an estimate)
	written int64 // versions written since
	running bool
	runs    int
	err     error
}

// NewAutoAnalyze returns a trigger that calls run once min versions (and
// at least base, the resources the store holds now) have been written. A
// negative min disables it; 0 means DefaultAnalyzeAfter.
func NewAutoAnalyze(min, base int64, run func(context.Context) error) *AutoAnalyze {
	if min == 0 {
		min = DefaultAnalyzeAfter
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &AutoAnalyze{min: min, base: max(base, 0), run: run, ctx: ctx, cancel: cancel}
}

// Wrote records n versions committed, and starts a refresh when they make
// the data grow enough.
func (a *AutoAnalyze) Wrote(n int) {
	if a == nil || a.min < 0 || n <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.written += int64(n)
	if a.running || a.ctx.Err() != nil || a.written < a.min || a.written < a.base {
		return
	}
	a.running = true
	w := a.written
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.run(a.ctx)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.running, a.err = false, err
		a.written -= w
		if err == nil {
			a.base += w
			a.runs++
		}
	}()
}

// Runs returns the number of refreshes completed and the error of the
// last one that ended.
func (a *AutoAnalyze) Runs() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runs, a.err
}

// Close stops a running refresh and waits for it to end.
func (a *AutoAnalyze) Close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
}
