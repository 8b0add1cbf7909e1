package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

// BenchAuditCommit measures the audit group commit of reads: batches of
// batch entries, each the read of one Patient of 1,000 by a backend
// service, after a trail of 50,000 such entries (so that the by-patient
// index is as spread as a busy server's). It reports the time per entry.
func BenchAuditCommit(b *testing.B, s store.Store, batch int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	entries := func(n int) []*audit.Entry {
		es := make([]*audit.Entry, n)
		for i := range es {
			p := fmt.Sprintf("p%04d", rng.IntN(1000))
			es[i] = &audit.Entry{Action: audit.Read, Interaction: audit.InteractionRead,
				Agent:    audit.Agent{Kind: "client", ClientID: "bench-client", Source: "127.0.0.1"},
				Entities: []audit.Entity{{Type: "Patient", ID: p, Version: 1}}, Patients: []string{p}}
		}
		return es
	}
	for range 50 {
		if err := store.CommitAudit(ctx, s, entries(1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := store.CommitAudit(ctx, s, entries(batch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/entry")
}
