// Package bench measures a running OpenChart server and prints one table:
// transaction-Bundle import over HTTP and NDJSON import through the
// importer (resources/s), read by id and a fixed query mix at several
// concurrency levels (requests/s and latency percentiles, with vegeta as
// the load generator), count searches as matches/s, the server's memory
// and CPU during each phase, and the PostgreSQL ceilings measured in the
// same run (COPY of the same resources' JSON, pgbench's primary-key
// select), with each OpenChart figure's ratio to its ceiling.
//
// It only ever talks to loopback addresses, and every loop it runs is
// bounded in count and in time. The data it loads comes from package
// scale (openchart bench data).
package bench
