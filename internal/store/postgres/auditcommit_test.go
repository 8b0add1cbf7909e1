package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/storetest"
)

func readEntry(user string, patients ...string) *audit.Entry {
	return &audit.Entry{Action: audit.Read, Interaction: audit.InteractionRead,
		Agent:    audit.Agent{Kind: "user", Username: user, UserID: "id-" + user},
		Entities: []audit.Entity{{Type: "Patient", ID: "x", Version: 1}}, Patients: patients}
}

// dbClock reads the database's clock.
func dbClock(t *testing.T, s *postgres.Store) time.Time {
	t.Helper()
	var now time.Time
	if err := s.Pool().QueryRow(context.Background(), "SELECT clock_timestamp()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now.UTC()
}

// TestCommitAuditConcurrentServers: two stores on one database (two
// servers) commit batches at once, some through CommitAudit and some
// through write transactions with Tx.AppendAudit; the chain verifies, the
// entries of each CommitAudit batch are consecutive and share one time, and
// those times never decrease along the chain.
func TestCommitAuditConcurrentServers(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var servers []*postgres.Store
	for range 2 {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		servers = append(servers, s)
	}
	ctx := context.Background()
	before := dbClock(t, servers[0])
	const workers, batches = 4, 15
	var mu sync.Mutex
	var committed [][]*audit.Entry // CommitAudit batches
	total := int64(0)
	var wg sync.WaitGroup
	errc := make(chan error, 2*workers)
	for si, s := range servers {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range batches {
					user := fmt.Sprintf("s%dw%d", si, w)
					es := make([]*audit.Entry, 1+(i+w)%4)
					for j := range es {
						es[j] = readEntry(user, fmt.Sprintf("p%d", j), fmt.Sprintf("p%d", i))
					}
					var err error
					if w == 0 && i%3 == 0 {
						// a write transaction's entries, appended at its end
						err = s.InTx(ctx, func(tx store.Tx) error {
							for _, e := range es {
								e.Recorded = tx.Now()
							}
							return tx.AppendAudit(ctx, es)
						})
					} else {
						err = s.CommitAudit(ctx, es)
					}
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					total += int64(len(es))
					if w != 0 || i%3 != 0 {
						committed = append(committed, es)
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	after := dbClock(t, servers[1])
	storetest.VerifyChain(t, servers[0], total)

	bySeq := map[int64]time.Time{}
	for _, es := range committed {
		for j, e := range es {
			if e.Seq != es[0].Seq+int64(j) || !e.Recorded.Equal(es[0].Recorded) {
				t.Fatalf("batch entry %d: seq %d recorded %v after seq %d recorded %v", j, e.Seq, e.Recorded, es[0].Seq, es[0].Recorded)
			}
			if e.Recorded.Before(before) || e.Recorded.After(after) {
				t.Errorf("entry %d recorded %v, outside the database's clock %v..%v", e.Seq, e.Recorded, before, after)
			}
			bySeq[e.Seq] = e.Recorded
		}
	}
	rows, err := servers[1].AuditScan(ctx, 0, int(total))
	if err != nil || int64(len(rows)) != total {
		t.Fatalf("scan: %d rows, %v", len(rows), err)
	}
	var last time.Time
	for _, r := range rows {
		rec, ok := bySeq[r.Seq]
		if !ok {
			continue
		}
		if !r.Recorded.Equal(rec) {
			t.Fatalf("entry %d stored with recorded %v, committed with %v", r.Seq, r.Recorded, rec)
		}
		if rec.Before(last) {
			t.Errorf("entry %d recorded %v, before an earlier entry's %v", r.Seq, rec, last)
		}
		last = rec
	}
}

// TestCommitAuditRecordedUnderHeadLock: an append that waits for the
// chain head is recorded at the database's time once it holds the head,
// not when it started waiting.
func TestCommitAuditRecordedUnderHeadLock(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	holder, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	start := dbClock(t, s)
	e := readEntry("alice", "p1")
	done := make(chan error, 1)
	go func() { done <- s.CommitAudit(ctx, []*audit.Entry{e}) }()
	time.Sleep(200 * time.Millisecond)
	var released time.Time
	if err := holder.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&released); err != nil {
		t.Fatal(err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !e.Recorded.After(released) || e.Recorded.Sub(start) < 150*time.Millisecond {
		t.Errorf("recorded %v; waiting began at %v, the head was released at %v", e.Recorded, start, released)
	}
	if e.Recorded.Location() != time.UTC || e.Recorded.Nanosecond()%1000 != 0 {
		t.Errorf("recorded %v: want UTC microseconds", e.Recorded)
	}
	storetest.VerifyChain(t, s, 1)
}

// TestCommitAuditFailure: a batch that fails, in the middle of its second
// round trip (after its entries' rows were inserted) or while it waits for
// the head, leaves no row and the head as it was; the pool's connections
// are returned idle and the next batch continues the chain.
func TestCommitAuditFailure(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	if err := s.CommitAudit(ctx, []*audit.Entry{readEntry("alice", "p1"), readEntry("alice")}); err != nil {
		t.Fatal(err)
	}
	head, err := s.AuditHead(ctx)
	if err != nil || head.Seq != 2 {
		t.Fatalf("head %+v, %v", head, err)
	}
	// The patient rows are inserted after the entries' rows: a trigger
	// refusing one fails the batch once audit_log holds its rows.
	if _, err := s.Pool().Exec(ctx, `CREATE FUNCTION refuse_patient() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.patient = 'refused' THEN RAISE EXCEPTION 'patient refused'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_patient BEFORE INSERT ON audit_patient FOR EACH ROW EXECUTE FUNCTION refuse_patient()`); err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		h, err := s.AuditHead(ctx)
		if err != nil || h.Seq != head.Seq || string(h.Hash) != string(head.Hash) {
			t.Fatalf("%s: head %+v, %v; want %+v", what, h, err, head)
		}
		var rows, pats int
		if err := s.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM audit_patient)").Scan(&rows, &pats); err != nil {
			t.Fatal(err)
		}
		if rows != 2 || pats != 1 {
			t.Fatalf("%s: %d entries and %d patient rows, want 2 and 1", what, rows, pats)
		}
		// A broken connection is destroyed in the background; it counts
		// as acquired until then.
		for i := 0; s.Pool().Stat().AcquiredConns() != 0; i++ {
			if i == 100 {
				t.Fatalf("%s: %d connections still acquired", what, s.Pool().Stat().AcquiredConns())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for range 3 { // more than once: the same connections come back
		err = s.CommitAudit(ctx, []*audit.Entry{readEntry("bob", "p2"), readEntry("bob", "refused")})
		if err == nil || errs.KindOf(err) != errs.Internal {
			t.Fatalf("refused batch: %v", err)
		}
		unchanged("refused batch")
	}

	// Waiting for the head past the caller's deadline.
	holder, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = s.CommitAudit(tctx, []*audit.Entry{readEntry("carol", "p3")})
	cancel()
	if err == nil || errs.KindOf(err) != errs.Transient {
		t.Fatalf("batch past its deadline: %v", err)
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	unchanged("batch past its deadline")

	// A context cancelled before the batch starts.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.CommitAudit(cctx, []*audit.Entry{readEntry("dave")}); err == nil {
		t.Fatal("batch with a cancelled context committed")
	}
	unchanged("cancelled batch")

	// Every connection of the pool still works, and the chain continues.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.CommitAudit(ctx, []*audit.Entry{readEntry(fmt.Sprint("e", i), "p4")}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	storetest.VerifyChain(t, s, 10)
	conns := s.Pool().AcquireAllIdle(ctx)
	for _, c := range conns {
		if st := c.Conn().PgConn().TxStatus(); st != 'I' {
			t.Errorf("pooled connection in transaction status %c", st)
		}
		c.Release()
	}
}

// TestCommitAuditEmpty: no entries, no transaction.
func TestCommitAuditEmpty(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if err := s.CommitAudit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	storetest.VerifyChain(t, s, 0)
}
