package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// Scan lists a page of current, non-deleted resources in key order.
func (s *Store) Scan(ctx context.Context, q store.ScanQuery) (*store.ScanPage, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	st, err := sqlgen.Scan(sqlgen.SQLite{}, q, q.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, errs.E("scan", mapErr(err), err)
	}
	defer rows.Close()
	page := &store.ScanPage{}
	var rkey int64
	for rows.Next() {
		rec := &store.Record{}
		var lu int64
		var method int
		if err := rows.Scan(&rkey, &rec.Type, &rec.ID, &rec.Version, &lu, &method, &rec.JSON); err != nil {
			return nil, errs.E("scan", mapErr(err), err)
		}
		rec.LastUpdated = sqlgen.FromMicros(lu)
		rec.Method = store.Method(method)
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E("scan", mapErr(err), err)
	}
	if len(page.Records) == q.Limit {
		page.Next = sqlgen.ScanCursor(rkey)
	}
	return page, nil
}

// Reindex replaces the index rows of current versions on the writer
// connection, checking each version the way Put does.
func (t *tx) Reindex(ctx context.Context, updates []store.IndexUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	stmt := &t.s.stmt
	for i := range updates {
		u := &updates[i]
		op := "reindex " + u.Type + "/" + u.ID
		var rkey, cur int64
		var deleted bool
		err := t.wtx.QueryRowContext(ctx, "SELECT rkey, version, deleted FROM resources WHERE type = ?1 AND id = ?2", u.Type, u.ID).Scan(&rkey, &cur, &deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errs.E(op, errs.NotFound)
		case err != nil:
			return errs.E(op, mapErr(err), err)
		case cur != u.Version || deleted:
			err := fmt.Errorf("index rows of version %d, but the current version is %d (deleted: %t)", u.Version, cur, deleted)
			if t.read {
				err = fmt.Errorf("%w: %w", errStale, err)
			}
			return errs.E(op, errs.Conflict, err)
		}
		for _, d := range stmt.deletes {
			if _, err := t.wtx.StmtContext(ctx, d).ExecContext(ctx, rkey); err != nil {
				return errs.E(op, mapErr(err), err)
			}
		}
		if err := t.insertIndex(ctx, collect([]flatRows{{rkey, u.Type, sqlgen.Flatten(&u.Index)}})); err != nil {
			return errs.E(op, mapErr(err), err)
		}
	}
	return nil
}
