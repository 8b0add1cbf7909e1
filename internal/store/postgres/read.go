package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// querier is what reads need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const readSQL = `SELECT r.version, r.last_updated, r.deleted, v.method, v.json
FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version
WHERE r.type = $1 AND r.id = $2`

const vreadSQL = `SELECT v.version, v.last_updated, v.deleted, v.method, v.json
FROM versions v WHERE v.rkey = (SELECT rkey FROM resources WHERE type = $1 AND id = $2) AND v.version = $3`

// Read returns the current version of a resource.
func (s *Store) Read(ctx context.Context, typ, id string) (*store.Record, error) {
	return scanOne(s.keyed.QueryRow(ctx, readSQL, typ, id), "read "+typ+"/"+id, typ, id)
}

// VRead returns one version of a resource.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*store.Record, error) {
	return scanOne(s.keyed.QueryRow(ctx, vreadSQL, typ, id, version), "vread "+typ+"/"+id, typ, id)
}

func scanOne(row pgx.Row, op, typ, id string) (*store.Record, error) {
	rec := &store.Record{Type: typ, ID: id}
	var lu int64
	var method int16
	if err := row.Scan(&rec.Version, &lu, &rec.Deleted, &method, &rec.JSON); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
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
	page, count, err := sqlgen.History(sqlgen.Postgres{}, q, q.Count+1)
	if err != nil {
		return nil, err
	}
	out := &store.HistoryPage{}
	err = s.readTx(ctx, func(qr querier) error {
		rows, err := qr.Query(ctx, page.SQL, page.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last sqlgen.Cursor
		for rows.Next() {
			if len(out.Records) == q.Count {
				out.Next = last.String()
				break
			}
			rec := &store.Record{}
			var lu, rkey int64
			var method int16
			if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &rec.Deleted, &method, &rec.JSON, &rkey); err != nil {
				return err
			}
			rec.LastUpdated = sqlgen.FromMicros(lu)
			rec.Method = store.Method(method)
			out.Records = append(out.Records, rec)
			last = sqlgen.Cursor{LastUpdated: lu, RKey: rkey, Version: rec.Version}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return qr.QueryRow(ctx, count.SQL, count.Args...).Scan(&out.Total)
	})
	if err != nil {
		return nil, errs.E("history", mapErr(err), err)
	}
	return out, nil
}

// readTx runs fn in a read-only repeatable-read transaction, so that a page
// and its total see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(querier) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(tx) })
}

// Search runs a query. When it needs both a page and a count, they run in
// one snapshot.
func (s *Store) Search(ctx context.Context, q *store.Query) (*store.Result, error) {
	if q.Count > 0 && sqlgen.KeyLookup(q) {
		// One resource by its id (a read under the access policy): one
		// statement, whose page is the whole result and gives the total.
		return search(ctx, s.keyed, q)
	}
	if q.Total == store.TotalNone || q.Count <= 0 {
		return search(ctx, s.pool, q)
	}
	var res *store.Result
	err := s.readTx(ctx, func(qr querier) error {
		var err error
		res, err = search(ctx, qr, q)
		return err
	})
	if err != nil {
		if errs.KindOf(err) == errs.Other {
			return nil, errs.E("search", mapErr(err), err)
		}
		return nil, err
	}
	return res, nil
}

func search(ctx context.Context, qr querier, q *store.Query) (*store.Result, error) {
	res := &store.Result{Total: -1}
	countOnly := q.Count <= 0 && q.Total != store.TotalNone
	if !countOnly {
		st, err := sqlgen.Page(sqlgen.Postgres{}, q)
		if err != nil {
			return nil, errs.E("search", err)
		}
		rows, err := qr.Query(ctx, st.SQL, st.Args...)
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
	}
	if q.Total == store.TotalNone {
		return res, nil
	}
	if !countOnly && !res.More && (len(res.Records) > 0 || q.Offset == 0) {
		res.Total = q.Offset + len(res.Records)
		return res, nil
	}
	st, err := sqlgen.Count(sqlgen.Postgres{}, q)
	if err != nil {
		return nil, errs.E("search", err)
	}
	if err := qr.QueryRow(ctx, st.SQL, st.Args...).Scan(&res.Total); err != nil {
		return nil, errs.E("search", mapErr(err), err)
	}
	return res, nil
}
