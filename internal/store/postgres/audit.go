package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// AppendAudit locks the chain head row, chains the entries after it and
// writes them with the new head in one pipelined batch: two round trips.
// The lock is held until the transaction ends, which is why the Repository
// appends last: concurrent transactions queue on the head only for their
// final statements and commit.
func (t *tx) AppendAudit(ctx context.Context, entries []*audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	var seq int64
	var prev []byte
	// Under read committed a row lock that had to wait returns the row as
	// the other transaction committed it, so seq and hash are current.
	if err := t.tx.QueryRow(ctx, headForUpdate).Scan(&seq, &prev); err != nil {
		return errs.E("append audit", mapErr(err), err)
	}
	b := &pgx.Batch{}
	queueAudit(b, entries, seq, prev)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return errs.E("append audit", mapErr(err), err)
	}
	return nil
}

// headForUpdate reads the chain head and locks it until the transaction
// ends: every append, from any node sharing the database, takes it.
const headForUpdate = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"

// queueAudit numbers and chains entries after the head (seq, prev), which
// the caller holds locked, and queues on b the statements that insert them
// and move the head: the entries' rows, their patient and organization rows, the new head.
func queueAudit(b *pgx.Batch, entries []*audit.Entry, seq int64, prev []byte) {
	n := len(entries)
	seqs, recs, outs := make([]int64, n), make([]int64, n), make([]int32, n)
	acts, ints, users, uids, fus := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prevs, hashes, datas := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	var pats, orgs []string
	var patSeqs, orgSeqs []int64
	for i, e := range entries {
		seq++
		data, hash := audit.Seal(e, seq, prev)
		c := e.Columns()
		seqs[i], recs[i], outs[i] = seq, sqlgen.Micros(c.Recorded), int32(c.Outcome)
		acts[i], ints[i], users[i], uids[i], fus[i] = c.Action, c.Interaction, c.User, c.UserID, c.FHIRUser
		prevs[i], hashes[i], datas[i] = prev, hash, data
		for _, p := range c.Patients {
			pats, patSeqs = append(pats, p), append(patSeqs, seq)
		}
		if c.Organization != "" {
			orgSeqs, orgs = append(orgSeqs, seq), append(orgs, c.Organization)
		}
		prev = hash
	}
	b.Queue(`INSERT INTO `+sqlgen.AuditLogTable+`
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[], $11::bytea[])`,
		seqs, recs, acts, ints, outs, users, uids, fus, prevs, hashes, datas)
	if len(pats) > 0 {
		b.Queue(`INSERT INTO `+sqlgen.AuditPatientTable+` SELECT * FROM unnest($1::text[], $2::bigint[])`, pats, patSeqs)
	}
	if len(orgs) > 0 {
		b.Queue(`INSERT INTO `+sqlgen.AuditOrgTable+` SELECT * FROM unnest($1::bigint[], $2::text[])`, orgSeqs, orgs)
	}
	b.Queue("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", seq, prev)
}

// AuditRange runs a report query.
func (s *Store) AuditRange(ctx context.Context, q store.AuditQuery) (*store.AuditPage, error) {
	return sqlgen.AuditPage(sqlgen.Postgres{}, q, func(st sqlgen.Stmt) ([]*audit.Row, error) { return s.auditRows(ctx, st) })
}

// AuditScan lists entries in sequence order.
func (s *Store) AuditScan(ctx context.Context, after int64, limit int) ([]*audit.Row, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.auditRows(ctx, sqlgen.AuditScan(sqlgen.Postgres{}, after, limit))
}

// AuditHead reads the chain head.
func (s *Store) AuditHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := s.pool.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return h, errs.E("audit head", mapErr(err), err)
	}
	return h, nil
}

// auditRows runs an audit statement and adds each row's patients, in one
// repeatable-read transaction (one snapshot).
func (s *Store) auditRows(ctx context.Context, st sqlgen.Stmt) ([]*audit.Row, error) {
	var out []*audit.Row
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, st.SQL, st.Args...)
		if err != nil {
			return err
		}
		var rec int64
		var outcome int32
		r := &audit.Row{}
		_, err = pgx.ForEachRow(rows, []any{&r.Seq, &r.Prev, &r.Hash, &r.Data, &rec, &r.Action, &r.Interaction, &outcome,
			&r.User, &r.UserID, &r.FHIRUser, &r.Organization}, func() error {
			row := *r
			row.Prev, row.Hash, row.Data = slices.Clone(r.Prev), slices.Clone(r.Hash), slices.Clone(r.Data)
			row.Recorded, row.Outcome = sqlgen.FromMicros(rec), int(outcome)
			out = append(out, &row)
			return nil
		})
		if err != nil || len(out) == 0 {
			return err
		}
		bySeq := make(map[int64]*audit.Row, len(out))
		seqs := make([]int64, len(out))
		for i, r := range out {
			seqs[i], bySeq[r.Seq] = r.Seq, r
		}
		prow, err := tx.Query(ctx, "SELECT seq, patient FROM audit_patient WHERE seq = ANY($1::bigint[]) ORDER BY seq, patient", seqs)
		if err != nil {
			return err
		}
		var seq int64
		var p string
		_, err = pgx.ForEachRow(prow, []any{&seq, &p}, func() error {
			if r := bySeq[seq]; r != nil {
				r.Patients = append(r.Patients, p)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, errs.E("audit", mapErr(err), err)
	}
	return out, nil
}
