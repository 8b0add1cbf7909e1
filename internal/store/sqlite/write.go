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

// InTx runs fn optimistically. Its reads and searches use a read-only
// snapshot on a reader connection, so the CPU-bound work of concurrent
// transactions (validation, indexing, serialisation in the layers above)
// runs in parallel; only Put takes the single writer connection. Put checks
// every version against the latest commit, so a transaction whose snapshot
// went stale fails with a conflict and runs again, up to maxAttempts times,
// as a serialization failure would on PostgreSQL.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	const maxAttempts = 4
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, fn)
		if err == nil || attempt == maxAttempts || !errors.Is(err, errStale) {
			return err
		}
	}
}

// errStale marks a conflict caused by reads that another transaction made
// stale; InTx retries those.
var errStale = errors.New("a concurrent transaction changed what this one read")

func (s *Store) inTx(ctx context.Context, fn func(store.Tx) error) error {
	t := &tx{s: s, now: s.now()}
	defer t.endRead()
	if err := fn(t); err != nil {
		if t.wtx != nil {
			t.wtx.Rollback()
		}
		return err
	}
	if t.wtx == nil {
		return nil
	}
	if err := t.wtx.Commit(); err != nil {
		return errs.E("commit", mapErr(err), err)
	}
	return nil
}

// tx is a transaction: rtx is the read snapshot used until the first Put,
// wtx the write transaction on the writer connection from then on.
type tx struct {
	s        *Store
	rtx, wtx *sql.Tx
	read     bool // something was read before the first Put
	now      time.Time
}

func (t *tx) Now() time.Time { return t.now }

// q returns where reads go: the write transaction once it exists (reads see
// the transaction's own writes), else the read snapshot.
func (t *tx) q(ctx context.Context) (querier, error) {
	if t.wtx != nil {
		return t.wtx, nil
	}
	if t.rtx == nil {
		rtx, err := t.s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, errs.E("begin read", mapErr(err), err)
		}
		t.rtx = rtx
	}
	t.read = true
	return t.rtx, nil
}

func (t *tx) endRead() {
	if t.rtx != nil {
		t.rtx.Rollback()
		t.rtx = nil
	}
}

// Read reads the current version. There is no lock to take: Put verifies
// that nothing read has changed.
func (t *tx) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	q, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, q, typ, id)
}

// ReadMany reads several current versions.
func (t *tx) ReadMany(ctx context.Context, refs []store.Ref) (map[store.Ref]*store.Record, error) {
	q, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[store.Ref]*store.Record, len(refs))
	for _, r := range refs {
		rec, err := read(ctx, q, r.Type, r.ID)
		switch {
		case err == nil, errs.Is(err, errs.Gone):
			out[r] = rec
		case errs.Is(err, errs.NotFound):
		default:
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	qr, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	return search(ctx, qr, q)
}

// begin ends the read snapshot (so a waiting writer holds no reader
// connection) and takes the writer connection.
func (t *tx) begin(ctx context.Context) error {
	if t.wtx != nil {
		return nil
	}
	t.endRead()
	wtx, err := t.s.w.BeginTx(ctx, nil)
	if err != nil {
		return errs.E("begin transaction", mapErr(err), err)
	}
	t.wtx = wtx
	return nil
}

// Put writes versions in order; a resource may appear more than once.
func (t *tx) Put(ctx context.Context, writes []store.Write) error {
	if len(writes) == 0 {
		return nil
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	st := func(s *sql.Stmt) *sql.Stmt { return t.wtx.StmtContext(ctx, s) }
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
			err := fmt.Errorf("version %d does not follow current version %d", w.Version, cur)
			if t.read {
				err = fmt.Errorf("%w: %w", errStale, err)
			}
			return errs.E(op, errs.Conflict, err)
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
		ts := t.wtx.StmtContext(ctx, s)
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
