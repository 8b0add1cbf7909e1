package repo_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
)

// TestRestrictedRead: a principal the policy restricts reads by id through
// the policy's own search, which returns the current version itself. The
// answer is the stored version, byte for byte, when the policy lets the
// principal see it; a resource of another organization's patient, one with
// a label the principal may not see, a deleted one and one that never
// existed are all simply not found (never gone, which would tell that it
// existed).
func TestRestrictedRead(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		op := operator()
		twoOrganizations(t, r)
		// A second version, so that the current one is not the first.
		amended := observation("oa", "a")
		amended["status"] = "amended"
		if _, err := r.Update(op, "Observation", "oa", amended, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		restricted := observation("or", "a")
		restricted["meta"] = map[string]any{"security": []any{map[string]any{"system": access.ConfidentialitySystem, "code": "R"}}}
		if _, err := r.Update(op, "Observation", "or", restricted, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Update(op, "Observation", "od", observation("od", "a"), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Delete(op, "Observation", "od"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(op, "Observation", "od"); !errs.Is(err, errs.Gone) {
			t.Fatalf("operator reading a deleted resource: %v, want gone", err)
		}
		want, err := r.Read(op, "Observation", "oa")
		if err != nil {
			t.Fatal(err)
		}

		nurseX := as(&access.Principal{Kind: access.User, Username: "nx", Organization: "Organization/x", Roles: []string{"nurse"}})
		app := as(&access.Principal{Kind: access.Client, ClientID: "app", Scopes: []string{"system/Observation.rs"}})
		for name, c := range map[string]context.Context{"nurse": nurseX, "system client": app} {
			got, err := r.Read(c, "Observation", "oa")
			if err != nil {
				t.Fatalf("%s reading Observation/oa: %v", name, err)
			}
			if got.Version != want.Version || got.Version != 2 || !got.LastUpdated.Equal(want.LastUpdated) ||
				got.Method != want.Method || !bytes.Equal(got.JSON, want.JSON) || got.Type != "Observation" || got.ID != "oa" {
				t.Errorf("%s read Observation/oa version %d %s %q, want version %d %s %q", name,
					got.Version, got.LastUpdated, got.JSON, want.Version, want.LastUpdated, want.JSON)
			}
			for _, id := range []string{"or", "od", "missing"} {
				if _, err := r.Read(c, "Observation", id); !errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
					t.Errorf("%s reading Observation/%s: %v, want not found", name, id, err)
				}
			}
		}
		// A resource that names "security" without a label is read through
		// the policy's search, and seen.
		worded := observation("ow", "a")
		worded["valueString"] = "security"
		if _, err := r.Update(op, "Observation", "ow", worded, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Read(app, "Observation", "ow"); err != nil || got.ID != "ow" {
			t.Errorf("system client reading an unlabelled Observation that says \"security\": %v, %v", got, err)
		}
		// Outside the Patient compartment staff are restricted by labels
		// alone.
		for id, labels := range map[string][]any{"pr": {map[string]any{"system": access.ConfidentialitySystem, "code": "R"}}, "pn": nil} {
			pr := map[string]any{"resourceType": "Practitioner", "id": id, "name": []any{map[string]any{"family": "Doe"}}}
			if labels != nil {
				pr["meta"] = map[string]any{"security": labels}
			}
			if _, err := r.Update(op, "Practitioner", id, pr, repo.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Read(nurseX, "Practitioner", "pn"); err != nil {
			t.Errorf("nurse reading an unlabelled Practitioner: %v", err)
		}
		if _, err := r.Read(nurseX, "Practitioner", "pr"); !errs.Is(err, errs.NotFound) {
			t.Errorf("nurse reading a restricted Practitioner: %v, want not found", err)
		}
		if _, err := r.Read(nurseX, "Observation", "ob"); !errs.Is(err, errs.NotFound) {
			t.Errorf("nurse of x reading a patient of y's Observation: %v, want not found", err)
		}
		// The system client's scope does not cover Patient: refused, not
		// not found.
		if _, err := r.Read(app, "Patient", "a"); !errs.Is(err, errs.Permission) {
			t.Errorf("system client reading a Patient outside its scopes: %v, want permission", err)
		}
	})
}
