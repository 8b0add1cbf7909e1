// Package e2e holds OpenChart's end-to-end tests: the whole stack as
// `openchart serve` and `openchart import` assemble it (package app), run
// against the real embedded store and real PostgreSQL, with the shared test
// data (../shared/data). It has no non-test code beyond this file.
package e2e
