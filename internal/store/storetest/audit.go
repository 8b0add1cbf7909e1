package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

func auditEntry(user, interaction string, outcome audit.Outcome, patients ...string) *audit.Entry {
	return &audit.Entry{Action: audit.ActionOf(interaction), Interaction: interaction, Outcome: outcome,
		Agent: audit.Agent{Kind: "user", Username: user, UserID: "id-" + user}, Patients: patients,
		Entities: []audit.Entity{{Type: "Patient", ID: "x", Version: 1}}}
}

// withOrg sets the organization e's agent acted for, and returns e.
func withOrg(e *audit.Entry, org string) *audit.Entry {
	e.Agent.Organization = org
	return e
}

// appendAudit appends entries in one transaction stamped with its time.
func appendAudit(t *testing.T, s store.Store, es ...*audit.Entry) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		for _, e := range es {
			e.Recorded = tx.Now()
		}
		return tx.AppendAudit(context.Background(), es)
	})
	if err != nil {
		t.Fatalf("append audit: %v", err)
	}
}

// VerifyChain fails t unless the audit chain of s verifies with want entries
// and its head at want.
func VerifyChain(t *testing.T, s store.Store, want int64) {
	t.Helper()
	v, err := audit.Verify(context.Background(), s)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.Broken != nil || v.Entries != want || v.Head.Seq != want {
		t.Fatalf("verify: %d entries, head %d, broken %v; want %d entries", v.Entries, v.Head.Seq, v.Broken, want)
	}
}

// testAuditChain: entries are numbered from 1 without gaps, chained, kept
// only when their transaction commits, and read back as they were written.
func testAuditChain(t *testing.T, s store.Store) {
	ctx := context.Background()
	head, err := s.AuditHead(ctx)
	if err != nil || head.Seq != 0 || !cmp.Equal(head.Hash, audit.Genesis) {
		t.Fatalf("empty head = %+v, %v", head, err)
	}
	VerifyChain(t, s, 0)

	first := auditEntry("alice", audit.InteractionRead, audit.Success, "p2", "p1")
	first.Agent.Organization = "Organization/a b" // kept as the canonical bytes spell it
	appendAudit(t, s, first)
	if first.Seq != 1 {
		t.Fatalf("first entry numbered %d", first.Seq)
	}
	// A transaction that fails leaves no entry, and its writes and entries
	// go together.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, []store.Write{write("Patient", "a1", 1, store.Index{})}); err != nil {
			return err
		}
		e := auditEntry("bob", audit.InteractionCreate, audit.Success)
		e.Recorded = tx.Now()
		if err := tx.AppendAudit(ctx, []*audit.Entry{e}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing transaction: %v", err)
	}
	VerifyChain(t, s, 1)
	err = s.InTx(ctx, func(tx store.Tx) error {
		w := write("Patient", "a1", 1, store.Index{})
		w.LastUpdated = tx.Now()
		if err := tx.Put(ctx, []store.Write{w}); err != nil {
			return err
		}
		e := auditEntry("bob", audit.InteractionCreate, audit.Success, "a1")
		e.Recorded = tx.Now()
		return tx.AppendAudit(ctx, []*audit.Entry{e, auditEntry("bob", audit.InteractionRead, audit.MinorFailure)})
	})
	if err != nil {
		t.Fatal(err)
	}
	VerifyChain(t, s, 3)

	rows, err := s.AuditScan(ctx, 0, 2)
	if err != nil || len(rows) != 2 || rows[0].Seq != 1 || rows[1].Seq != 2 {
		t.Fatalf("scan = %v, %v", rows, err)
	}
	got, err := rows[0].Entry()
	if err != nil {
		t.Fatal(err)
	}
	first.Patients = []string{"p1", "p2"} // the row keeps them sorted
	if d := cmp.Diff(first.Columns(), rows[0].Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	if rows[0].Organization != "Organization/a%20b" {
		t.Errorf("organization column = %q", rows[0].Organization)
	}
	if got.Seq != 1 || got.Agent.Username != "alice" || got.Agent.Organization != "Organization/a b" || !got.Recorded.Equal(first.Recorded) {
		t.Errorf("entry read back = %+v", got)
	}
	if rows, _ := s.AuditScan(ctx, 2, 10); len(rows) != 1 || rows[0].Seq != 3 {
		t.Errorf("scan after 2 = %v", rows)
	}
}

// testAuditConcurrent: concurrent transactions append an unbroken chain.
func testAuditConcurrent(t *testing.T, s store.Store) {
	const writers, readers, each = 8, 4, 10
	var wg sync.WaitGroup
	errc := make(chan error, (writers+readers)*each)
	// Reads commit their entries on their own (the Repository's group
	// commit), between the write transactions'.
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := auditEntry(fmt.Sprint("reader", r), audit.InteractionRead, audit.Success, "p1")
				if err := store.CommitAudit(context.Background(), s, []*audit.Entry{e}); err != nil {
					errc <- err
				} else if e.Seq == 0 {
					errc <- errors.New("a committed read entry has no number")
				}
			}
		}(r)
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := s.InTx(context.Background(), func(tx store.Tx) error {
					wr := write("Patient", id, 1, store.Index{})
					wr.LastUpdated = tx.Now()
					if err := tx.Put(context.Background(), []store.Write{wr}); err != nil {
						return err
					}
					e := auditEntry(fmt.Sprint("user", w), audit.InteractionCreate, audit.Success, id)
					e.Recorded = tx.Now()
					return tx.AppendAudit(context.Background(), []*audit.Entry{e})
				})
				if err != nil {
					errc <- err
				}
				if entry, ok := seqOf(s, id); !ok {
					errc <- fmt.Errorf("the entry of %s is not in the trail when its transaction returns", id)
				} else if entry == 0 {
					errc <- fmt.Errorf("the entry of %s has number 0", id)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	VerifyChain(t, s, (writers+readers)*each)
}

// seqOf is the number of the trail's entry of patient id, and whether
// there is one.
func seqOf(s store.Store, id string) (int64, bool) {
	page, err := s.AuditRange(context.Background(), store.AuditQuery{Patient: id})
	if err != nil || len(page.Rows) != 1 {
		return 0, false
	}
	return page.Rows[0].Seq, true
}

// testAuditRange: reports filter by time, user, patient, organization,
// patient set, action, outcome and entry, sort by each key and page.
func testAuditRange(t *testing.T, s store.Store) {
	ctx := context.Background()
	appendAudit(t, s, withOrg(auditEntry("alice", "read", audit.Success, "p1"), "Organization/x"))
	mid := time.Now().UTC()
	appendAudit(t, s, withOrg(auditEntry("bob", "update", audit.MinorFailure, "p2"), "Org y"),
		withOrg(auditEntry("carol", "search", audit.Success, "p1", "p2"), "Organization/x"))
	appendAudit(t, s, auditEntry("alice", "delete", audit.SeriousFailure))
	seqs := func(q store.AuditQuery) []int64 {
		t.Helper()
		page, err := s.AuditRange(ctx, q)
		if err != nil {
			t.Fatalf("AuditRange(%+v): %v", q, err)
		}
		out := []int64{}
		for _, r := range page.Rows {
			out = append(out, r.Seq)
		}
		if page.More {
			out = append(out, -1)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want []int64
	}{
		{"all", store.AuditQuery{}, []int64{1, 2, 3, 4}},
		{"one", store.AuditQuery{Seq: 3}, []int64{3}},
		{"user name", store.AuditQuery{User: "alice"}, []int64{1, 4}},
		{"user id", store.AuditQuery{User: "id-bob"}, []int64{2}},
		{"patient", store.AuditQuery{Patient: "p2"}, []int64{2, 3}},
		{"patient, newest first", store.AuditQuery{Patient: "p2", Sort: []store.AuditSort{{Key: store.AuditByTime, Desc: true}}}, []int64{3, 2}},
		{"patient by patient", store.AuditQuery{Patient: "p1", Sort: []store.AuditSort{{Key: store.AuditByPatient, Desc: true}}}, []int64{1, 3}},
		{"patient and user", store.AuditQuery{Patient: "p1", User: "carol"}, []int64{3}},
		{"organization", store.AuditQuery{Organization: "Organization/x"}, []int64{1, 3}},
		{"organization that needs escaping", store.AuditQuery{Organization: "Org y"}, []int64{2}},
		{"organization and patient", store.AuditQuery{Organization: "Organization/x", Patient: "p2"}, []int64{3}},
		{"organization, newest first", store.AuditQuery{Organization: "Organization/x", Sort: []store.AuditSort{{Key: store.AuditByTime, Desc: true}}}, []int64{3, 1}},
		{"organization by user", store.AuditQuery{Organization: "Organization/x", Sort: []store.AuditSort{{Key: store.AuditByUser, Desc: true}}}, []int64{3, 1}},
		{"organization, page 2", store.AuditQuery{Organization: "Organization/x", Count: 1, Offset: 1}, []int64{3}},
		{"only one patient", store.AuditQuery{OnlyPatients: []string{"p1"}}, []int64{1}},
		{"only two patients", store.AuditQuery{OnlyPatients: []string{"p2", "p1"}}, []int64{1, 2, 3}},
		{"only no patient", store.AuditQuery{OnlyPatients: []string{}}, []int64{}},
		{"action", store.AuditQuery{Actions: []audit.Action{audit.Read, audit.Delete}}, []int64{1, 3, 4}},
		{"interaction", store.AuditQuery{Interactions: []string{"search"}}, []int64{3}},
		{"outcome", store.AuditQuery{Outcomes: []audit.Outcome{audit.MinorFailure, audit.SeriousFailure}}, []int64{2, 4}},
		{"from", store.AuditQuery{From: mid}, []int64{2, 3, 4}},
		{"to", store.AuditQuery{To: mid}, []int64{1}},
		{"newest first", store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByTime, Desc: true}}}, []int64{4, 3, 2, 1}},
		{"by user", store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByUser, Desc: true}}}, []int64{3, 2, 1, 4}},
		{"by patient", store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByPatient}}}, []int64{1, 3, 2, 4}},
		{"by outcome", store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByOutcome, Desc: true}}}, []int64{4, 2, 1, 3}},
		{"by action", store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByAction}}}, []int64{4, 1, 3, 2}},
		{"page 1", store.AuditQuery{Count: 2}, []int64{1, 2, -1}},
		{"page 2", store.AuditQuery{Count: 2, Offset: 2}, []int64{3, 4}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, seqs(tc.q)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	if _, err := s.AuditRange(ctx, store.AuditQuery{Sort: []store.AuditSort{{Key: "colour"}}}); err == nil {
		t.Error("unknown sort key accepted")
	}
}

// AuditOrgBackfill checks, on a store made before audit_org existed, the
// migration that added it. open opens the store (the same database each
// time); undo, given the closed store's database, puts the schema back as
// it was before the migration. Entries recorded then name organizations in
// their bytes only: reopening must fill the table from them, so that
// reports by organization find them and the chain still verifies.
func AuditOrgBackfill(t *testing.T, open func() store.Store, undo func()) {
	t.Helper()
	ctx := context.Background()
	s := open()
	appendAudit(t, s, withOrg(auditEntry("alice", "read", audit.Success, "p1"), "Organization/x"),
		auditEntry("system", "read", audit.Success, "p1"),
		withOrg(auditEntry("bob", "read", audit.Success, "p2"), "Org y"), // spelled "Org%20y" in the bytes
		withOrg(auditEntry("carol", "search", audit.Success), "Organization/x"))
	s.Close()
	undo()

	s = open()
	defer s.Close()
	VerifyChain(t, s, 4)
	for org, want := range map[string][]int64{"Organization/x": {1, 4}, "Org y": {3}, "Organization/z": nil} {
		page, err := s.AuditRange(ctx, store.AuditQuery{Organization: org})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range page.Rows {
			got = append(got, r.Seq)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("entries of %s after the migration (-want +got):\n%s", org, d)
		}
	}
	// Entries appended after the migration get their row too.
	appendAudit(t, s, withOrg(auditEntry("dave", "read", audit.Success, "p3"), "Organization/x"))
	if page, err := s.AuditRange(ctx, store.AuditQuery{Organization: "Organization/x"}); err != nil || len(page.Rows) != 3 {
		t.Errorf("after a new entry: %v, %v", page, err)
	}
	VerifyChain(t, s, 5)
}
