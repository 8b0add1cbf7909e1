// Package postgres is the network-scale store: PostgreSQL through pgx v5 and
// a pgxpool. Any number of OpenChart nodes may share one database.
//
// Open runs the embedded migrations/ files under a PostgreSQL advisory lock
// (so several nodes can start at once) and records them in
// schema_migrations. Tables and queries are shared with store/sqlite through
// store/sqlgen; docs/STORAGE.md describes them. Writes send all of a
// transaction's rows as arrays (INSERT ... SELECT FROM unnest(...)) in one
// pipelined batch, so a 700-resource import transaction costs a handful of
// round trips rather than thousands.
package postgres
