package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// Options tune the store. The zero value is a good default.
type Options struct {
	// MaxConns caps each of the store's two connection pools, one for
	// searches and writes, one for lookups by key (default: pgxpool's, the
	// larger of 4 and the number of CPUs).
	MaxConns int32
	// TxRetries is how many times InTx retries a transaction that failed
	// with a serialization failure or deadlock (default 5).
	TxRetries int
	// AnalyzeAfter is the least number of versions written before the store
	// runs ANALYZE on its tables in the background, which it does each time
	// the data has doubled (sqlgen.AutoAnalyze; default
	// sqlgen.DefaultAnalyzeAfter, negative: never). Autovacuum may be off,
	// or slow to notice a bulk load.
	AnalyzeAfter int
}

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
	// keyed serves statements that find rows by a unique key (a read by
	// type and id, a version, the audit commit's chain head): its sessions
	// keep one generic plan per statement, where pool's plan every
	// execution anew (0.5-0.9 ms of planning against 0.03 ms of execution
	// for a read by id).
	keyed   *pgxpool.Pool
	retries int
	auto    *sqlgen.AutoAnalyze

	mu      sync.Mutex // guards lastNow
	lastNow time.Time
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the database at url (a postgres:// URL or key=value
// string; search_path may be set in it) and brings the schema up to date.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errs.E("open store", errs.Invalid, "invalid database URL", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.TxRetries <= 0 {
		opts.TxRetries = 5
	}
	// Search values are very skewed (one patient's observations versus every
	// final one); a generic plan for a cached statement would pick one plan
	// for all of them. Plan each execution with its values instead. A
	// lookup by a unique key has one right plan whatever its values: the
	// keyed pool keeps it. A plan_cache_mode given in the URL applies to
	// both.
	keyedCfg := cfg.Copy()
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		keyedCfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errs.E("open store", mapErr(err), err)
	}
	keyed, err := pgxpool.NewWithConfig(ctx, keyedCfg)
	if err != nil {
		pool.Close()
		return nil, errs.E("open store", mapErr(err), err)
	}
	s := &Store{pool: pool, keyed: keyed, retries: opts.TxRetries}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		keyed.Close()
		return nil, err
	}
	s.auto = sqlgen.NewAutoAnalyze(int64(opts.AnalyzeAfter), s.analyzedRows(ctx), s.analyzeTables)
	return s, nil
}

// analyzedRows is the planner's estimate of the resources rows (from the
// last ANALYZE or VACUUM), 0 when there is none.
func (s *Store) analyzedRows(ctx context.Context) int64 {
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass('resources')").Scan(&n); err != nil {
		return 0
	}
	return n
}

// analyzeTables is the background refresh: ANALYZE samples a bounded
// number of rows per table and takes no lock that blocks writers.
func (s *Store) analyzeTables(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "ANALYZE resources, versions, "+strings.Join(indexTables, ", "))
	return err
}

// migrate applies the embedded migrations not yet in schema_migrations.
// The advisory lock is keyed by the schema so that nodes sharing a schema
// take turns while separate schemas (tests) migrate in parallel.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	defer conn.Release()
	const key = "hashtext('openchart.migrate.' || current_schema())"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	for _, v := range vs {
		applied[int(v)] = true
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(files)
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0])
		if err != nil {
			return errs.E("migrate store", errs.Internal, fmt.Errorf("migration %s: bad name", f))
		}
		if applied[n] {
			continue
		}
		body, _ := migrations.ReadFile(f)
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", f, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", n)
			return err
		})
		if err != nil {
			return errs.E("migrate store", mapErr(err), err)
		}
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return errs.E("ping store", mapErr(err), err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.auto.Close()
	s.pool.Close()
	s.keyed.Close()
	return nil
}

// Pool exposes the connection pool for maintenance and tests (ANALYZE,
// EXPLAIN); the Repository never uses it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// now is a transaction timestamp: UTC, microseconds, strictly increasing on
// this node so that one node's later transactions sort later in history.
func (s *Store) now() time.Time {
	t := time.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.After(s.lastNow) {
		t = s.lastNow.Add(time.Microsecond)
	}
	s.lastNow = t
	return t
}

// retryable reports a serialization failure or deadlock: the transaction
// may succeed if run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// mapErr classifies a database error.
func mapErr(err error) errs.Kind {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505", retryable(err):
			return errs.Conflict
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			strings.HasPrefix(pe.Code, "57"), pe.Code == "55P03":
			return errs.Transient
		}
		return errs.Internal
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errs.Transient
	}
	return errs.Internal
}

// Analyze vacuums and analyzes the store's tables: fresh planner statistics,
// and a visibility map that lets counts run as index-only scans. Autovacuum
// does the same eventually; call it after bulk loads.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE) resources, versions, "+strings.Join(indexTables, ", ")); err != nil {
		return errs.E("analyze", mapErr(err), err)
	}
	return nil
}
