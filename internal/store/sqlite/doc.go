// Package sqlite is the embedded store, the default: one SQLite database
// file (plus its write-ahead log) in a data directory, through the pure-Go
// modernc.org/sqlite driver so the binary needs no cgo.
//
// One connection writes (SQLite allows a single writer; serializing in the
// pool avoids busy retries) and a pool of connections reads concurrently
// under WAL. The schema is created and migrated at Open from the embedded
// migrations/ files, recorded in schema_version. Tables and queries are
// shared with store/postgres through store/sqlgen; docs/STORAGE.md
// describes them.
package sqlite
