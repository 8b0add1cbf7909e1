package repo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// TestConcurrentReadsAudited: concurrent reads, on a Repository assembled
// as serve assembles it (store timings observed), each commit their entry;
// the chain verifies with one entry per write and per read. On both stores
// the batches go through the store's own audit commit (the metrics wrapper
// passes it on), not through InTx: on SQLite it commits to the trail's own
// file.
func TestConcurrentReadsAudited(t *testing.T) {
	for name, cfg := range map[string]func(t *testing.T) app.Config{
		"sqlite":   func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir()} },
		"postgres": func(t *testing.T) app.Config { return app.Config{DB: pgtest.URL(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg(t)
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c.Metrics = metrics.New()
			a, err := app.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			ctx := operator()
			before, err := audit.Verify(ctx, a.Store)
			if err != nil || before.Broken != nil {
				t.Fatalf("verify: %+v, %v", before, err)
			}
			const patients, readers, reads = 4, 8, 20
			for i := range patients {
				if _, err := a.Repo.Update(ctx, "Patient", fmt.Sprint("pa", i), patient(fmt.Sprint("pa", i), fmt.Sprint(i)), repo.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			client := access.With(context.Background(), &access.Principal{Kind: access.Client, ClientID: "reader", Scopes: []string{"system/*.rs"}})
			var wg sync.WaitGroup
			for w := range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range reads {
						if _, err := a.Repo.Read(client, "Patient", fmt.Sprint("pa", (w+i)%patients)); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			v, err := audit.Verify(ctx, a.Store)
			if err != nil || v.Broken != nil {
				t.Fatalf("verify: %+v, %v", v, err)
			}
			if want := before.Entries + patients + readers*reads; v.Entries != want {
				t.Fatalf("%d entries, want %d", v.Entries, want)
			}
			commits := 0
			mfs, err := c.Metrics.Registry.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "op" && l.GetValue() == "audit commit" {
							commits += int(m.GetHistogram().GetSampleCount())
						}
					}
				}
			}
			if commits == 0 {
				t.Errorf("%d audit commits of the store's own on %s", commits, name)
			}
		})
	}
}
