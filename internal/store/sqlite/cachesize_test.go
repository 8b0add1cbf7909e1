package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// checkCacheSize reads PRAGMA cache_size on n distinct connections of db (a
// negative size is in KiB) and fails unless every one has want.
func checkCacheSize(t *testing.T, kind string, db *sql.DB, n, want int) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close() // held until all are read, so each is a distinct connection
		conns[i] = c
		var got int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s connection %d: cache_size %d, want %d", kind, i, got, want)
		}
	}
}

// TestCacheSizes: each connection kind gets its own page cache, the defaults
// and given sizes alike.
func TestCacheSizes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name              string
		opts              Options
		writer, read, ckp int // KiB
	}{
		{"defaults", Options{}, 32 << 10, 4 << 10, 1 << 10},
		{"given", Options{ReadConns: 3, CacheMiB: 64, ReadCacheMiB: 2, CheckpointCacheKiB: 256}, 64 << 10, 2 << 10, 256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, t.TempDir(), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			readers := c.opts.ReadConns
			if readers == 0 {
				readers = 4 // at least 4 by default
			}
			checkCacheSize(t, "writer", s.w, 1, -c.writer)
			checkCacheSize(t, "reader", s.r, readers, -c.read)
			checkCacheSize(t, "checkpointer", s.ck.db, 1, -c.ckp)
		})
	}
}
