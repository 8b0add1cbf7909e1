package sqlite

import (
	"context"
	"database/sql"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// AuditRange runs a report query.
func (s *Store) AuditRange(ctx context.Context, q store.AuditQuery) (*store.AuditPage, error) {
	return sqlgen.AuditPage(sqlgen.SQLite{}, q, func(st sqlgen.Stmt) ([]*audit.Row, error) { return s.auditRows(ctx, st) })
}

// AuditScan lists entries in sequence order.
func (s *Store) AuditScan(ctx context.Context, after int64, limit int) ([]*audit.Row, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.auditRows(ctx, sqlgen.AuditScan(sqlgen.SQLite{}, after, limit))
}

// AuditHead reads the chain head.
func (s *Store) AuditHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := s.tr.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return h, errs.E("audit head", mapErr(err), err)
	}
	return h, nil
}

// auditRows runs an audit statement and adds each row's patients, both in
// one read transaction.
func (s *Store) auditRows(ctx context.Context, st sqlgen.Stmt) ([]*audit.Row, error) {
	rtx, err := s.tr.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	defer rtx.Rollback()
	rows, err := rtx.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	var out []*audit.Row
	bySeq := map[int64]*audit.Row{}
	for rows.Next() {
		r := &audit.Row{}
		var rec int64
		if err := rows.Scan(&r.Seq, &r.Prev, &r.Hash, &r.Data, &rec, &r.Action, &r.Interaction, &r.Outcome,
			&r.User, &r.UserID, &r.FHIRUser, &r.Organization); err != nil {
			rows.Close()
			return nil, errs.E("audit", mapErr(err), err)
		}
		r.Recorded = sqlgen.FromMicros(rec)
		out = append(out, r)
		bySeq[r.Seq] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	if len(out) == 0 {
		return out, nil
	}
	seqs := make([]int64, len(out))
	for i, r := range out {
		seqs[i] = r.Seq
	}
	ps := sqlgen.AuditPatients(sqlgen.SQLite{}, seqs)
	prow, err := rtx.QueryContext(ctx, ps.SQL, ps.Args...)
	if err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	defer prow.Close()
	for prow.Next() {
		var seq int64
		var p string
		if err := prow.Scan(&seq, &p); err != nil {
			return nil, errs.E("audit", mapErr(err), err)
		}
		if r := bySeq[seq]; r != nil {
			r.Patients = append(r.Patients, p)
		}
	}
	if err := prow.Err(); err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	return out, nil
}
