package e2e

import (
	"context"
	"testing"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// BenchmarkAudited measures Repository reads and searches on each store;
// every one commits its audit entry before it returns (docs/AUDIT.md,
// "Cost").
func BenchmarkAudited(b *testing.B) {
	for name, cfg := range map[string]func() app.Config{
		"sqlite":   func() app.Config { return app.Config{DataDir: b.TempDir(), Logger: quietLogger()} },
		"postgres": func() app.Config { return app.Config{DB: pgtest.URL(b), Logger: quietLogger()} },
	} {
		b.Run(name, func(b *testing.B) {
			a, err := app.Open(context.Background(), cfg())
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			ctx := opCtx()
			if _, err := a.Repo.Update(ctx, "Patient", "bench", patient("bench", "Bench", 1), repo.UpdateOptions{}); err != nil {
				b.Fatal(err)
			}
			b.Run("read", func(b *testing.B) {
				for b.Loop() {
					if _, err := a.Repo.Read(ctx, "Patient", "bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("read-parallel-16", func(b *testing.B) {
				// Concurrent readers share audit transactions (group commit).
				b.SetParallelism(8) // 8 × GOMAXPROCS goroutines
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := a.Repo.Read(ctx, "Patient", "bench"); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("search", func(b *testing.B) {
				q := &store.Query{Types: []string{"Patient"}, Count: 10}
				for b.Loop() {
					if _, err := a.Repo.Search(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
