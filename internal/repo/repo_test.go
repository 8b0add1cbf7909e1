package repo_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// each runs fn against a Repository on each store.
func each(t *testing.T, fn func(t *testing.T, r *repo.Repo)) {
	for name, cfg := range map[string]func(t *testing.T) app.Config{
		"sqlite":   func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir()} },
		"postgres": func(t *testing.T) app.Config { return app.Config{DB: pgtest.URL(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg(t)
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := app.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			fn(t, a.Repo)
		})
	}
}

func patient(id, mrn string) map[string]any {
	p := map[string]any{"resourceType": "Patient", "gender": "female",
		"identifier": []any{map[string]any{"system": "urn:mrn", "value": mrn}}}
	if id != "" {
		p["id"] = id
	}
	return p
}

func TestWrites(t *testing.T) {
	ctx := operator()
	each(t, func(t *testing.T, r *repo.Repo) {
		// Create assigns an id and version 1, ignoring the body's id.
		out, err := r.Create(ctx, patient("client-id", "1"), repo.CreateOptions{})
		if err != nil || !out.Created || out.Record.Version != 1 || out.Record.ID == "client-id" {
			t.Fatalf("create = %+v, %v", out, err)
		}
		id := out.Record.ID

		// A conditional create that matches returns the match, unchanged.
		again, err := r.Create(ctx, patient("", "1"), repo.CreateOptions{IfNoneExist: url.Values{"identifier": {"urn:mrn|1"}}})
		if err != nil || !again.Unchanged || again.Record.ID != id {
			t.Fatalf("conditional create = %+v, %v; want the existing %s", again, err, id)
		}
		// A misspelt criterion is an error, never a wider match.
		if _, err := r.Create(ctx, patient("", "1"), repo.CreateOptions{IfNoneExist: url.Values{"identifer": {"x"}}}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("unknown criterion: err = %v, want invalid", err)
		}

		// An update with the same content writes nothing.
		same := patient(id, "1")
		up, err := r.Update(ctx, "Patient", id, same, repo.UpdateOptions{})
		if err != nil || !up.Unchanged || up.Record.Version != 1 {
			t.Fatalf("no-op update = %+v, %v", up, err)
		}
		// A real change makes version 2; a stale If-Match fails.
		changed := patient(id, "1")
		changed["gender"] = "male"
		if up, err = r.Update(ctx, "Patient", id, changed, repo.UpdateOptions{IfMatch: 1}); err != nil || up.Record.Version != 2 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if _, err := r.Update(ctx, "Patient", id, patient(id, "1"), repo.UpdateOptions{IfMatch: 1}); !errs.Is(err, errs.Precondition) {
			t.Fatalf("stale If-Match: err = %v, want precondition", err)
		}
		// The body's id must match the URL.
		if _, err := r.Update(ctx, "Patient", id, patient("other", "1"), repo.UpdateOptions{}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("id mismatch: err = %v, want invalid", err)
		}

		// Invalid content is refused with a message that names the problem.
		bad := patient(id, "1")
		bad["gender"] = "mal"
		_, err = r.Update(ctx, "Patient", id, bad, repo.UpdateOptions{})
		if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.Message(err), "Patient.gender") || len(errs.IssuesOf(err)) == 0 {
			t.Fatalf("invalid update: err = %v (message %q)", err, errs.Message(err))
		}

		// Delete, then read: Gone; deleting again changes nothing.
		if _, err := r.Delete(ctx, "Patient", id); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(ctx, "Patient", id); !errs.Is(err, errs.Gone) {
			t.Fatalf("read after delete: err = %v, want gone", err)
		}
		if d, err := r.Delete(ctx, "Patient", id); err != nil || !d.Unchanged {
			t.Fatalf("second delete = %+v, %v", d, err)
		}
		// Update after delete creates version 4.
		if up, err = r.Update(ctx, "Patient", id, patient(id, "1"), repo.UpdateOptions{}); err != nil || up.Record.Version != 4 || !up.Created {
			t.Fatalf("update after delete = %+v, %v", up, err)
		}
		// Abstract and unknown types are refused.
		for _, typ := range []string{"Resource", "DomainResource", "Nonsense"} {
			if _, err := r.Read(ctx, typ, "x"); !errs.Is(err, errs.NotFound) {
				t.Errorf("read %s: err = %v, want not found", typ, err)
			}
		}
	})
}

// TestTxAtomic: an error anywhere in a transaction stores nothing.
func TestTxAtomic(t *testing.T) {
	ctx := operator()
	each(t, func(t *testing.T, r *repo.Repo) {
		err := r.InTx(ctx, func(tx *repo.Tx) error {
			if _, err := tx.Create(ctx, patient("", "a"), repo.CreateOptions{}); err != nil {
				return err
			}
			bad := patient("p2", "b")
			bad["birthDate"] = "1990-13-45"
			_, err := tx.Update(ctx, "Patient", "p2", bad, repo.UpdateOptions{})
			return err
		})
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("err = %v, want invalid", err)
		}
		res, err := r.Search(ctx, &store.Query{Types: []string{"Patient"}, Total: store.TotalAccurate})
		if err != nil || res.Total != 0 {
			t.Fatalf("after a failed transaction: %+v, %v", res, err)
		}
	})
}

// TestPatch applies a function to the current content.
func TestPatch(t *testing.T) {
	ctx := operator()
	each(t, func(t *testing.T, r *repo.Repo) {
		if _, err := r.Update(ctx, "Patient", "p", patient("p", "1"), repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		out, err := r.Patch(ctx, "Patient", "p", func(cur map[string]any) (map[string]any, error) {
			cur["active"] = true
			return cur, nil
		}, repo.UpdateOptions{IfMatch: 1})
		if err != nil || out.Record.Version != 2 {
			t.Fatalf("patch = %+v, %v", out, err)
		}
		got, err := fhir.Parse(out.Record.JSON, fhir.ParseOptions{})
		if err != nil || got["active"] != true || fhir.Meta(got)["versionId"] != "2" {
			t.Fatalf("patched resource %s", out.Record.JSON)
		}
		if _, err := r.Patch(ctx, "Patient", "p", func(cur map[string]any) (map[string]any, error) {
			cur["id"] = "q"
			return cur, nil
		}, repo.UpdateOptions{}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("patch changing the id: err = %v, want invalid", err)
		}
	})
}

// operator is the context of the tests that are not about access: an
// operator, whom the policy does not restrict.
func operator() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.Operator})
}
