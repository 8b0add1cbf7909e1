package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// FileName is the database file inside the data directory.
const FileName = "openchart.db"

// Options tune the store. The zero value is a good default.
type Options struct {
	// ReadConns is the size of the read connection pool (default: the
	// number of CPUs, at least 4).
	ReadConns int
	// CacheMiB is SQLite's page cache of the writer connection (default
	// 32): the index B-trees a write updates stay in it.
	CacheMiB int
	// ReadCacheMiB is the page cache of each read connection (default 8).
	// Pages a reader's cache lacks come from the operating system's file
	// cache, which all connections share and which does not count in the
	// server's resident memory. A cached page costs SQLite's allocator
	// about twice the page size, so ReadConns+1 full caches of 32 MiB took
	// over 300 MB (docs/PERFORMANCE.md, "Memory: a soft limit and smaller
	// caches").
	ReadCacheMiB int
	// CheckpointCacheKiB is the page cache of the checkpointer's connection
	// (default 1024): copying WAL frames into the database file does not go
	// through it.
	CheckpointCacheKiB int
	// BusyTimeout bounds how long a connection waits for a lock held by
	// another process (default 10s).
	BusyTimeout time.Duration
	// WALLimitMiB bounds the write-ahead log (default 256). The background
	// checkpoint copies frames into the database file without stopping the
	// writer, but under writes that never pause (an import) it never finds
	// the log fully copied at the moment a transaction starts, which is when
	// SQLite starts the log over, so the log grew without bound (32 GB at
	// 1,000 patients). Past this size the checkpointer waits its turn for the
	// writer connection and truncates the log (wal_checkpoint(TRUNCATE)).
	WALLimitMiB int
	// AnalyzeAfter is the least number of versions written before the store
	// refreshes its planner statistics in the background, which it does each
	// time the data has doubled (sqlgen.AutoAnalyze; default
	// sqlgen.DefaultAnalyzeAfter, negative: never).
	AnalyzeAfter int
}

// Store is the embedded store.
type Store struct {
	w, r *sql.DB
	stmt writeStmts
	aud  auditStmts // audit.go
	auto *sqlgen.AutoAnalyze
	ck   *checkpointer
	// reads caches the reader pool's search statements (stmtcache.go).
	reads *stmtCache

	mu      sync.Mutex // guards lastNow
	lastNow time.Time
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating when needed) the store in directory dir and brings its
// schema up to date.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.NumCPU())
	}
	if opts.CacheMiB <= 0 {
		opts.CacheMiB = 32
	}
	if opts.ReadCacheMiB <= 0 {
		opts.ReadCacheMiB = 8
	}
	if opts.CheckpointCacheKiB <= 0 {
		opts.CheckpointCacheKiB = 1024
	}
	if opts.WALLimitMiB <= 0 {
		opts.WALLimitMiB = 256
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errs.E("open store", errs.Internal, err)
	}
	path := filepath.Join(dir, FileName)
	// dsn is the connection string of a connection kind with a page cache
	// of cacheKiB.
	dsn := func(cacheKiB int, extra ...string) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
		v.Add("_pragma", "temp_store(MEMORY)")
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return path + "?" + v.Encode()
	}
	// The writer does not checkpoint the WAL at its commits: the
	// checkpointer below does, on its own connection, so that copying pages
	// into the database file is not part of the single writer's serial work.
	w, err := sql.Open("sqlite", dsn(opts.CacheMiB*1024, "_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)"))
	if err != nil {
		return nil, errs.E("open store", errs.Internal, err)
	}
	// One writer connection: transactions queue in the pool instead of
	// failing with SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(opts.ReadCacheMiB*1024, "_pragma", "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, errs.E("open store", errs.Internal, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxLifetime(0)
	s.r = r
	s.reads = newStmtCache(r)
	ck, err := sql.Open("sqlite", dsn(opts.CheckpointCacheKiB))
	if err != nil {
		s.Close()
		return nil, errs.E("open store", errs.Internal, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	s.ck = newCheckpointer(ck, w, int64(opts.WALLimitMiB)<<20, opts.BusyTimeout)
	if err := s.stmt.prepare(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.aud.prepare(ctx, w); err != nil {
		s.Close()
		return nil, errs.E("open store", errs.Internal, fmt.Errorf("preparing audit statements: %w", err))
	}
	s.auto = sqlgen.NewAutoAnalyze(int64(opts.AnalyzeAfter), s.analyzedRows(ctx), s.analyzeSample)
	return s, nil
}

// analyzedRows is the number of resources the last ANALYZE counted, 0 when
// there are no statistics.
func (s *Store) analyzedRows(ctx context.Context) int64 {
	var stat string
	err := s.r.QueryRowContext(ctx, "SELECT stat FROM sqlite_stat1 WHERE tbl = 'resources' LIMIT 1").Scan(&stat)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.Fields(stat + " 0")[0], 10, 64)
	return n
}

// analyzeSample is the background refresh: ANALYZE with a bounded sample
// per index (analysis_limit), so that it holds the writer connection for
// milliseconds rather than the seconds a full ANALYZE of a large database
// takes. Analyze is the full refresh.
func (s *Store) analyzeSample(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA analysis_limit = 1000"); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "ANALYZE")
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA analysis_limit = 0"); err == nil {
		err = rerr
	}
	s.reads.reset() // plan the searches again with the new statistics
	return err
}

// migrate applies the embedded migrations newer than schema_version, each in
// its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return errs.E("migrate store", mapErr(err))
	}
	var cur int
	if err := s.w.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return errs.E("migrate store", mapErr(err))
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return errs.E("migrate store", errs.Internal, err)
	}
	sort.Strings(files)
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			return errs.E("migrate store", errs.Internal, fmt.Errorf("migration %s: bad name", f))
		}
		if n <= cur {
			continue
		}
		body, _ := migrations.ReadFile(f)
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return errs.E("migrate store", mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return errs.E("migrate store", errs.Internal, fmt.Errorf("migration %s: %w", f, err))
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?1)", n); err != nil {
			tx.Rollback()
			return errs.E("migrate store", mapErr(err))
		}
		if err := tx.Commit(); err != nil {
			return errs.E("migrate store", mapErr(err))
		}
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return errs.E("ping store", mapErr(err))
	}
	return nil
}

// Close closes every connection.
func (s *Store) Close() error {
	s.auto.Close()
	var ckErr error
	if s.ck != nil {
		ckErr = s.ck.close()
	}
	s.stmt.close()
	s.aud.close()
	if s.reads != nil {
		s.reads.reset()
	}
	var err error
	if s.r != nil {
		err = s.r.Close()
	}
	return errors.Join(ckErr, err, s.w.Close())
}

// checkpointInterval is the least time between two WAL checkpoints while
// transactions commit: the WAL holds at most about this much work beyond
// what the database file has.
const checkpointInterval = 200 * time.Millisecond

// checkpointer copies committed WAL frames into the database file in the
// background (PRAGMA wal_checkpoint(PASSIVE), which neither waits for nor
// blocks readers and the writer), after commits, at most every
// checkpointInterval. SQLite's automatic checkpoint would do the same work
// inside the committing writer's transaction (8 % of an import's CPU),
// where it delays every transaction queued behind it.
type checkpointer struct {
	db     *sql.DB
	writer *sql.DB // the store's single writer connection
	limit  int64   // WAL bytes past which the log is truncated
	busy   time.Duration
	signal chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newCheckpointer(db, writer *sql.DB, limit int64, busy time.Duration) *checkpointer {
	c := &checkpointer{db: db, writer: writer, limit: limit, busy: busy,
		signal: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer there are new frames.
func (c *checkpointer) committed() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	var pageSize int64
	if err := c.db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil || pageSize <= 0 {
		pageSize = 4096
	}
	for {
		select {
		case <-c.stop:
			return
		case <-c.signal:
		}
		// A failed checkpoint (the disk is full) leaves the frames in the
		// WAL, where readers still find them; the next one tries again.
		var busy, log, done int64
		c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		if log*pageSize > c.limit {
			c.truncate()
		}
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// truncateWait bounds how long truncating the WAL waits for readers to
// leave it; the writer waits that long at most. A truncation that gives up
// is tried again after the next commit.
const truncateWait = 250 * time.Millisecond

// truncate copies what is left of the WAL into the database file and
// empties the log, on the writer connection: holding it keeps new frames
// out, and a turn on it comes between two write transactions however busy
// the writer is, where a second connection would have to win the write lock
// by polling. The frames left are few: the passive checkpoints copied the
// rest.
func (c *checkpointer) truncate() {
	ctx := context.Background()
	conn, err := c.writer.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(truncateWait.Milliseconds(), 10)); err != nil {
		return
	}
	var busy, log, done int64
	conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done)
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(c.busy.Milliseconds(), 10)); err != nil {
		// The writer must not keep the short timeout: drop the connection
		// (the pool opens a new one with the store's settings).
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// close stops the checkpointer and closes its connection; closing the
// store's last connection checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}

// now is a transaction timestamp: UTC, microseconds, and strictly after the
// previous one, so versions written by later transactions always sort later
// in history even when the clock is coarse or steps back.
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

// mapErr classifies a database error.
func mapErr(err error) errs.Kind {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errs.Transient
		case sqlite3.SQLITE_CONSTRAINT:
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return errs.Conflict
			}
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return errs.Transient
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errs.Transient
	}
	return errs.Internal
}

// Analyze refreshes the query planner's statistics (after bulk loads).
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
		return errs.E("analyze", mapErr(err), err)
	}
	s.reads.reset() // plan the searches again with the new statistics
	return nil
}
