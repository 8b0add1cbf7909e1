// Package reindex rebuilds the search-index rows of stored resources with
// the current search parameters: after a change of definitions (a new
// release, custom SearchParameter resources), the rows of resources written
// before the change are recomputed from their stored JSON.
//
// The job walks the current versions in the store's stable key order
// (store.Store.Scan), extracts rows in parallel and replaces them batch by
// batch (store.Tx.Reindex) without writing versions: history, versionId and
// lastUpdated stay as they are. A resource changed or deleted by a
// concurrent writer since it was scanned makes the batch conflict; the
// batch is then redone from a fresh read inside the transaction, so rows
// computed from a stale version never replace the writer's. Because the
// order is stable and every batch commits on its own, a job stopped midway
// resumes from the last cursor it reported (Options.After).
package reindex
