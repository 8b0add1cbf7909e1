package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// InTx runs fn in a read-committed transaction, retrying it when it fails
// with a serialization failure or deadlock.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for attempt := 0; attempt <= s.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errs.E("transaction", errs.Transient, ctx.Err())
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		err = s.inTx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return errs.E("transaction", errs.Conflict, "too many concurrent updates, try again", err)
}

func (s *Store) inTx(ctx context.Context, fn func(store.Tx) error) error {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return errs.E("begin transaction", mapErr(err), err)
	}
	t := &tx{tx: ptx, now: s.now()}
	if err := fn(t); err != nil {
		ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return errs.E("commit", mapErr(err), err)
	}
	s.auto.Wrote(t.written)
	return nil
}

type tx struct {
	tx      pgx.Tx
	now     time.Time
	written int // versions Put
}

func (t *tx) Now() time.Time { return t.now }

// Read reads the current version and locks the resource row until the
// transaction ends.
func (t *tx) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	// Lock first, then read in a new statement: under read committed a
	// statement that waited for the lock still reads from its older
	// snapshot, which lacks the version the other writer just committed.
	op := "read " + typ + "/" + id
	if _, err := t.tx.Exec(ctx, "SELECT 1 FROM resources WHERE type = $1 AND id = $2 FOR UPDATE", typ, id); err != nil {
		return nil, errs.E(op, mapErr(err), err)
	}
	return scanOne(t.tx.QueryRow(ctx, readSQL, typ, id), op, typ, id)
}

func (t *tx) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	return search(ctx, t.tx, q)
}

type key struct{ typ, id string }

// state is one resource's current row as Put sees it.
type state struct {
	rkey    int64
	version int64
	exists  bool // a row was in resources before this Put
	last    *store.Write
}

// Put writes every version in three round trips: lock the existing rows,
// insert the new resources (for their keys), then one pipelined batch with
// every update, deletion of old index rows and insert.
func (t *tx) Put(ctx context.Context, writes []store.Write) error {
	if len(writes) == 0 {
		return nil
	}
	t.written += len(writes)
	states := make(map[key]*state, len(writes))
	var keys []key
	for i := range writes {
		k := key{writes[i].Type, writes[i].ID}
		if _, ok := states[k]; !ok {
			states[k] = &state{}
			keys = append(keys, k)
		}
	}
	// Lock in a fixed order so concurrent batches cannot deadlock.
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id)) })
	types, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		types[i], ids[i] = k.typ, k.id
	}
	rows, err := t.tx.Query(ctx, `SELECT r.rkey, r.type, r.id, r.version FROM resources r
		JOIN unnest($1::text[], $2::text[]) AS k(type, id) ON r.type = k.type AND r.id = k.id
		ORDER BY r.type, r.id FOR UPDATE OF r`, types, ids)
	if err != nil {
		return errs.E("put", mapErr(err), err)
	}
	var rk, ver int64
	var typ, id string
	_, err = pgx.ForEachRow(rows, []any{&rk, &typ, &id, &ver}, func() error {
		st := states[key{typ, id}]
		st.rkey, st.version, st.exists = rk, ver, true
		return nil
	})
	if err != nil {
		return errs.E("put", mapErr(err), err)
	}
	for i := range writes {
		w := &writes[i]
		st := states[key{w.Type, w.ID}]
		if w.Version != st.version+1 {
			return errs.E("put "+w.Type+"/"+w.ID, errs.Conflict,
				fmt.Errorf("version %d does not follow current version %d", w.Version, st.version))
		}
		st.version, st.last = w.Version, w
	}
	if err := t.insertNew(ctx, keys, states); err != nil {
		return err
	}
	b := &pgx.Batch{}
	t.queueResourceUpdates(b, keys, states)
	queueVersions(b, writes, states)
	queueIndexRows(b, keys, states)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return errs.E("put", mapErr(err), err)
	}
	return nil
}

// insertNew inserts the resources rows of new resources and learns their
// keys. A concurrent creator of the same resource makes this fail with a
// unique violation, which maps to errs.Conflict.
func (t *tx) insertNew(ctx context.Context, keys []key, states map[key]*state) error {
	var types, ids []string
	var vers, lus []int64
	var dels []bool
	for _, k := range keys {
		st := states[k]
		if st.exists {
			continue
		}
		types, ids = append(types, k.typ), append(ids, k.id)
		vers = append(vers, st.last.Version)
		lus = append(lus, sqlgen.Micros(st.last.LastUpdated))
		dels = append(dels, st.last.Deleted)
	}
	if len(types) == 0 {
		return nil
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO resources (type, id, version, last_updated, deleted)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::boolean[])
		RETURNING rkey, type, id`, types, ids, vers, lus, dels)
	if err != nil {
		return errs.E("put", mapErr(err), err)
	}
	var rk int64
	var typ, id string
	_, err = pgx.ForEachRow(rows, []any{&rk, &typ, &id}, func() error {
		states[key{typ, id}].rkey = rk
		return nil
	})
	if err != nil {
		return errs.E("put", mapErr(err), err)
	}
	return nil
}

var indexTables = []string{"idx_token", "idx_string", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_compartment"}

func (t *tx) queueResourceUpdates(b *pgx.Batch, keys []key, states map[key]*state) {
	var rkeys, vers, lus []int64
	var dels []bool
	for _, k := range keys {
		st := states[k]
		if !st.exists {
			continue
		}
		rkeys = append(rkeys, st.rkey)
		vers = append(vers, st.last.Version)
		lus = append(lus, sqlgen.Micros(st.last.LastUpdated))
		dels = append(dels, st.last.Deleted)
	}
	if len(rkeys) == 0 {
		return
	}
	b.Queue(`UPDATE resources r SET version = u.version, last_updated = u.last_updated, deleted = u.deleted
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::boolean[]) AS u(rkey, version, last_updated, deleted)
		WHERE r.rkey = u.rkey`, rkeys, vers, lus, dels)
	for _, tbl := range indexTables {
		b.Queue("DELETE FROM "+tbl+" WHERE rkey = ANY($1::bigint[])", rkeys)
	}
}

func queueVersions(b *pgx.Batch, writes []store.Write, states map[key]*state) {
	n := len(writes)
	rkeys, vers, lus := make([]int64, n), make([]int64, n), make([]int64, n)
	types, ids := make([]string, n), make([]string, n)
	dels, methods, bodies := make([]bool, n), make([]int16, n), make([][]byte, n)
	for i := range writes {
		w := &writes[i]
		rkeys[i] = states[key{w.Type, w.ID}].rkey
		vers[i], lus[i] = w.Version, sqlgen.Micros(w.LastUpdated)
		types[i], ids[i] = w.Type, w.ID
		dels[i], methods[i] = w.Deleted, int16(w.Method)
		if !w.Deleted {
			bodies[i] = w.JSON
		}
	}
	b.Queue(`INSERT INTO versions (rkey, version, type, id, last_updated, deleted, method, json)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::smallint[], $8::bytea[])`,
		rkeys, vers, types, ids, lus, dels, methods, bodies)
}

const readManySQL = `SELECT r.type, r.id, r.version, r.last_updated, r.deleted, v.method, v.json
FROM resources r
JOIN unnest($1::text[], $2::text[]) AS k(type, id) ON r.type = k.type AND r.id = k.id
JOIN versions v ON v.rkey = r.rkey AND v.version = r.version`

// ReadMany locks the resources rows (in key order, so concurrent batches
// cannot deadlock) and then reads their current versions in a second
// statement, for the reason Read gives.
func (t *tx) ReadMany(ctx context.Context, refs []store.Ref) (map[store.Ref]*store.Record, error) {
	out := make(map[store.Ref]*store.Record, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	sorted := slices.Clone(refs)
	slices.SortFunc(sorted, func(a, b store.Ref) int { return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID)) })
	sorted = slices.Compact(sorted)
	types, ids := make([]string, len(sorted)), make([]string, len(sorted))
	for i, r := range sorted {
		types[i], ids[i] = r.Type, r.ID
	}
	if _, err := t.tx.Exec(ctx, `SELECT 1 FROM resources r
		JOIN unnest($1::text[], $2::text[]) AS k(type, id) ON r.type = k.type AND r.id = k.id
		ORDER BY r.type, r.id FOR UPDATE OF r`, types, ids); err != nil {
		return nil, errs.E("read many", mapErr(err), err)
	}
	rows, err := t.tx.Query(ctx, readManySQL, types, ids)
	if err != nil {
		return nil, errs.E("read many", mapErr(err), err)
	}
	var typ, id string
	var ver, lu int64
	var del bool
	var method int16
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&typ, &id, &ver, &lu, &del, &method, &body}, func() error {
		out[store.Ref{Type: typ, ID: id}] = &store.Record{Type: typ, ID: id, Version: ver,
			LastUpdated: sqlgen.FromMicros(lu), Deleted: del, Method: store.Method(method), JSON: slices.Clone(body)}
		return nil
	})
	if err != nil {
		return nil, errs.E("read many", mapErr(err), err)
	}
	return out, nil
}
