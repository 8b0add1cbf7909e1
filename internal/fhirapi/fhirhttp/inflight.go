package fhirhttp

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// DefaultMaxBundleBytes is the default budget of Bundle bytes processed at
// once: 32 MiB of request bodies.
const DefaultMaxBundleBytes = 32 << 20

// bundleBytes bounds the bytes of the batch and transaction Bundles being
// processed. A Bundle in process holds several times its JSON size (the
// parsed tree, the stored copy of every entry, the response), so counting
// Bundles alone (Options.MaxBundles) lets a few large ones take far more
// memory than many small ones. A Bundle takes its body's size (after
// decompression) from the budget once the body is read, and gives it back
// when its answer is written; one that does not fit waits for others to
// finish. Reading is bounded by MaxBundles and MaxBody.
type bundleBytes struct {
	sem    *semaphore.Weighted
	budget int64
}

// newBundleBytes returns a budget of budget bytes (DefaultMaxBundleBytes
// when budget <= 0), at least maxBody so that any admissible body fits.
func newBundleBytes(budget, maxBody int64) *bundleBytes {
	if budget <= 0 {
		budget = DefaultMaxBundleBytes
	}
	budget = max(budget, maxBody)
	return &bundleBytes{sem: semaphore.NewWeighted(budget), budget: budget}
}

// acquire waits until n more bytes fit in the budget and returns the
// function that gives them back, or the context's error when the client
// goes away first.
func (b *bundleBytes) acquire(ctx context.Context, n int64) (release func(), err error) {
	n = min(max(n, 1), b.budget)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { b.sem.Release(n) }, nil
}
