package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// querier is what reads need: the read pool or the write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// The key is bound behind CAST so that binding it does not expire the
// prepared statement (sqlgen.KeyLookup explains why): the statements stay
// in the reader pool's cache parsed once.
const readSQL = `SELECT r.version, r.last_updated, r.deleted, v.method, v.json
FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version
WHERE r.type = CAST(?1 AS TEXT) AND r.id = CAST(?2 AS TEXT)`

const vreadSQL = `SELECT v.version, v.last_updated, v.deleted, v.method, v.json
FROM versions v WHERE v.rkey = (SELECT rkey FROM resources WHERE type = CAST(?1 AS TEXT) AND id = CAST(?2 AS TEXT)) AND v.version = ?3`

// Read returns the current version of a resource.
func (s *Store) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	return read(ctx, cachedDB{s.reads}, typ, id)
}

func read(ctx context.Context, q querier, typ, id string) (*store.Record, error) {
	return scanOne(q.QueryRowContext(ctx, readSQL, typ, id), "read "+typ+"/"+id, typ, id)
}

// VRead returns one version of a resource.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*store.Record, error) {
	return scanOne(cachedDB{s.reads}.QueryRowContext(ctx, vreadSQL, typ, id, version), "vread "+typ+"/"+id, typ, id)
}

func scanOne(row *sql.Row, op, typ, id string) (*store.Record, error) {
	rec := &store.Record{Type: typ, ID: id}
	var lu int64
	var method int
	if err := row.Scan(&rec.Version, &lu, &rec.Deleted, &method, &rec.JSON); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(op, errs.NotFound)
		}
		return nil, errs.E(op, mapErr(err), err)
	}
	rec.LastUpdated = sqlgen.FromMicros(lu)
	rec.Method = store.Method(method)
	if rec.Deleted {
		return rec, errs.E(op, errs.Gone)
	}
	return rec, nil
}

// History lists versions newest first.
func (s *Store) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	if q.Count <= 0 {
		q.Count = 50
	}
	page, count, err := sqlgen.History(sqlgen.SQLite{}, q, q.Count+1)
	if err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, errs.E("history", mapErr(err), err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, page.SQL, page.Args...)
	if err != nil {
		return nil, errs.E("history", mapErr(err), err)
	}
	defer rows.Close()
	out := &store.HistoryPage{}
	var last sqlgen.Cursor
	for rows.Next() {
		if len(out.Records) == q.Count {
			out.Next = last.String()
			break
		}
		rec := &store.Record{}
		var lu, rkey int64
		var method int
		if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &rec.Deleted, &method, &rec.JSON, &rkey); err != nil {
			return nil, errs.E("history", mapErr(err), err)
		}
		rec.LastUpdated = sqlgen.FromMicros(lu)
		rec.Method = store.Method(method)
		out.Records = append(out.Records, rec)
		last = sqlgen.Cursor{LastUpdated: lu, RKey: rkey, Version: rec.Version}
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E("history", mapErr(err), err)
	}
	rows.Close()
	if err := tx.QueryRowContext(ctx, count.SQL, count.Args...).Scan(&out.Total); err != nil {
		return nil, errs.E("history", mapErr(err), err)
	}
	return out, nil
}

// Search runs a query in one read transaction, so the page and the total
// see the same snapshot.
func (s *Store) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	if q.Count > 0 && sqlgen.KeyLookup(q) {
		// One statement answers a lookup by key (at most one resource:
		// its page is the whole result and no count follows), so it needs
		// no transaction of its own.
		return search(ctx, cachedDB{s.reads}, q)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, errs.E("search", mapErr(err), err)
	}
	defer tx.Rollback()
	return search(ctx, cachedTx{tx: tx, c: s.reads}, q)
}

func search(ctx context.Context, qr querier, q *store.Query) (*store.Result, error) {
	res := &store.Result{Total: -1}
	countOnly := q.Count <= 0 && q.Total != store.TotalNone
	if !countOnly {
		st, err := sqlgen.Page(sqlgen.SQLite{}, q)
		if err != nil {
			return nil, errs.E("search", err)
		}
		rows, err := qr.QueryContext(ctx, st.SQL, st.Args...)
		if err != nil {
			return nil, errs.E("search", mapErr(err), err)
		}
		defer rows.Close()
		recs, more, err := sqlgen.ScanPage(rows, q.Count)
		rows.Close()
		if err != nil {
			return nil, errs.E("search", mapErr(err), err)
		}
		res.Records, res.More = recs, more
		rows.Close()
	}
	if q.Total == store.TotalNone {
		return res, nil
	}
	if !countOnly && !res.More && (len(res.Records) > 0 || q.Offset == 0) {
		// The page reached the end: the total is known without counting.
		res.Total = q.Offset + len(res.Records)
		return res, nil
	}
	st, err := sqlgen.Count(sqlgen.SQLite{}, q)
	if err != nil {
		return nil, errs.E("search", err)
	}
	if err := qr.QueryRowContext(ctx, st.SQL, st.Args...).Scan(&res.Total); err != nil {
		return nil, errs.E("search", mapErr(err), err)
	}
	return res, nil
}
