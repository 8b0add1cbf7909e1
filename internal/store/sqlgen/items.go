package sqlgen

import (
	"strings"
	"time"

	"github.com/openchart/openchart/internal/store"
)

// The server-state items (store.Item) of both drivers: the statements are
// written once here with numbered placeholders, which SQLite ("?1") and
// PostgreSQL ("$1") both take after Placeholders.

// ItemColumns is the column list every item query selects, in ScanItem's order.
const ItemColumns = "kind, key, owner, value, expires, version"

// ItemLive is the condition of an unexpired item at time #1 (the first
// placeholder of the statements below).
const itemLive = "(expires = 0 OR expires > #1)"

// GetItemSQL reads one live item: args now, kind, key.
const GetItemSQL = "SELECT " + ItemColumns + " FROM items WHERE " + itemLive + " AND kind = #2 AND key = #3"

// InsertItemSQL creates an item, replacing an expired one of the same key:
// args now, kind, key, owner, value, expires. It changes no row when a live
// item has the key (a conflict).
const InsertItemSQL = "INSERT INTO items (kind, key, owner, value, expires, version) VALUES (#2, #3, #4, #5, #6, 1) " +
	"ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner, value = excluded.value, expires = excluded.expires, version = 1 " +
	"WHERE items.expires <> 0 AND items.expires <= #1"

// UpdateItemSQL replaces a live item of exactly the given version: args now,
// kind, key, owner, value, expires, version.
const UpdateItemSQL = "UPDATE items SET owner = #4, value = #5, expires = #6, version = version + 1 " +
	"WHERE " + itemLive + " AND kind = #2 AND key = #3 AND version = #7"

// DeleteItemSQL: args kind, key.
const DeleteItemSQL = "DELETE FROM items WHERE kind = #1 AND key = #2"

// DeleteOwnedSQL: args kind, owner.
const DeleteOwnedSQL = "DELETE FROM items WHERE kind = #1 AND owner = #2"

// PurgeItemsSQL: args t.
const PurgeItemsSQL = "DELETE FROM items WHERE expires > 0 AND expires <= #1"

// ListItems builds the query of q at time now: the statement and its args.
func ListItems(q store.ItemQuery, now time.Time) (string, []any) {
	args := []any{Micros(now), q.Kind}
	s := "SELECT " + ItemColumns + " FROM items WHERE " + itemLive + " AND kind = #2"
	if q.Owner != "" {
		args = append(args, q.Owner)
		s += " AND owner = #" + itoa(len(args))
	}
	if q.Prefix != "" {
		// A range on the key keeps to the primary key; the upper bound is
		// the prefix followed by the highest code point.
		args = append(args, q.Prefix, q.Prefix+"\U0010FFFF")
		s += " AND key >= #" + itoa(len(args)-1) + " AND key < #" + itoa(len(args))
	}
	if q.After != "" {
		args = append(args, q.After)
		s += " AND key > #" + itoa(len(args))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	s += " ORDER BY key LIMIT #" + itoa(len(args))
	return s, args
}

// Placeholders rewrites #n into the dialect's numbered placeholder.
func Placeholders(s string, mark byte) string {
	return strings.ReplaceAll(s, "#", string(mark))
}

// ItemScanner is a row of an item query.
type ItemScanner interface{ Scan(dest ...any) error }

// ScanItem reads a row of ItemColumns.
func ScanItem(r ItemScanner) (*store.Item, error) {
	var it store.Item
	var exp int64
	if err := r.Scan(&it.Kind, &it.Key, &it.Owner, &it.Value, &exp, &it.Version); err != nil {
		return nil, err
	}
	if exp != 0 {
		it.Expires = FromMicros(exp)
	}
	return &it, nil
}

// ItemExpires is the expires column of an item.
func ItemExpires(it *store.Item) int64 {
	if it.Expires.IsZero() {
		return 0
	}
	return Micros(it.Expires)
}
