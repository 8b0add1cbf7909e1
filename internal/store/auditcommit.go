package store

import (
	"context"

	"github.com/openchart/openchart/internal/audit"
)

// AuditCommitter is a store that commits a batch of audit entries on its
// own, in a transaction that holds nothing else, more cheaply than InTx
// with Tx.AppendAudit: the Repository's group commit of reads, searches
// and failures. A store need not implement it (see CommitAudit).
type AuditCommitter interface {
	// CommitAudit stamps every entry's Recorded with the store's clock
	// while it holds the chain head, numbers and chains the entries after
	// the last one (audit.Seal, as Tx.AppendAudit), and commits them:
	// all of them or none. On error nothing was appended and the head is
	// unchanged.
	CommitAudit(ctx context.Context, entries []*audit.Entry) error
}

// CommitAudit commits entries in a transaction of their own: through st's
// CommitAudit when it has one, otherwise with InTx and Tx.AppendAudit,
// each entry recorded at the transaction's time (Tx.Now). Stores that wrap
// another (metrics) implement AuditCommitter by calling it on the store
// they wrap.
func CommitAudit(ctx context.Context, st Store, entries []*audit.Entry) error {
	if c, ok := st.(AuditCommitter); ok {
		return c.CommitAudit(ctx, entries)
	}
	return CommitAuditInTx(ctx, st, entries)
}

// CommitAuditInTx commits entries with st.InTx and Tx.AppendAudit, each
// recorded at the transaction's time (Tx.Now): what CommitAudit does for a
// store that is no AuditCommitter.
func CommitAuditInTx(ctx context.Context, st Store, entries []*audit.Entry) error {
	return st.InTx(ctx, func(tx Tx) error {
		for _, e := range entries {
			e.Recorded = tx.Now()
		}
		return tx.AppendAudit(ctx, entries)
	})
}
