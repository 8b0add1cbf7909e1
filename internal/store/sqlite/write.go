package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// indexTables lists every index side table, for replacing a resource's rows.
var indexTables = []string{"idx_token", "idx_string", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_compartment"}

// indexInsert describes the multi-row INSERT of one index side table.
type indexInsert struct {
	table   string
	columns []string
}

// indexInserts are the index tables in the order of sqlgen.Rows' fields.
var indexInserts = [...]indexInsert{
	{"idx_token", []string{"rkey", "type", "param", "system", "code", "comp"}},
	{"idx_string", []string{"rkey", "type", "param", "norm", "exact", "comp"}},
	{"idx_date", []string{"rkey", "type", "param", "low", "high", "comp"}},
	{"idx_number", []string{"rkey", "type", "param", "low", "high", "comp"}},
	{"idx_quantity", []string{"rkey", "type", "param", "system", "code", "unit", "low", "high", "canon_code", "canon_value", "comp"}},
	{"idx_reference", []string{"rkey", "type", "param", "target_type", "target_id", "url", "version", "comp"}},
	{"idx_uri", []string{"rkey", "type", "param", "value", "comp"}},
	{"idx_compartment", []string{"rkey", "type", "ctype", "cid"}},
}

// maxRowsLog2 sizes the multi-row index INSERTs: statements of 1, 2, 4, ...
// 1<<maxRowsLog2 rows are prepared for every table, so n rows take at most
// n>>maxRowsLog2 + maxRowsLog2 + 1 executions. One execution per row cost
// more in the database/sql and driver layers than in SQLite itself.
const maxRowsLog2 = 6

// multiRowInsert is INSERT INTO table (columns) VALUES (?, ...), ... for n
// rows. The parameters are anonymous: the driver looks up the name of every
// numbered parameter, a cost that grows with the number of parameters.
func multiRowInsert(in indexInsert, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + in.table + " (" + strings.Join(in.columns, ", ") + ") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range in.columns {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// writeStmts are prepared once on the single writer connection; a
// transaction on that connection reuses them without re-preparing.
type writeStmts struct {
	insertRes, updateRes, insertVer *sql.Stmt
	// index[t][k] inserts 1<<k rows into indexInserts[t].table.
	index   [len(indexInserts)][maxRowsLog2 + 1]*sql.Stmt
	deletes []*sql.Stmt
	all     []*sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	p := &preparer{ctx: ctx, db: db}
	w.insertRes = p.prepare("INSERT INTO resources (type, id, version, last_updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5)")
	w.updateRes = p.prepare("UPDATE resources SET version = ?2, last_updated = ?3, deleted = ?4 WHERE rkey = ?1")
	w.insertVer = p.prepare("INSERT INTO versions (rkey, version, type, id, last_updated, deleted, method, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
	for t, in := range indexInserts {
		for k := 0; k <= maxRowsLog2; k++ {
			w.index[t][k] = p.prepare(multiRowInsert(in, 1<<k))
		}
	}
	for _, t := range indexTables {
		w.deletes = append(w.deletes, p.prepare("DELETE FROM "+t+" WHERE rkey = ?1"))
	}
	w.all = p.all
	if p.err != nil {
		return errs.E("open store", errs.Internal, fmt.Errorf("preparing statements: %w", p.err))
	}
	return nil
}

func (w *writeStmts) close() { closeStmts(w.all) }

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
	for _, st := range t.staged {
		s.pending.Store(st.id, st.e) // before other appenders can see the rows
	}
	if err := t.wtx.Commit(); err != nil {
		for _, st := range t.staged {
			s.pending.Delete(st.id)
		}
		return errs.E("commit", mapErr(err), err)
	}
	t.s.ck.committed()
	t.s.auto.Wrote(t.written)
	if t.tidiedTo > 0 {
		s.tidied.Store(max(s.tidied.Load(), t.tidiedTo))
	}
	if len(t.staged) > 0 {
		// The entries are safe in audit_stage: a failure to append them now
		// leaves them there for the next append, and the transaction, which
		// has committed, succeeds.
		s.appendStaged(context.WithoutCancel(ctx))
	}
	return nil
}

// tx is a transaction: rtx is the read snapshot used until the first Put,
// wtx the write transaction on the writer connection from then on.
type tx struct {
	s        *Store
	rtx, wtx *sql.Tx
	read     bool // something was read before the first Put
	written  int  // versions Put
	now      time.Time
	staged   []staged // audit entries staged (trail.go)
	tidied   bool     // staging deleted the rows the chain holds
	tidiedTo int64    // the last row it deleted
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

// readManyChunk is the number of resources ReadMany reads per statement.
const readManyChunk = 200

// ReadMany reads several current versions, readManyChunk per statement.
func (t *tx) ReadMany(ctx context.Context, refs []store.Ref) (map[store.Ref]*store.Record, error) {
	q, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[store.Ref]*store.Record, len(refs))
	for len(refs) > 0 {
		chunk := refs[:min(len(refs), readManyChunk)]
		refs = refs[len(chunk):]
		if err := readMany(ctx, q, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readMany reads the current versions of refs into out, deleted ones
// included; absent ones are left out.
func readMany(ctx context.Context, q querier, refs []store.Ref, out map[store.Ref]*store.Record) error {
	var b strings.Builder
	b.WriteString(`SELECT r.type, r.id, r.version, r.last_updated, r.deleted, v.method, v.json
FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version
WHERE (r.type, r.id) IN (VALUES `)
	args := make([]any, 0, 2*len(refs))
	for i, r := range refs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, r.Type, r.ID)
	}
	b.WriteByte(')')
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return errs.E("read many", mapErr(err), err)
	}
	defer rows.Close()
	for rows.Next() {
		rec := &store.Record{}
		var lu int64
		var method int
		if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &rec.Deleted, &method, &rec.JSON); err != nil {
			return errs.E("read many", mapErr(err), err)
		}
		rec.LastUpdated = sqlgen.FromMicros(lu)
		rec.Method = store.Method(method)
		out[store.Ref{Type: rec.Type, ID: rec.ID}] = rec
	}
	if err := rows.Err(); err != nil {
		return errs.E("read many", mapErr(err), err)
	}
	return nil
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

// Put writes versions in order; a resource may appear more than once. The
// index rows of every resource's last version are collected and inserted
// at the end, table by table, with multi-row INSERTs.
func (t *tx) Put(ctx context.Context, writes []store.Write) error {
	if len(writes) == 0 {
		return nil
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	t.written += len(writes)
	st := func(s *sql.Stmt) *sql.Stmt { return t.wtx.StmtContext(ctx, s) }
	stmt := &t.s.stmt
	// last[k] is the position of the last write of resource k: only that
	// version's index rows are stored.
	last := make(map[store.Ref]int, len(writes))
	for i := range writes {
		last[store.Ref{Type: writes[i].Type, ID: writes[i].ID}] = i
	}
	curr, err := t.currents(ctx, last)
	if err != nil {
		return errs.E("put", mapErr(err), err)
	}
	var flat []flatRows
	for i := range writes {
		w := &writes[i]
		op := "put " + w.Type + "/" + w.ID
		ref := store.Ref{Type: w.Type, ID: w.ID}
		c, exists := curr[ref]
		rkey, cur := c.rkey, c.version
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
		curr[ref] = current{rkey, w.Version}
		if !w.Deleted && last[ref] == i {
			flat = append(flat, flatRows{rkey, w.Type, sqlgen.Flatten(&w.Index)})
		}
	}
	if err := t.insertIndex(ctx, collect(flat)); err != nil {
		return errs.E("put", mapErr(err), err)
	}
	return nil
}

// current is a resource's row in resources: its key and current version.
type current struct{ rkey, version int64 }

// currents reads the resources rows of the resources written, readManyChunk
// per statement; absent resources are not in the map.
func (t *tx) currents(ctx context.Context, refs map[store.Ref]int) (map[store.Ref]current, error) {
	out := make(map[store.Ref]current, len(refs))
	all := make([]store.Ref, 0, len(refs))
	for r := range refs {
		all = append(all, r)
	}
	for len(all) > 0 {
		chunk := all[:min(len(all), readManyChunk)]
		all = all[len(chunk):]
		var b strings.Builder
		b.WriteString("SELECT type, id, rkey, version FROM resources WHERE (type, id) IN (VALUES ")
		args := make([]any, 0, 2*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?)")
			args = append(args, r.Type, r.ID)
		}
		b.WriteByte(')')
		rows, err := t.wtx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r store.Ref
			var c current
			if err := rows.Scan(&r.Type, &r.ID, &c.rkey, &c.version); err != nil {
				rows.Close()
				return nil, err
			}
			out[r] = c
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// flatRows are the index rows of one resource.
type flatRows struct {
	rkey int64
	typ  string
	rows *sqlgen.Rows
}

// collect gathers the arguments of every resource's index rows, each
// table's slice allocated once at its final size.
func collect(flat []flatRows) *indexRows {
	var n [len(indexInserts)]int
	for _, f := range flat {
		r := f.rows
		for t, k := range [...]int{len(r.Tokens), len(r.Strings), len(r.Dates), len(r.Numbers), len(r.Quantities), len(r.References), len(r.URIs), len(r.Compartments)} {
			n[t] += k
		}
	}
	var x indexRows
	for t := range x {
		x[t] = make([]any, 0, n[t]*len(indexInserts[t].columns))
	}
	for _, f := range flat {
		x.add(f.rkey, f.typ, f.rows)
	}
	return &x
}

// indexRows holds the arguments of index rows, table by table (the order
// of indexInserts), each row's columns in sequence.
type indexRows [len(indexInserts)][]any

func (x *indexRows) add(rkey int64, typ string, r *sqlgen.Rows) {
	// The resource's key and type are boxed once for all its rows, and
	// parameter names once per run of equal names (rows of one parameter
	// come together): every value put in an interface otherwise allocates.
	var k, t any = rkey, typ
	var param any
	var last string
	boxParam := func(p string) any {
		if param == nil || p != last {
			param, last = p, p
		}
		return param
	}
	for _, v := range r.Tokens {
		x[0] = append(x[0], k, t, boxParam(v.Param), v.System, v.Code, v.Comp)
	}
	for _, v := range r.Strings {
		x[1] = append(x[1], k, t, boxParam(v.Param), v.Norm, v.Exact, v.Comp)
	}
	for _, v := range r.Dates {
		x[2] = append(x[2], k, t, boxParam(v.Param), v.Low, v.High, v.Comp)
	}
	for _, v := range r.Numbers {
		x[3] = append(x[3], k, t, boxParam(v.Param), v.Low, v.High, v.Comp)
	}
	for _, v := range r.Quantities {
		x[4] = append(x[4], k, t, boxParam(v.Param), v.System, v.Code, v.Unit, v.Low, v.High, v.CanonCode, v.CanonValue, v.Comp)
	}
	for _, v := range r.References {
		x[5] = append(x[5], k, t, boxParam(v.Param), v.TargetType, v.TargetID, v.URL, v.Version, v.Comp)
	}
	for _, v := range r.URIs {
		x[6] = append(x[6], k, t, boxParam(v.Param), v.Value, v.Comp)
	}
	for _, v := range r.Compartments {
		x[7] = append(x[7], k, t, v.Type, v.ID)
	}
}

// insertIndex inserts the collected rows: as many statements of the
// largest size as fit, then the remainder by its binary digits.
func (t *tx) insertIndex(ctx context.Context, rows *indexRows) error {
	for tbl, args := range rows {
		ncol := len(indexInserts[tbl].columns)
		n := len(args) / ncol
		for n > 0 {
			k := maxRowsLog2
			for 1<<k > n {
				k--
			}
			m := (1 << k) * ncol
			if _, err := t.wtx.StmtContext(ctx, t.s.stmt.index[tbl][k]).ExecContext(ctx, args[:m]...); err != nil {
				return err
			}
			args, n = args[m:], n-1<<k
		}
	}
	return nil
}
