// Package storetest is the conformance suite every store.Store passes: the
// same tests, run by store/sqlite and store/postgres, so a feature that works
// on one and not the other shows up as a failure. Run(t, open) runs it all;
// Bench* are the shared benchmarks.
package storetest
