package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

func itemSQL(s string) string { return sqlgen.Placeholders(s, '$') }

var (
	getItemSQL     = itemSQL(sqlgen.GetItemSQL)
	lockItemSQL    = itemSQL(sqlgen.GetItemSQL + " FOR UPDATE")
	insertItemSQL  = itemSQL(sqlgen.InsertItemSQL)
	updateItemSQL  = itemSQL(sqlgen.UpdateItemSQL)
	deleteItemSQL  = itemSQL(sqlgen.DeleteItemSQL)
	deleteOwnedSQL = itemSQL(sqlgen.DeleteOwnedSQL)
	purgeItemsSQL  = itemSQL(sqlgen.PurgeItemsSQL)
)

type itemQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// GetItem reads a live item.
func (s *Store) GetItem(ctx context.Context, kind, key string) (*store.Item, error) {
	return getItem(ctx, s.pool, getItemSQL, time.Now(), kind, key)
}

// ListItems lists live items.
func (s *Store) ListItems(ctx context.Context, q store.ItemQuery) ([]*store.Item, error) {
	return listItems(ctx, s.pool, time.Now(), q)
}

func getItem(ctx context.Context, q itemQuerier, stmt string, now time.Time, kind, key string) (*store.Item, error) {
	it, err := sqlgen.ScanItem(q.QueryRow(ctx, stmt, sqlgen.Micros(now), kind, key))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errs.E("get "+kind, errs.NotFound, "no such item")
	case err != nil:
		return nil, errs.E("get "+kind, mapErr(err), err)
	}
	return it, nil
}

func listItems(ctx context.Context, q itemQuerier, now time.Time, iq store.ItemQuery) ([]*store.Item, error) {
	stmt, args := sqlgen.ListItems(iq, now)
	rows, err := q.Query(ctx, itemSQL(stmt), args...)
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

// GetItem reads an item and locks it until the transaction ends, so a
// read-modify-write (GetItem, then PutItem with its version) never loses
// a concurrent one's change.
func (t *tx) GetItem(ctx context.Context, kind, key string) (*store.Item, error) {
	return getItem(ctx, t.tx, lockItemSQL, t.now, kind, key)
}

// ListItems lists items in the transaction.
func (t *tx) ListItems(ctx context.Context, iq store.ItemQuery) ([]*store.Item, error) {
	return listItems(ctx, t.tx, t.now, iq)
}

// PutItem creates or replaces an item.
func (t *tx) PutItem(ctx context.Context, it *store.Item) error {
	op := "put " + it.Kind
	if it.Kind == "" || it.Key == "" {
		return errs.E(op, errs.Invalid, "an item needs a kind and a key")
	}
	now := sqlgen.Micros(t.now)
	var tag pgconn.CommandTag
	var err error
	if it.Version == 0 {
		tag, err = t.tx.Exec(ctx, insertItemSQL, now, it.Kind, it.Key, it.Owner, it.Value, sqlgen.ItemExpires(it))
	} else {
		tag, err = t.tx.Exec(ctx, updateItemSQL, now, it.Kind, it.Key, it.Owner, it.Value, sqlgen.ItemExpires(it), it.Version)
	}
	if err != nil {
		return errs.E(op, mapErr(err), err)
	}
	if tag.RowsAffected() == 0 {
		cur, err := getItem(ctx, t.tx, getItemSQL, t.now, it.Kind, it.Key)
		switch {
		case err != nil && errs.Is(err, errs.NotFound) && it.Version != 0:
			return errs.E(op, errs.NotFound, "no such item")
		case err != nil && !errs.Is(err, errs.NotFound):
			return err
		case cur != nil && it.Version == 0:
			return errs.E(op, errs.Conflict, "the item already exists")
		case cur != nil:
			return errs.E(op, errs.Conflict, fmt.Sprintf("the item is at version %d, not %d", cur.Version, it.Version))
		}
		return errs.E(op, errs.Conflict, "the item changed concurrently")
	}
	if it.Version == 0 {
		it.Version = 1
	} else {
		it.Version++
	}
	return nil
}

// DeleteItem deletes an item.
func (t *tx) DeleteItem(ctx context.Context, kind, key string) error {
	if _, err := t.tx.Exec(ctx, deleteItemSQL, kind, key); err != nil {
		return errs.E("delete "+kind, mapErr(err), err)
	}
	return nil
}

// DeleteOwned deletes an owner's items of a kind.
func (t *tx) DeleteOwned(ctx context.Context, kind, owner string) (int, error) {
	if owner == "" {
		return 0, errs.E("delete "+kind, errs.Invalid, "no owner")
	}
	tag, err := t.tx.Exec(ctx, deleteOwnedSQL, kind, owner)
	if err != nil {
		return 0, errs.E("delete "+kind, mapErr(err), err)
	}
	return int(tag.RowsAffected()), nil
}

// PurgeItems deletes items that expired before tm.
func (t *tx) PurgeItems(ctx context.Context, tm time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, purgeItemsSQL, sqlgen.Micros(tm))
	if err != nil {
		return 0, errs.E("purge items", mapErr(err), err)
	}
	return int(tag.RowsAffected()), nil
}
