package repo_test

import (
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
)

// TestPolicyRegistration: the front desk registers a patient of its
// organization, with the Coverage in the same transaction; a patient of
// another organization, or a Coverage of a patient it may not see, is
// refused, and an update cannot move another organization's patient into
// its own.
func TestPolicyRegistration(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		op := operator()
		for _, org := range []string{"x", "y"} {
			if _, err := r.Update(op, "Organization", org, map[string]any{"resourceType": "Organization", "id": org, "name": org}, repo.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Update(op, "Patient", "b", managed("b", "y"), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		desk := as(&access.Principal{Kind: access.User, Username: "fd", Organization: "Organization/x", Roles: []string{"frontdesk"}})
		coverage := func(pat string) map[string]any {
			return map[string]any{"resourceType": "Coverage", "status": "active",
				"beneficiary": map[string]any{"reference": "Patient/" + pat}, "payor": []any{map[string]any{"display": "Acme"}}}
		}
		var id string
		err := r.InTx(desk, func(tx *repo.Tx) error {
			out, err := tx.Create(desk, managed("n1", "x"), repo.CreateOptions{})
			if err != nil {
				return err
			}
			id = out.Record.ID
			_, err = tx.Create(desk, coverage(id), repo.CreateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("registering with coverage: %v", err)
		}
		if _, err := r.Read(desk, "Patient", id); err != nil {
			t.Fatalf("reading the registered patient: %v", err)
		}
		if _, err := r.Create(desk, managed("n2", "y"), repo.CreateOptions{}); errs.KindOf(err) != errs.Permission {
			t.Errorf("registering for another organization: %v, want Permission", err)
		}
		if _, err := r.Create(desk, coverage("b"), repo.CreateOptions{}); errs.KindOf(err) != errs.Permission {
			t.Errorf("coverage of another organization's patient: %v, want Permission", err)
		}
		if _, err := r.Update(desk, "Patient", "b", managed("b", "x"), repo.UpdateOptions{}); errs.KindOf(err) == 0 {
			t.Error("an update moved another organization's patient into the desk's organization")
		}
	})
}
