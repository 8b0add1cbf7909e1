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
		c.resetLocked()
	}
	c.m[query] = st
	return st, nil
}

// reset closes every cached statement, so that the next use of a shape is
// planned again (after new planner statistics). database/sql closes a
// statement still in use by a transaction when that transaction ends.
func (c *stmtCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

func (c *stmtCache) resetLocked() {
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
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
