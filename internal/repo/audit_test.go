package repo_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// entriesSince returns the audit entries after seq.
func entriesSince(t *testing.T, r *repo.Repo, seq int64) []*audit.Entry {
	t.Helper()
	rows, err := r.Store().AuditScan(context.Background(), seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*audit.Entry
	for _, row := range rows {
		e, err := row.Entry()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func headSeq(t *testing.T, r *repo.Repo) int64 {
	t.Helper()
	h, err := r.Store().AuditHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}

type brief struct {
	Interaction string
	Action      audit.Action
	Outcome     audit.Outcome
	Who         string
	Entities    []audit.Entity
	Patients    []string
}

func briefs(es []*audit.Entry) []brief {
	var out []brief
	for _, e := range es {
		out = append(out, brief{e.Interaction, e.Action, e.Outcome, e.Agent.Name(), e.Entities, e.Patients})
	}
	return out
}

// TestAudit: every interaction leaves its entry with the principal, the
// resources and the patients; a rolled-back transaction's interactions are
// recorded as failed; audit ids cannot be written.
func TestAudit(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "alice", UserID: "u1", Source: "10.1.2.3"})
		start := headSeq(t, r)
		if _, err := r.Update(ctx, "Patient", "p1", patient("p1", "1"), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		obs := map[string]any{"resourceType": "Observation", "id": "o1", "status": "final",
			"code": map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/p1"}}
		if _, err := r.Update(ctx, "Observation", "o1", obs, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(ctx, "Observation", "o1"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(ctx, "Patient", "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatal(err)
		}
		if _, err := r.Search(ctx, &store.Query{Types: []string{"Observation"}}); err != nil {
			t.Fatal(err)
		}
		bad := patient("p1", "1")
		bad["gender"] = "mal"
		if _, err := r.Update(ctx, "Patient", "p1", bad, repo.UpdateOptions{}); !errs.Is(err, errs.Invalid) {
			t.Fatal(err)
		}
		if _, err := r.Delete(ctx, "Observation", "o1"); err != nil {
			t.Fatal(err)
		}
		want := []brief{
			{"update", audit.Create, audit.Success, "alice", []audit.Entity{{Type: "Patient", ID: "p1", Version: 1}}, []string{"p1"}},
			{"update", audit.Create, audit.Success, "alice", []audit.Entity{{Type: "Observation", ID: "o1", Version: 1}}, []string{"p1"}},
			{"read", audit.Read, audit.Success, "alice", []audit.Entity{{Type: "Observation", ID: "o1", Version: 1}}, []string{"p1"}},
			{"read", audit.Read, audit.MinorFailure, "alice", []audit.Entity{{Type: "Patient", ID: "nope", Version: 0}}, nil},
			{"search", audit.Read, audit.Success, "alice", []audit.Entity{{Type: "Observation", ID: "", Version: 0}, {Type: "Observation", ID: "o1", Version: 1}}, []string{"p1"}},
			{"update", audit.Update, audit.MinorFailure, "alice", []audit.Entity{{Type: "Patient", ID: "p1", Version: 0}}, nil},
			{"delete", audit.Delete, audit.Success, "alice", []audit.Entity{{Type: "Observation", ID: "o1", Version: 2}}, []string{"p1"}},
		}
		got := entriesSince(t, r, start)
		if d := cmp.Diff(want, briefs(got)); d != "" {
			t.Errorf("entries (-want +got):\n%s", d)
		}
		if len(got) > 0 && (got[0].Agent.Source != "10.1.2.3" || got[0].Agent.UserID != "u1") {
			t.Errorf("agent = %+v", got[0].Agent)
		}

		// A transaction that fails: its successful create is recorded as
		// rolled back, with the failing update.
		start = headSeq(t, r)
		err := r.InTx(ctx, func(tx *repo.Tx) error {
			if _, err := tx.Update(ctx, "Patient", "p2", patient("p2", "2"), repo.UpdateOptions{}); err != nil {
				return err
			}
			_, err := tx.Update(ctx, "Patient", "p3", bad, repo.UpdateOptions{})
			return err
		})
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("err = %v", err)
		}
		got = entriesSince(t, r, start)
		if len(got) != 2 || got[0].Outcome != audit.MinorFailure || got[0].Entities[0].ID != "p2" ||
			got[0].OutcomeDesc[:12] != "rolled back:" || got[1].Outcome != audit.MinorFailure {
			t.Errorf("rolled back entries = %+v", briefs(got))
		}

		// Audit trail ids are not writable.
		for _, id := range []string{"audit-1", "audit-x"} {
			ev := map[string]any{"resourceType": "AuditEvent", "id": id}
			if _, err := r.Update(ctx, "AuditEvent", id, ev, repo.UpdateOptions{}); !errs.Is(err, errs.MethodNotAllowed) {
				t.Errorf("update AuditEvent/%s: err = %v", id, err)
			}
			if _, err := r.Delete(ctx, "AuditEvent", id); !errs.Is(err, errs.MethodNotAllowed) {
				t.Errorf("delete AuditEvent/%s: err = %v", id, err)
			}
		}
		v, err := audit.Verify(context.Background(), r.Store())
		if err != nil || v.Broken != nil {
			t.Fatalf("verify: %+v, %v", v, err)
		}
	})
}
