package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the reader pool's statement cache. Search
// statements differ by the shape of the query (its parameters, modifiers,
// the access policy's clauses), not by its values, so a server's traffic
// has few shapes; a cache that fills up is emptied and starts again.
const maxCachedStmts = 256

// stmtCache keeps the reader pool's prepared statements by SQL text.
// Parsing and planning a search statement was about a third of the CPU of a
// read by id under an access token: with the cache, each reader
// connection prepares a shape once (database/sql keeps one driver
// statement per connection and reuses it inside transactions, Tx.Stmt).
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// started is held for reading from taking a statement to starting
	// it outside a transaction (cachedDB), and for writing to close
	// statements: database/sql refuses to start a closed statement on
	// the pool, while a transaction prepares it again.
	started sync.RWMutex
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the statement of query, preparing it once.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil {
		st.Close()
		return old, nil
	}
	if len(c.m) >= maxCachedStmts {
		// The caller may hold started: close the old statements once
		// no statement is being started.
		old := c.m
		c.m = map[string]*sql.Stmt{}
		go c.close(old)
	}
	c.m[query] = st
	return st, nil
}

// reset closes every cached statement, so that the next use of a shape is
// planned again (after new planner statistics). database/sql closes a
// statement still in use by a transaction when that transaction ends, and
// one whose rows are still open when they are closed.
func (c *stmtCache) reset() {
	c.mu.Lock()
	old := c.m
	c.m = map[string]*sql.Stmt{}
	c.mu.Unlock()
	c.close(old)
}

func (c *stmtCache) close(stmts map[string]*sql.Stmt) {
	c.started.Lock()
	defer c.started.Unlock()
	for _, st := range stmts {
		st.Close()
	}
}

// cachedTx runs a read transaction's queries through the cache: the
// querier of searches on the reader pool.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (q cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.c.get(ctx, query)
	if err != nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (q cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.c.get(ctx, query)
	if err != nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// cachedDB runs single statements on the reader pool through the cache
// (reads by key, which need no transaction of their own).
type cachedDB struct{ c *stmtCache }

func (q cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q.c.started.RLock()
	defer q.c.started.RUnlock()
	st, err := q.c.get(ctx, query)
	if err != nil {
		return q.c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (q cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	q.c.started.RLock()
	defer q.c.started.RUnlock()
	st, err := q.c.get(ctx, query)
	if err != nil {
		return q.c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
