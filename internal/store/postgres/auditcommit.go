package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

var _ store.AuditCommitter = (*Store)(nil)

// CommitAudit appends entries in a transaction of their own in two round
// trips, where InTx with Tx.AppendAudit takes four (BEGIN; the head;
// the inserts and the head update; COMMIT):
//
//  1. BEGIN, the chain head read and locked FOR UPDATE, and the database's
//     clock read once the lock is held, pipelined in one batch;
//  2. the entries, chained after that head in Go (audit.Seal, as
//     AppendAudit does), their patient rows, the new head and COMMIT, in
//     another.
//
// The head lock serializes appends from every node sharing the database,
// as in AppendAudit. When a statement of the second batch fails, the server
// skips the rest of it, COMMIT included: the transaction is rolled back and
// nothing of it remains. A connection left inside a transaction (or broken)
// is rolled back or destroyed, never returned to the pool as it is.
//
// Every entry is recorded at the database's clock_timestamp() read while
// the head is held, so the entries CommitAudit appends, from any node,
// carry non-decreasing times in sequence order.
func (s *Store) CommitAudit(ctx context.Context, entries []*audit.Entry) (err error) {
	if len(entries) == 0 {
		return nil
	}
	// The keyed pool: every statement here finds its rows by key or
	// inserts, so one generic plan each, not one planned per commit while
	// the chain head is held.
	conn, err := s.keyed.Acquire(ctx)
	if err != nil {
		return errs.E("commit audit", mapErr(err), err)
	}
	var tx pgx.Tx
	defer func() {
		if err != nil {
			abortAudit(ctx, conn, tx)
			err = errs.E("commit audit", mapErr(err), err)
		}
		conn.Release() // destroys a connection that is not idle
	}()

	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(headForUpdate)
	b.Queue("SELECT clock_timestamp()")
	br := conn.SendBatch(ctx, b)
	tx = br.Tx()
	var seq int64
	var prev []byte
	var now time.Time
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&seq, &prev)
	}
	if err == nil {
		err = br.QueryRow().Scan(&now)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	now = now.UTC().Truncate(time.Microsecond)
	for _, e := range entries {
		e.Recorded = now
	}
	b = &pgx.Batch{}
	queueAudit(b, entries, seq, prev)
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	var tag string
	for range b.Len() {
		t, qerr := br.Exec()
		if qerr != nil {
			err = qerr
			break
		}
		tag = t.String()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag != "COMMIT" {
		err = fmt.Errorf("audit transaction ended with %q", tag)
	}
	return err
}

// abortAudit ends a CommitAudit transaction that failed: a rollback when
// the connection is still inside it. A connection that cannot be rolled
// back is closed, and Release then destroys it.
func abortAudit(ctx context.Context, conn *pgxpool.Conn, tx pgx.Tx) {
	pc := conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' || tx == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := tx.Rollback(rctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		conn.Conn().Close(rctx)
	}
}
