package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

// trailEntries are entries of users of two organizations.
func trailEntries() []*audit.Entry {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := func(i int, user, org string, patients ...string) *audit.Entry {
		return &audit.Entry{Recorded: at.Add(time.Duration(i) * time.Minute), Action: audit.Read, Interaction: audit.InteractionRead,
			Agent:    audit.Agent{Kind: "user", Username: user, UserID: "id-" + user, Organization: org},
			Entities: []audit.Entity{{Type: "Patient", ID: "p1", Version: 1}}, Patients: patients}
	}
	return []*audit.Entry{e(0, "alice", "Organization/x", "p1"), e(1, "system", ""), e(2, "bob", "Org y", "p2"), e(3, "carol", "Organization/x", "p1", "p2")}
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seqs lists the entries of a report.
func seqs(t *testing.T, s store.Store, q store.AuditQuery) []int64 {
	t.Helper()
	page, err := s.AuditRange(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range page.Rows {
		out = append(out, r.Seq)
	}
	return out
}

// pageSize is the page size of a database file.
func pageSize(t *testing.T, path string) (n int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("PRAGMA page_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// auditObjects lists the tables, indexes and triggers of a database file
// whose names start with audit_log.
func auditObjects(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE name LIKE 'audit_log%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// TestTrailMovesOut: a data directory made before audit.db (schema version
// 3, before the organization table and with the user_id index, and version
// 5) opens with its chain moved into audit.db, whole: it verifies, reports
// by organization, patient and user find their entries, openchart.db keeps
// no audit table, and new entries continue the chain.
func TestTrailMovesOut(t *testing.T) {
	ctx := context.Background()
	for _, version := range []int{3, 5} {
		dir := t.TempDir()
		head := sqlite.WriteLegacyTrail(t, dir, version, trailEntries())
		s := openStore(t, dir)
		storetest.VerifyChain(t, s, 4)
		if h, err := s.AuditHead(ctx); err != nil || !cmp.Equal(h, head) {
			t.Errorf("version %d: head %v, %v; want %v", version, h, err, head)
		}
		for _, c := range []struct {
			q    store.AuditQuery
			want []int64
		}{
			{store.AuditQuery{Organization: "Organization/x"}, []int64{1, 4}},
			{store.AuditQuery{Organization: "Org y"}, []int64{3}},
			{store.AuditQuery{Patient: "p2"}, []int64{3, 4}},
			{store.AuditQuery{User: "id-bob"}, []int64{3}},
		} {
			if got := seqs(t, s, c.q); !cmp.Equal(got, c.want) {
				t.Errorf("version %d: report %+v = %v, want %v", version, c.q, got, c.want)
			}
		}
		if got := auditObjects(t, filepath.Join(dir, sqlite.FileName)); len(got) != 0 {
			t.Errorf("version %d: openchart.db still has %v", version, got)
		}
		if got := pageSize(t, filepath.Join(dir, sqlite.AuditFileName)); got != 1024 {
			t.Errorf("audit.db has pages of %d bytes, want 1024", got)
		}
		if got, want := auditObjects(t, filepath.Join(dir, sqlite.AuditFileName)), []string{"audit_log", "audit_log_no_delete", "audit_log_no_update", "audit_log_recorded", "audit_log_username"}; !cmp.Equal(got, want) {
			t.Errorf("version %d: audit.db has %v, want %v", version, got, want)
		}
		e := trailEntries()[0]
		if err := store.CommitAudit(ctx, s, []*audit.Entry{e}); err != nil {
			t.Fatal(err)
		}
		if e.Seq != 5 {
			t.Errorf("the next entry is %d, want 5", e.Seq)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, dir)
		storetest.VerifyChain(t, s, 5)
		s.Close()
	}
}

// TestTrailMoveInterrupted: when the chain was copied into audit.db but the
// old tables were not yet dropped, opening drops them without copying
// twice; when the two files hold different chains, the store does not
// open.
func TestTrailMoveInterrupted(t *testing.T) {
	dir := t.TempDir()
	sqlite.WriteLegacyTrail(t, dir, 5, trailEntries())
	openStore(t, dir).Close()
	sqlite.WriteLegacyTrail(t, dir, 5, trailEntries()) // the old tables, as if never dropped
	s := openStore(t, dir)
	storetest.VerifyChain(t, s, 4)
	s.Close()
	if got := auditObjects(t, filepath.Join(dir, sqlite.FileName)); len(got) != 0 {
		t.Errorf("openchart.db still has %v", got)
	}

	other := trailEntries()
	other[2].Agent.Username = "mallory"
	sqlite.WriteLegacyTrail(t, dir, 5, other)
	_, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "different audit trails") {
		t.Fatalf("open with two different chains: %v", err)
	}
}

// writeEntry commits one write transaction whose only change is an audit
// entry.
func writeEntry(t *testing.T, s store.Store, user string) *audit.Entry {
	t.Helper()
	e := &audit.Entry{Action: audit.Create, Interaction: audit.InteractionCreate, Agent: audit.Agent{Kind: "user", Username: user},
		Entities: []audit.Entity{{Type: "Patient", ID: user, Version: 1}}, Patients: []string{user}}
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		e.Recorded = tx.Now()
		return tx.AppendAudit(context.Background(), []*audit.Entry{e})
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTrailAnchor: when the trail file was deleted or replaced by an older
// copy, audit verify reports the entries it lacks, however many entries
// are appended afterwards; restoring the file mends the chain.
func TestTrailAnchor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	trail := filepath.Join(dir, sqlite.AuditFileName)
	s := openStore(t, dir)
	writeEntry(t, s, "p1")
	s.Close()
	older, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	writeEntry(t, s, "p2")
	if err := store.CommitAudit(ctx, s, trailEntries()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	current, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) {
		for _, suffix := range []string{"-wal", "-shm"} {
			os.Remove(trail + suffix)
		}
		if err := os.WriteFile(trail, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		replace func()
		at      int64 // the first entry verify names
	}{
		{"deleted", func() { os.Remove(trail) }, 1},
		{"an older copy", func() { put(older) }, 2},
	} {
		c.replace()
		for round := 0; round < 2; round++ {
			s = openStore(t, dir)
			v, err := audit.Verify(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			// Then the new chain reaches entry 6, with another hash.
			want := map[int]int64{0: c.at, 1: 6}[round]
			if v.Broken == nil || v.Broken.Seq != want || !strings.Contains(v.Broken.Reason, "the store last saw") {
				t.Errorf("trail %s, round %d: verify %+v, want it broken at entry %d", c.name, round, v.Broken, want)
			}
			// New entries do not move the anchor past the break.
			for i := 0; i < 6; i++ {
				writeEntry(t, s, "p3")
			}
			s.Close()
		}
		put(current)
		s = openStore(t, dir)
		storetest.VerifyChain(t, s, 6)
		s.Close()
	}
}

// failAppends makes every append to the trail of the store in dir fail
// (as a full disk would), or, with on false, succeed again: a trigger that
// refuses new entries, made and dropped on a connection of its own.
func failAppends(t *testing.T, dir string, on bool) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.AuditFileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "DROP TRIGGER audit_log_full"
	if on {
		q = "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestStagedEntriesKept: entries of a write transaction whose append to the
// chain failed after its commit stay staged, and enter the chain, in order
// and whole, at the next append or when the store opens again.
func TestStagedEntriesKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	failAppends(t, dir, true)
	writeEntry(t, s, "p1")
	writeEntry(t, s, "p2")
	if h, err := s.AuditHead(ctx); err != nil || h.Seq != 0 {
		t.Fatalf("head %v, %v: the failed appends went through", h, err)
	}
	failAppends(t, dir, false)
	read := trailEntries()[:1]
	if err := store.CommitAudit(ctx, s, read); err != nil {
		t.Fatal(err)
	}
	if read[0].Seq != 3 {
		t.Errorf("the read entry is entry %d, want 3 (after the two staged ones)", read[0].Seq)
	}
	if got := seqs(t, s, store.AuditQuery{Patient: "p2"}); !cmp.Equal(got, []int64{2}) {
		t.Errorf("entries of p2: %v, want [2]", got)
	}

	failAppends(t, dir, true)
	writeEntry(t, s, "p3")
	s.Close() // as a process that ended before the append
	failAppends(t, dir, false)
	s = openStore(t, dir)
	defer s.Close()
	storetest.VerifyChain(t, s, 4)
	rows, err := s.AuditScan(ctx, 3, 10)
	if err != nil || len(rows) != 1 || !cmp.Equal(rows[0].Patients, []string{"p3"}) || rows[0].Action != string(audit.Create) {
		t.Fatalf("entry 4 after reopening: %+v, %v", rows, err)
	}
	e := writeEntry(t, s, "p4")
	if e.Seq != 5 {
		t.Errorf("the next write's entry is %d, want 5", e.Seq)
	}
}

// TestReadEntriesLeaveDataFile: committing read entries changes audit.db
// only, so the page caches of openchart.db's readers stay valid; a write
// changes openchart.db.
func TestReadEntriesLeaveDataFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	version := func() (v int64) {
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version()
	for i := 0; i < 5; i++ {
		if err := store.CommitAudit(ctx, s, trailEntries()); err != nil {
			t.Fatal(err)
		}
	}
	if after := version(); after != before {
		t.Errorf("read entries changed openchart.db (data_version %d → %d)", before, after)
	}
	writeEntry(t, s, "p1")
	if after := version(); after == before {
		t.Error("a write transaction did not change openchart.db")
	}
	storetest.VerifyChain(t, s, 21)
}

// TestTwoProcessesShareTrail: two stores on one directory (the server and
// `openchart token` beside it) write and read at once; every write's entry
// is chained exactly once, and the chain holds.
func TestTwoProcessesShareTrail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := openStore(t, dir), openStore(t, dir)
	const workers, each = 3, 15
	var wg sync.WaitGroup
	errc := make(chan error, 4*workers*each)
	for _, s := range []*sqlite.Store{a, b} {
		for w := 0; w < workers; w++ {
			wg.Add(2)
			go func(s *sqlite.Store, w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					e := &audit.Entry{Action: audit.Create, Interaction: audit.InteractionCreate, Agent: audit.Agent{Kind: "user", Username: "u"},
						Patients: []string{fmt.Sprintf("%p-%d-%d", s, w, i)}}
					err := s.InTx(ctx, func(tx store.Tx) error {
						e.Recorded = tx.Now()
						return tx.AppendAudit(ctx, []*audit.Entry{e})
					})
					if err != nil {
						errc <- err
					}
				}
			}(s, w)
			go func(s *sqlite.Store) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := store.CommitAudit(ctx, s, trailEntries()[:1]); err != nil {
						errc <- err
					}
				}
			}(s)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	storetest.VerifyChain(t, a, 4*workers*each)
	for _, s := range []*sqlite.Store{a, b} {
		for w := 0; w < workers; w++ {
			for i := 0; i < each; i++ {
				p := fmt.Sprintf("%p-%d-%d", s, w, i)
				if got := seqs(t, a, store.AuditQuery{Patient: p}); len(got) != 1 {
					t.Errorf("the entry of %s is chained %d times", p, len(got))
				}
			}
		}
	}
	a.Close()
	b.Close()
}
