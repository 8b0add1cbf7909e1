package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// indexTables lists every index side table, for replacing a resource's rows.
var indexTables = []string{"idx_token", "idx_string", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_compartment"}

// writeStmts are prepared once on the single writer connection; a
// transaction on that connection reuses them without re-preparing.
type writeStmts struct {
	current, insertRes, updateRes, insertVer                  *sql.Stmt
	token, str, date, number, quantity, ref, uri, compartment *sql.Stmt
	deletes                                                   []*sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	w.current = p("SELECT rkey, version FROM resources WHERE type = ?1 AND id = ?2")
	w.insertRes = p("INSERT INTO resources (type, id, version, last_updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5)")
	w.updateRes = p("UPDATE resources SET version = ?2, last_updated = ?3, deleted = ?4 WHERE rkey = ?1")
	w.insertVer = p("INSERT INTO versions (rkey, version, type, id, last_updated, deleted, method, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
	w.token = p("INSERT INTO idx_token (rkey, type, param, system, code, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
	w.str = p("INSERT INTO idx_string (rkey, type, param, norm, exact, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
	w.date = p("INSERT INTO idx_date (rkey, type, param, low, high, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
	w.number = p("INSERT INTO idx_number (rkey, type, param, low, high, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
	w.quantity = p("INSERT INTO idx_quantity (rkey, type, param, system, code, unit, low, high, canon_code, canon_value, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
	w.ref = p("INSERT INTO idx_reference (rkey, type, param, target_type, target_id, url, version, comp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
	w.uri = p("INSERT INTO idx_uri (rkey, type, param, value, comp) VALUES (?1, ?2, ?3, ?4, ?5)")
	w.compartment = p("INSERT INTO idx_compartment (rkey, type, ctype, cid) VALUES (?1, ?2, ?3, ?4)")
	for _, t := range indexTables {
		w.deletes = append(w.deletes, p("DELETE FROM "+t+" WHERE rkey = ?1"))
	}
	if err != nil {
		return errs.E("open store", errs.Internal, fmt.Errorf("preparing statements: %w", err))
	}
	return nil
}

func (w *writeStmts) close() {
	for _, st := range append([]*sql.Stmt{w.current, w.insertRes, w.updateRes, w.insertVer, w.token, w.str,
		w.date, w.number, w.quantity, w.ref, w.uri, w.compartment}, w.deletes...) {
		if st != nil {
			st.Close()
		}
	}
}

// InTx runs fn in one write transaction. Writers are serialized by the single
// writer connection, so there are no serialization failures to retry.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return errs.E("begin transaction", mapErr(err), err)
	}
	t := &tx{s: s, tx: sqlTx, now: s.now()}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return errs.E("commit", mapErr(err), err)
	}
	return nil
}

type tx struct {
	s   *Store
	tx  *sql.Tx
	now time.Time
}

func (t *tx) Now() time.Time { return t.now }

// Read reads inside the transaction; the single writer already excludes
// other writers, which is the lock Tx.Read promises.
func (t *tx) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	return read(ctx, t.tx, typ, id)
}

func (t *tx) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	return search(ctx, t.tx, q)
}

// Put writes versions in order; a resource may appear more than once.
func (t *tx) Put(ctx context.Context, writes []store.Write) error {
	st := func(s *sql.Stmt) *sql.Stmt { return t.tx.StmtContext(ctx, s) }
	stmt := &t.s.stmt
	for i := range writes {
		w := &writes[i]
		op := "put " + w.Type + "/" + w.ID
		var rkey, cur int64
		err := st(stmt.current).QueryRowContext(ctx, w.Type, w.ID).Scan(&rkey, &cur)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return errs.E(op, mapErr(err), err)
		}
		if w.Version != cur+1 {
			return errs.E(op, errs.Conflict, fmt.Errorf("version %d does not follow current version %d", w.Version, cur))
		}
		lu := sqlgen.Micros(w.LastUpdated)
		if exists {
			if _, err := st(stmt.updateRes).ExecContext(ctx, rkey, w.Version, lu, w.Deleted); err != nil {
				return errs.E(op, mapErr(err), err)
			}
			for _, d := range stmt.deletes {
				if _, err := st(d).ExecContext(ctx, rkey); err != nil {
					return errs.E(op, mapErr(err), err)
				}
			}
		} else {
			res, err := st(stmt.insertRes).ExecContext(ctx, w.Type, w.ID, w.Version, lu, w.Deleted)
			if err != nil {
				return errs.E(op, mapErr(err), err)
			}
			if rkey, err = res.LastInsertId(); err != nil {
				return errs.E(op, errs.Internal, err)
			}
		}
		var body []byte
		if !w.Deleted {
			body = w.JSON
		}
		if _, err := st(stmt.insertVer).ExecContext(ctx, rkey, w.Version, w.Type, w.ID, lu, w.Deleted, int(w.Method), body); err != nil {
			return errs.E(op, mapErr(err), err)
		}
		if !w.Deleted {
			if err := t.insertIndex(ctx, rkey, w.Type, sqlgen.Flatten(&w.Index)); err != nil {
				return errs.E(op, mapErr(err), err)
			}
		}
	}
	return nil
}

func (t *tx) insertIndex(ctx context.Context, rkey int64, typ string, r *sqlgen.Rows) error {
	stmt := &t.s.stmt
	exec := func(s *sql.Stmt, n int, args func(i int) []any) error {
		if n == 0 {
			return nil
		}
		ts := t.tx.StmtContext(ctx, s)
		for i := 0; i < n; i++ {
			if _, err := ts.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.Join(
		exec(stmt.token, len(r.Tokens), func(i int) []any {
			x := &r.Tokens[i]
			return []any{rkey, typ, x.Param, x.System, x.Code, x.Comp}
		}),
		exec(stmt.str, len(r.Strings), func(i int) []any {
			x := &r.Strings[i]
			return []any{rkey, typ, x.Param, x.Norm, x.Exact, x.Comp}
		}),
		exec(stmt.date, len(r.Dates), func(i int) []any {
			x := &r.Dates[i]
			return []any{rkey, typ, x.Param, x.Low, x.High, x.Comp}
		}),
		exec(stmt.number, len(r.Numbers), func(i int) []any {
			x := &r.Numbers[i]
			return []any{rkey, typ, x.Param, x.Low, x.High, x.Comp}
		}),
		exec(stmt.quantity, len(r.Quantities), func(i int) []any {
			x := &r.Quantities[i]
			return []any{rkey, typ, x.Param, x.System, x.Code, x.Unit, x.Low, x.High, x.CanonCode, x.CanonValue, x.Comp}
		}),
		exec(stmt.ref, len(r.References), func(i int) []any {
			x := &r.References[i]
			return []any{rkey, typ, x.Param, x.TargetType, x.TargetID, x.URL, x.Version, x.Comp}
		}),
		exec(stmt.uri, len(r.URIs), func(i int) []any {
			x := &r.URIs[i]
			return []any{rkey, typ, x.Param, x.Value, x.Comp}
		}),
		exec(stmt.compartment, len(r.Compartments), func(i int) []any {
			x := &r.Compartments[i]
			return []any{rkey, typ, x.Type, x.ID}
		}),
	)
}
