package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// Scan lists a page of current, non-deleted resources in key order.
func (s *Store) Scan(ctx context.Context, q store.ScanQuery) (*store.ScanPage, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	st, err := sqlgen.Scan(sqlgen.Postgres{}, q, q.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, errs.E("scan", mapErr(err), err)
	}
	page := &store.ScanPage{}
	var rkey, ver, lu int64
	var typ, id string
	var method int16
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&rkey, &typ, &id, &ver, &lu, &method, &body}, func() error {
		page.Records = append(page.Records, &store.Record{Type: typ, ID: id, Version: ver,
			LastUpdated: sqlgen.FromMicros(lu), Method: store.Method(method), JSON: slices.Clone(body)})
		return nil
	})
	if err != nil {
		return nil, errs.E("scan", mapErr(err), err)
	}
	if len(page.Records) == q.Limit {
		page.Next = sqlgen.ScanCursor(rkey)
	}
	return page, nil
}

// Reindex replaces the index rows of current versions in two round trips,
// as Put does: lock the resources rows (in key order, so it cannot deadlock
// with a concurrent Put) and check their versions, then one pipelined batch
// deleting the old rows and inserting the new ones. The row locks make a
// concurrent writer of the same resources wait until this transaction ends,
// so it cannot interleave its own rows with these.
func (t *tx) Reindex(ctx context.Context, updates []store.IndexUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	states := make(map[key]*state, len(updates))
	var keys []key
	for i := range updates {
		u := &updates[i]
		k := key{u.Type, u.ID}
		if _, dup := states[k]; !dup {
			keys = append(keys, k)
		}
		// The last update of a resource wins, as the last write does in Put.
		states[k] = &state{last: &store.Write{Record: store.Record{Type: u.Type, ID: u.ID, Version: u.Version}, Index: u.Index}}
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id)) })
	types, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		types[i], ids[i] = k.typ, k.id
	}
	rows, err := t.tx.Query(ctx, `SELECT r.rkey, r.type, r.id, r.version, r.deleted FROM resources r
		JOIN unnest($1::text[], $2::text[]) AS k(type, id) ON r.type = k.type AND r.id = k.id
		ORDER BY r.type, r.id FOR UPDATE OF r`, types, ids)
	if err != nil {
		return errs.E("reindex", mapErr(err), err)
	}
	var rk, ver int64
	var typ, id string
	var del bool
	_, err = pgx.ForEachRow(rows, []any{&rk, &typ, &id, &ver, &del}, func() error {
		st := states[key{typ, id}]
		st.rkey, st.version, st.exists = rk, ver, true
		st.last.Deleted = del
		return nil
	})
	if err != nil {
		return errs.E("reindex", mapErr(err), err)
	}
	rkeys := make([]int64, 0, len(keys))
	for _, k := range keys {
		st := states[k]
		op := "reindex " + k.typ + "/" + k.id
		switch {
		case !st.exists:
			return errs.E(op, errs.NotFound)
		case st.version != st.last.Version || st.last.Deleted:
			return errs.E(op, errs.Conflict, fmt.Errorf("index rows of version %d, but the current version is %d (deleted: %t)",
				st.last.Version, st.version, st.last.Deleted))
		}
		rkeys = append(rkeys, st.rkey)
	}
	b := &pgx.Batch{}
	for _, tbl := range indexTables {
		b.Queue("DELETE FROM "+tbl+" WHERE rkey = ANY($1::bigint[])", rkeys)
	}
	queueIndexRows(b, keys, states)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return errs.E("reindex", mapErr(err), err)
	}
	return nil
}
