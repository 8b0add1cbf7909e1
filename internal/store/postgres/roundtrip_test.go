package postgres

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// countingConn counts the messages a client sends: each write of pgconn is
// one batch of protocol messages, and the client waits for the answer
// before it writes again, so writes are round trips.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// countingStore opens a store on a new schema whose pool (of one
// connection) counts the client's writes.
func countingStore(tb testing.TB) (*Store, *atomic.Int64) {
	ctx := context.Background()
	url := pgtest.URL(tb)
	s, err := Open(ctx, url, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	writes := new(atomic.Int64)
	// Each pool as Open makes it (its plan_cache_mode), of one connection
	// that counts.
	counting := func(like *pgxpool.Pool) *pgxpool.Pool {
		cfg := like.Config()
		cfg.MaxConns = 1
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, writes: writes}, nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		like.Close()
		return pool
	}
	s.pool = counting(s.pool)
	s.keyed = counting(s.keyed)
	return s, writes
}

func twoEntries() []*audit.Entry {
	return []*audit.Entry{
		{Action: audit.Read, Interaction: audit.InteractionRead, Agent: audit.Agent{Kind: "system"}, Patients: []string{"p1"}},
		{Action: audit.Read, Interaction: audit.InteractionSearch, Agent: audit.Agent{Kind: "system"}, Patients: []string{"p2"}},
	}
}

// TestAuditRoundTrips counts the round trips of an audit batch: two with
// CommitAudit, four with InTx and Tx.AppendAudit (BEGIN; the head; the
// inserts and the head update; COMMIT).
func TestAuditRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, writes := countingStore(t)
	count := func(name string, commit func() error) int64 {
		if err := commit(); err != nil { // the connection's statement cache fills
			t.Fatal(err)
		}
		start := writes.Load()
		if err := commit(); err != nil {
			t.Fatal(err)
		}
		n := writes.Load() - start
		t.Logf("%s: %d round trips", name, n)
		return n
	}
	if n := count("CommitAudit", func() error { return s.CommitAudit(ctx, twoEntries()) }); n != 2 {
		t.Errorf("CommitAudit took %d round trips, want 2", n)
	}
	if n := count("InTx", func() error { return store.CommitAuditInTx(ctx, s, twoEntries()) }); n != 4 {
		t.Errorf("InTx with AppendAudit took %d round trips, want 4", n)
	}
	v, err := audit.Verify(ctx, s)
	if err != nil || v.Broken != nil || v.Entries != 8 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}

// BenchmarkAuditCommit commits batches of two entries, one at a time, each
// way: wall time (mostly the WAL flush), the client's CPU per commit and
// its round trips.
func BenchmarkAuditCommit(b *testing.B) {
	ctx := context.Background()
	for _, way := range []string{"CommitAudit", "InTx"} {
		b.Run(way, func(b *testing.B) {
			s, writes := countingStore(b)
			commit := func() error { return s.CommitAudit(ctx, twoEntries()) }
			if way == "InTx" {
				commit = func() error { return store.CommitAuditInTx(ctx, s, twoEntries()) }
			}
			if err := commit(); err != nil {
				b.Fatal(err)
			}
			start, cpu := writes.Load(), processCPU()
			for b.Loop() {
				if err := commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
			b.ReportMetric(float64(writes.Load()-start)/float64(b.N), "round-trips/op")
		})
	}
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
