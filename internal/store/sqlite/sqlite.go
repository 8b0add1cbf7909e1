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
	"sync/atomic"
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
	// ReadCacheMiB is the page cache of each read connection (default 4).
	// Pages a reader's cache lacks come from the operating system's file
	// cache, which all connections share and which does not count in the
	// server's resident memory. A cached page costs SQLite's allocator
	// about twice the page size, so ReadConns+1 full caches of 32 MiB took
	// over 300 MB (docs/PERFORMANCE.md, "Memory: a soft limit and smaller
	// caches"). Since audited reads no longer commit to this file, the
	// caches fill: 4 MiB instead of 8 lowered the peak under the query mix
	// by about 30 MB at the same rates ("The audit trail in a file of its
	// own").
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
	// ShrinkAfter is how long a file's writer stays without commits before
	// its page cache is released (PRAGMA shrink_memory; default 5s,
	// negative: never). A bulk import fills the writer's cache, 32 MiB of
	// pages that took about 120 MB of the process's memory outside the Go
	// heap, and the reads that follow have no use for it; the next write
	// reads its pages again from the operating system's file cache.
	ShrinkAfter time.Duration
}

// Store is the embedded store.
type Store struct {
	w, r  *sql.DB
	stmt  writeStmts
	stage stageStmts // trail.go
	auto  *sqlgen.AutoAnalyze
	ck    *checkpointer

	// The audit trail's file, audit.db (trail.go): its single writer, its
	// readers, its checkpointer and its append statements.
	tw, tr *sql.DB
	tck    *checkpointer
	trail  trailStmts
	// pending holds the entries this process staged and has not chained
	// yet, by their audit_stage id, from just before their transaction
	// commits.
	pending sync.Map
	mark    atomic.Pointer[moveMark] // the chain's head after the last append of staged entries
	tidied  atomic.Int64             // audit_stage rows up to this one are deleted
	// behind is set while staged entries that committed may be missing
	// from the chain (an append failed); the next append catches up.
	behind atomic.Bool
	// anchorHeld is set when audit.db lacks the entry openchart.db's anchor
	// names: the anchor no longer moves (checkAnchor).
	anchorHeld atomic.Bool
	// reads caches the reader pool's search statements (stmtcache.go).
	reads *stmtCache

	mu      sync.Mutex // guards lastNow
	lastNow time.Time
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql migrations/audit/*.sql
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
		opts.ReadCacheMiB = 4
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
	if opts.ShrinkAfter == 0 {
		opts.ShrinkAfter = 5 * time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errs.E("open store", errs.Internal, err)
	}
	path := filepath.Join(dir, FileName)
	// dsn is the connection string of a connection kind to the file at p
	// with a page cache of cacheKiB.
	dsn := func(p string, cacheKiB int, extra ...string) string {
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
		return p + "?" + v.Encode()
	}
	// pool opens a connection pool of n connections.
	pool := func(d string, n int) (*sql.DB, error) {
		db, err := sql.Open("sqlite", d)
		if err != nil {
			return nil, errs.E("open store", errs.Internal, err)
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxLifetime(0)
		return db, nil
	}
	// The writers do not checkpoint the WAL at their commits: the
	// checkpointers below do, on their own connections, so that copying
	// pages into the database file is not part of a single writer's serial
	// work. One writer connection per file: transactions queue in the pool
	// instead of failing with SQLITE_BUSY.
	writer := func(p string, cacheKiB int) (*sql.DB, error) {
		return pool(dsn(p, cacheKiB, "_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)"), 1)
	}
	s := &Store{}
	var err error
	if s.w, err = writer(path, opts.CacheMiB*1024); err != nil {
		return nil, err
	}
	if err := s.open(ctx, func() error {
		if err := migrate(ctx, s.w, "migrations"); err != nil {
			return err
		}
		trailPath := filepath.Join(dir, AuditFileName)
		if err := createTrail(ctx, trailPath); err != nil {
			return err
		}
		if s.tw, err = writer(trailPath, trailCacheKiB); err != nil {
			return err
		}
		if err := migrate(ctx, s.tw, "migrations/audit"); err != nil {
			return err
		}
		if err := s.adoptTrail(ctx, path); err != nil {
			return err
		}
		if err := s.checkAnchor(ctx); err != nil {
			return err
		}
		if s.r, err = pool(dsn(path, opts.ReadCacheMiB*1024, "_pragma", "query_only(1)"), opts.ReadConns); err != nil {
			return err
		}
		s.reads = newStmtCache(s.r)
		if s.tr, err = pool(dsn(trailPath, trailCacheKiB, "_pragma", "query_only(1)"), trailReadConns); err != nil {
			return err
		}
		ck, err := pool(dsn(path, opts.CheckpointCacheKiB), 1)
		if err != nil {
			return err
		}
		s.ck = newCheckpointer(ck, s.w, int64(opts.WALLimitMiB)<<20, opts.BusyTimeout, opts.ShrinkAfter)
		tck, err := pool(dsn(trailPath, opts.CheckpointCacheKiB), 1)
		if err != nil {
			return err
		}
		s.tck = newCheckpointer(tck, s.tw, int64(opts.WALLimitMiB)<<20, opts.BusyTimeout, opts.ShrinkAfter)
		if err := s.stmt.prepare(ctx, s.w); err != nil {
			return err
		}
		if err := s.stage.prepare(ctx, s.w); err != nil {
			return errs.E("open store", errs.Internal, fmt.Errorf("preparing audit statements: %w", err))
		}
		if err := s.trail.prepare(ctx, s.tw); err != nil {
			return errs.E("open store", errs.Internal, fmt.Errorf("preparing audit statements: %w", err))
		}
		if err := s.loadMark(ctx); err != nil {
			return err
		}
		// Entries staged by transactions that committed just before the
		// process ended.
		if err := s.appendStaged(ctx); err != nil {
			return err
		}
		return nil
	}); err != nil {
		return nil, err
	}
	s.auto = sqlgen.NewAutoAnalyze(int64(opts.AnalyzeAfter), s.analyzedRows(ctx), s.analyzeSample)
	return s, nil
}

// The audit trail's connections: appends go to the chain's right edge, and
// reports are rare, so small caches and few readers do. A commit writes
// every page it changed to the WAL, about seven for a read's entries (the
// entry, its indexes, its patients, the head): pages of 1 KiB instead of
// SQLite's 4 KiB cut the CPU per audited read by about a seventh
// (docs/PERFORMANCE.md, "The audit trail in a file of its own").
const (
	trailCacheKiB  = 4096
	trailReadConns = 2
	trailPageSize  = 1024
)

// createTrail makes a new audit.db with pages of trailPageSize, which must
// be set before the file's first table and before WAL mode, which the
// driver sets first.
func createTrail(ctx context.Context, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return errs.E("open store", errs.Internal, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA page_size = " + strconv.Itoa(trailPageSize), "CREATE TABLE schema_version (version INTEGER NOT NULL)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return errs.E("open store", mapErr(err), fmt.Errorf("creating %s: %w", AuditFileName, err))
		}
	}
	return nil
}

// open runs the steps of Open, closing what they opened when one fails.
func (s *Store) open(ctx context.Context, steps func() error) error {
	if err := steps(); err != nil {
		s.closeAll()
		return err
	}
	return nil
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

// migrate applies the embedded migrations of directory dir (one file's
// schema) newer than the file's schema_version, each in its own
// transaction.
func migrate(ctx context.Context, db *sql.DB, dir string) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	var cur int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return errs.E("migrate store", mapErr(err), err)
	}
	files, err := fs.Glob(migrations, dir+"/*.sql")
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
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return errs.E("migrate store", mapErr(err), err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return errs.E("migrate store", errs.Internal, fmt.Errorf("migration %s: %w", f, err))
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?1)", n); err != nil {
			tx.Rollback()
			return errs.E("migrate store", mapErr(err), err)
		}
		if err := tx.Commit(); err != nil {
			return errs.E("migrate store", mapErr(err), err)
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

// Close anchors openchart.db at the audit chain's head and closes every
// connection.
func (s *Store) Close() error {
	s.auto.Close()
	anchorErr := s.anchorAtClose(context.Background())
	return errors.Join(anchorErr, s.closeAll())
}

// closeAll closes what is open.
func (s *Store) closeAll() error {
	var all []error
	for _, ck := range []*checkpointer{s.ck, s.tck} {
		if ck != nil {
			all = append(all, ck.close())
		}
	}
	s.stmt.close()
	s.stage.close()
	s.trail.close()
	if s.reads != nil {
		s.reads.reset()
	}
	for _, db := range []*sql.DB{s.r, s.tr, s.tw, s.w} {
		if db != nil {
			all = append(all, db.Close())
		}
	}
	return errors.Join(all...)
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
// where it delays every transaction queued behind it. It also releases the
// writer's page cache once commits have paused (Options.ShrinkAfter).
type checkpointer struct {
	db          *sql.DB
	writer      *sql.DB // the store's single writer connection
	limit       int64   // WAL bytes past which the log is truncated
	busy        time.Duration
	shrinkAfter time.Duration // negative: never
	shrinks     atomic.Int64  // times the writer's cache was released
	signal      chan struct{}
	stop        chan struct{}
	done        chan struct{}
}

func newCheckpointer(db, writer *sql.DB, limit int64, busy, shrinkAfter time.Duration) *checkpointer {
	c := &checkpointer{db: db, writer: writer, limit: limit, busy: busy, shrinkAfter: shrinkAfter,
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
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-quiet.C:
			c.shrink()
			continue
		case <-c.signal:
		}
		if c.shrinkAfter > 0 {
			quiet.Reset(c.shrinkAfter)
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

// shrink releases the page cache of the writer connection once commits
// have paused (Options.ShrinkAfter).
func (c *checkpointer) shrink() {
	conn, err := c.writer.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "PRAGMA shrink_memory"); err == nil {
		c.shrinks.Add(1)
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
