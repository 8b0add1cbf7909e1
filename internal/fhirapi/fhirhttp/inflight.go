package fhirhttp

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/sync/semaphore"
)

// DefaultMaxBundleBytes is the default budget of Bundle bytes read and
// processed at once: 32 MiB of request bodies.
const DefaultMaxBundleBytes = 32 << 20

// bundleBytes bounds the request bytes of the batch and transaction Bundles
// in flight. A parsed Bundle holds several times its JSON size (the body,
// the parsed tree, the stored versions), so counting Bundles alone lets a
// few large ones take far more memory than many small ones; the byte budget
// makes large Bundles queue while small ones still run side by side.
type bundleBytes struct {
	sem     *semaphore.Weighted
	budget  int64
	maxBody int64
}

// newBundleBytes returns a budget of budget bytes (DefaultMaxBundleBytes
// when budget <= 0), at least maxBody so that any admissible body fits.
func newBundleBytes(budget, maxBody int64) *bundleBytes {
	if budget <= 0 {
		budget = DefaultMaxBundleBytes
	}
	budget = max(budget, maxBody)
	return &bundleBytes{sem: semaphore.NewWeighted(budget), budget: budget, maxBody: maxBody}
}

// weight is what a request takes from the budget: its Content-Length, or
// the body limit when the size is not known in advance (chunked uploads,
// compressed bodies, which may expand up to the limit).
func (b *bundleBytes) weight(r *http.Request) int64 {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if r.ContentLength < 0 || (enc != "" && enc != "identity") {
		return b.maxBody
	}
	return min(max(r.ContentLength, 1), b.maxBody)
}

// acquire waits until the request's bytes fit in the budget and returns
// the function that gives them back, or the context's error when the
// client goes away first.
func (b *bundleBytes) acquire(ctx context.Context, r *http.Request) (release func(), err error) {
	n := b.weight(r)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { b.sem.Release(n) }, nil
}
