package sqlite

import (
	"context"
	"database/sql"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// auditStmts are the append statements, prepared once at Open on the
// writer connection (preparing them for every read's entry cost more than
// the inserts).
type auditStmts struct {
	head, log, pat, org, moveHead *sql.Stmt
}

func (a *auditStmts) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	a.head = p("SELECT seq, hash FROM audit_head WHERE id = 1")
	a.log = p("INSERT INTO " + sqlgen.AuditLogTable + " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
	a.pat = p("INSERT INTO " + sqlgen.AuditPatientTable + " VALUES (?1, ?2)")
	a.org = p("INSERT INTO " + sqlgen.AuditOrgTable + " VALUES (?1, ?2)")
	a.moveHead = p("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1")
	return err
}

func (a *auditStmts) close() {
	for _, st := range []*sql.Stmt{a.head, a.log, a.pat, a.org, a.moveHead} {
		if st != nil {
			st.Close()
		}
	}
}

// AppendAudit chains entries after the head on the writer connection. The
// single writer serializes appends: no other transaction can move the head
// until this one ends.
func (t *tx) AppendAudit(ctx context.Context, entries []*audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	a := &t.s.aud // prepared at Open: the writer connection is this transaction's now
	st := func(s *sql.Stmt) *sql.Stmt { return t.wtx.StmtContext(ctx, s) }
	var seq int64
	var prev []byte
	if err := st(a.head).QueryRowContext(ctx).Scan(&seq, &prev); err != nil {
		return errs.E("append audit", mapErr(err), err)
	}
	log, pat := st(a.log), st(a.pat)
	var org *sql.Stmt // most entries name no organization
	for _, e := range entries {
		seq++
		data, hash := audit.Seal(e, seq, prev)
		c := e.Columns()
		if _, err := log.ExecContext(ctx, seq, sqlgen.Micros(c.Recorded), c.Action, c.Interaction, c.Outcome,
			c.User, c.UserID, c.FHIRUser, prev, hash, data); err != nil {
			return errs.E("append audit", mapErr(err), err)
		}
		for _, p := range c.Patients {
			if _, err := pat.ExecContext(ctx, p, seq); err != nil {
				return errs.E("append audit", mapErr(err), err)
			}
		}
		if c.Organization != "" {
			if org == nil {
				org = st(a.org)
			}
			if _, err := org.ExecContext(ctx, seq, c.Organization); err != nil {
				return errs.E("append audit", mapErr(err), err)
			}
		}
		prev = hash
	}
	if _, err := st(a.moveHead).ExecContext(ctx, seq, prev); err != nil {
		return errs.E("append audit", mapErr(err), err)
	}
	return nil
}

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
	if err := s.r.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return h, errs.E("audit head", mapErr(err), err)
	}
	return h, nil
}

// auditRows runs an audit statement and adds each row's patients, both in
// one read transaction.
func (s *Store) auditRows(ctx context.Context, st sqlgen.Stmt) ([]*audit.Row, error) {
	rtx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
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
