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

func itemSQL(s string) string { return sqlgen.Placeholders(s, '?') }

var (
	getItemSQL     = itemSQL(sqlgen.GetItemSQL)
	insertItemSQL  = itemSQL(sqlgen.InsertItemSQL)
	updateItemSQL  = itemSQL(sqlgen.UpdateItemSQL)
	deleteItemSQL  = itemSQL(sqlgen.DeleteItemSQL)
	deleteOwnedSQL = itemSQL(sqlgen.DeleteOwnedSQL)
	purgeItemsSQL  = itemSQL(sqlgen.PurgeItemsSQL)
)

// GetItem reads a live item.
func (s *Store) GetItem(ctx context.Context, kind, key string) (*store.Item, error) {
	return getItem(ctx, s.r, time.Now(), kind, key)
}

// ListItems lists live items.
func (s *Store) ListItems(ctx context.Context, q store.ItemQuery) ([]*store.Item, error) {
	return listItems(ctx, s.r, time.Now(), q)
}

func getItem(ctx context.Context, q querier, now time.Time, kind, key string) (*store.Item, error) {
	it, err := sqlgen.ScanItem(q.QueryRowContext(ctx, getItemSQL, sqlgen.Micros(now), kind, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errs.E("get "+kind, errs.NotFound, "no such item")
	case err != nil:
		return nil, errs.E("get "+kind, mapErr(err), err)
	}
	return it, nil
}

func listItems(ctx context.Context, q querier, now time.Time, iq store.ItemQuery) ([]*store.Item, error) {
	stmt, args := sqlgen.ListItems(iq, now)
	rows, err := q.QueryContext(ctx, itemSQL(stmt), args...)
	if err != nil {
		return nil, errs.E("list "+iq.Kind, mapErr(err), err)
	}
	defer rows.Close()
	var out []*store.Item
	for rows.Next() {
		it, err := sqlgen.ScanItem(rows)
		if err != nil {
			return nil, errs.E("list "+iq.Kind, mapErr(err), err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E("list "+iq.Kind, mapErr(err), err)
	}
	return out, nil
}

// GetItem reads an item in the transaction. Like Read, it takes no lock:
// PutItem's version check finds an item another transaction changed since.
func (t *tx) GetItem(ctx context.Context, kind, key string) (*store.Item, error) {
	q, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	return getItem(ctx, q, t.now, kind, key)
}

// ListItems lists items in the transaction.
func (t *tx) ListItems(ctx context.Context, iq store.ItemQuery) ([]*store.Item, error) {
	q, err := t.q(ctx)
	if err != nil {
		return nil, err
	}
	return listItems(ctx, q, t.now, iq)
}

// PutItem creates or replaces an item on the writer connection.
func (t *tx) PutItem(ctx context.Context, it *store.Item) error {
	op := "put " + it.Kind
	if it.Kind == "" || it.Key == "" {
		return errs.E(op, errs.Invalid, "an item needs a kind and a key")
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	now := sqlgen.Micros(t.now)
	var res sql.Result
	var err error
	if it.Version == 0 {
		res, err = t.wtx.ExecContext(ctx, insertItemSQL, now, it.Kind, it.Key, it.Owner, it.Value, sqlgen.ItemExpires(it))
	} else {
		res, err = t.wtx.ExecContext(ctx, updateItemSQL, now, it.Kind, it.Key, it.Owner, it.Value, sqlgen.ItemExpires(it), it.Version)
	}
	if err != nil {
		return errs.E(op, mapErr(err), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return errs.E(op, errs.Internal, err)
	} else if n == 0 {
		return t.itemConflict(ctx, op, it)
	}
	if it.Version == 0 {
		it.Version = 1
	} else {
		it.Version++
	}
	return nil
}

// itemConflict explains a PutItem that changed nothing: the item exists
// (a create) or has another version or is gone (an update). A conflict
// after reads in this transaction is retried, as for resources.
func (t *tx) itemConflict(ctx context.Context, op string, it *store.Item) error {
	cur, err := getItem(ctx, t.wtx, t.now, it.Kind, it.Key)
	switch {
	case err != nil && errs.Is(err, errs.NotFound) && it.Version != 0:
		return errs.E(op, errs.NotFound, "no such item")
	case err != nil && !errs.Is(err, errs.NotFound):
		return err
	}
	var cause error
	if cur != nil && it.Version == 0 {
		cause = errors.New("the item already exists")
	} else if cur != nil {
		cause = fmt.Errorf("the item is at version %d, not %d", cur.Version, it.Version)
	} else {
		cause = errors.New("the item changed concurrently")
	}
	if t.read {
		cause = fmt.Errorf("%w: %w", errStale, cause)
	}
	return errs.E(op, errs.Conflict, cause)
}

// DeleteItem deletes an item.
func (t *tx) DeleteItem(ctx context.Context, kind, key string) error {
	if err := t.begin(ctx); err != nil {
		return err
	}
	if _, err := t.wtx.ExecContext(ctx, deleteItemSQL, kind, key); err != nil {
		return errs.E("delete "+kind, mapErr(err), err)
	}
	return nil
}

// DeleteOwned deletes an owner's items of a kind.
func (t *tx) DeleteOwned(ctx context.Context, kind, owner string) (int, error) {
	if owner == "" {
		return 0, errs.E("delete "+kind, errs.Invalid, "no owner")
	}
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	res, err := t.wtx.ExecContext(ctx, deleteOwnedSQL, kind, owner)
	if err != nil {
		return 0, errs.E("delete "+kind, mapErr(err), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PurgeItems deletes items that expired before tm.
func (t *tx) PurgeItems(ctx context.Context, tm time.Time) (int, error) {
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	res, err := t.wtx.ExecContext(ctx, purgeItemsSQL, sqlgen.Micros(tm))
	if err != nil {
		return 0, errs.E("purge items", mapErr(err), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
