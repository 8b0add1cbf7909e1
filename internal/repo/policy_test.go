package repo_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

func as(p *access.Principal) context.Context { return access.With(context.Background(), p) }

func managed(id, org string) map[string]any {
	p := patient(id, id)
	p["managingOrganization"] = map[string]any{"reference": "Organization/" + org}
	return p
}

func observation(id, pat string) map[string]any {
	return map[string]any{"resourceType": "Observation", "id": id, "status": "final",
		"code": map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/" + pat}}
}

// twoOrganizations stores Organizations x and y, Patient a managed by x
// with Observation oa, and Patient b managed by y with Observation ob.
func twoOrganizations(t *testing.T, r *repo.Repo) {
	t.Helper()
	op := operator()
	for _, org := range []string{"x", "y"} {
		if _, err := r.Update(op, "Organization", org, map[string]any{"resourceType": "Organization", "id": org, "name": org}, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for id, org := range map[string]string{"a": "x", "b": "y"} {
		if _, err := r.Update(op, "Patient", id, managed(id, org), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Update(op, "Observation", "o"+id, observation("o"+id, id), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPolicyWrites: writes are checked against the patients of what they
// store; what the principal may not see cannot be changed and is not
// found; refusals are audited as failures.
func TestPolicyWrites(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		op := operator()
		twoOrganizations(t, r)
		nurseX := as(&access.Principal{Kind: access.User, Username: "nx", Organization: "Organization/x", Roles: []string{"nurse"}})
		patientA := as(&access.Principal{Kind: access.User, Username: "pa", FHIRUser: "Patient/a", Patient: "a", Patients: []string{"a"}})
		anon := as(&access.Principal{Kind: access.Anonymous})
		start := headSeq(t, r)

		cases := []struct {
			name string
			fn   func() error
			want errs.Kind
		}{
			{"nurse writes for her patient", func() error {
				_, err := r.Create(nurseX, observation("", "a"), repo.CreateOptions{})
				return err
			}, 0},
			{"nurse writes for another org's patient", func() error {
				_, err := r.Create(nurseX, observation("", "b"), repo.CreateOptions{})
				return err
			}, errs.Permission},
			{"nurse may not prescribe", func() error {
				_, err := r.Create(nurseX, map[string]any{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
					"medicationCodeableConcept": map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/a"}}, repo.CreateOptions{})
				return err
			}, errs.Permission},
			{"nurse updates what she cannot see", func() error {
				_, err := r.Update(nurseX, "Observation", "ob", observation("ob", "b"), repo.UpdateOptions{})
				return err
			}, errs.NotFound},
			{"nurse deletes what she cannot see", func() error {
				_, err := r.Delete(nurseX, "Observation", "ob")
				return err
			}, errs.NotFound},
			{"nurse moves her observation to another org's patient", func() error {
				_, err := r.Update(nurseX, "Observation", "oa", observation("oa", "b"), repo.UpdateOptions{})
				return err
			}, errs.Permission},
			{"conditional delete matches only visible resources", func() error {
				out, err := r.ConditionalDelete(nurseX, "Observation", url.Values{"_id": {"ob"}})
				if err == nil && !out.Unchanged {
					t.Error("the conditional delete deleted Observation/ob")
				}
				return err
			}, 0},
			{"patient sends a message", func() error {
				_, err := r.Create(patientA, map[string]any{"resourceType": "Communication", "status": "completed",
					"subject": map[string]any{"reference": "Patient/a"}}, repo.CreateOptions{})
				return err
			}, 0},
			{"patient writes about someone else", func() error {
				_, err := r.Create(patientA, map[string]any{"resourceType": "Communication", "status": "completed",
					"subject": map[string]any{"reference": "Patient/b"}}, repo.CreateOptions{})
				return err
			}, errs.Permission},
			{"patient may not write observations", func() error {
				_, err := r.Create(patientA, observation("", "a"), repo.CreateOptions{})
				return err
			}, errs.Permission},
			{"patient reads another's observation", func() error {
				_, err := r.Read(patientA, "Observation", "ob")
				return err
			}, errs.NotFound},
			{"patient reads another's version", func() error {
				_, err := r.VRead(patientA, "Observation", "ob", 1)
				return err
			}, errs.NotFound},
			{"patient lists the history of a type", func() error {
				_, err := r.History(patientA, store.HistoryQuery{Type: "Observation"})
				return err
			}, errs.Permission},
			{"patient lists the history of another's observation", func() error {
				_, err := r.History(patientA, store.HistoryQuery{Type: "Observation", ID: "ob"})
				return err
			}, errs.NotFound},
			{"patient lists the history of her observation", func() error {
				_, err := r.History(patientA, store.HistoryQuery{Type: "Observation", ID: "oa"})
				return err
			}, 0},
			{"anonymous reads", func() error {
				_, err := r.Read(anon, "Patient", "a")
				return err
			}, errs.Unauthenticated},
			{"no principal searches", func() error {
				_, err := r.Search(context.Background(), &store.Query{Types: []string{"Patient"}})
				return err
			}, errs.Unauthenticated},
		}
		for _, tc := range cases {
			err := tc.fn()
			switch {
			case tc.want == 0 && err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case tc.want != 0 && !errs.Is(err, tc.want):
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
			}
		}
		if rec, err := r.Read(op, "Observation", "ob"); err != nil || rec.Version != 1 {
			t.Errorf("Observation/ob after the attempts: %v, %v", rec, err)
		}
		// Every refusal is in the audit trail as a failure, with its agent.
		failures := 0
		for _, e := range entriesSince(t, r, start) {
			if e.Outcome != audit.Success {
				failures++
				if e.Agent.Kind == "" || (e.Agent.Username == "" && e.Agent.Kind != "anonymous") {
					t.Errorf("failure without its agent: %+v", e)
				}
			}
		}
		if failures < 12 {
			t.Errorf("%d failures audited, want one per refusal", failures)
		}
	})
}
