package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.reads
	a, err := c.get(ctx, "SELECT ? + 1")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.get(ctx, "SELECT ? + 1"); b != a {
		t.Error("the same statement text was prepared twice")
	}
	if _, err := c.get(ctx, "SELECT FROM nowhere"); err == nil {
		t.Error("a statement that does not parse was cached")
	}
	// Used inside read transactions, concurrently, with different values.
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				tx, err := s.r.BeginTx(ctx, nil)
				if err != nil {
					errc <- err
					return
				}
				var n int
				err = cachedTx{tx: tx, c: c}.QueryRowContext(ctx, "SELECT ? + 1", g*100+i).Scan(&n)
				tx.Rollback()
				if err != nil || n != g*100+i+1 {
					errc <- fmt.Errorf("SELECT %d + 1 = %d, %v", g*100+i, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// A full cache starts again rather than growing.
	for i := range maxCachedStmts + 10 {
		if _, err := c.get(ctx, fmt.Sprintf("SELECT %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	if n > maxCachedStmts {
		t.Errorf("%d statements cached, more than %d", n, maxCachedStmts)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	n = len(c.m)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d statements still cached after new statistics", n)
	}
}

// Statements started on the pool outside a transaction (cachedDB) never
// meet a statement the cache has closed meanwhile: emptying the cache,
// explicitly or because it is full, waits for them.
func TestStmtCacheOutsideTx(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.reads
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var n int
				err := cachedDB{c}.QueryRowContext(ctx, fmt.Sprintf("SELECT ? + %d", i%3), g).Scan(&n)
				if err != nil || n != g+i%3 {
					errc <- fmt.Errorf("SELECT %d + %d = %d, %v", g, i%3, n, err)
					return
				}
				rows, err := cachedDB{c}.QueryContext(ctx, "SELECT ? * 2", i)
				if err != nil {
					errc <- err
					return
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					errc <- err
				}
				rows.Close()
			}
		}()
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if i%10 == 0 {
					c.reset()
				}
				if _, err := c.get(ctx, fmt.Sprintf("SELECT %d", g*1000+i)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := range maxCachedStmts + 10 {
		if _, err := c.get(ctx, fmt.Sprintf("SELECT 'fill', %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
