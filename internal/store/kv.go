package store

import (
	"context"
	"time"
)

// The store also keeps the server's own state that is not FHIR: user
// accounts, sign-in sessions, OAuth clients, codes and tokens, emergency
// access grants. They live in the same database as the resources (never in
// one node's memory), as small JSON documents addressed by a kind and a key,
// and are written in the same transactions as the audit entries that record
// their changes.

// Item is one stored document of server state.
type Item struct {
	// Kind groups items ("user", "session", "oauth-client", ...); Key is
	// unique within a kind.
	Kind string
	Key  string
	// Owner optionally names what the item belongs to (a user id for
	// sessions and tokens), so that all of one owner's items can be listed
	// or deleted together (sign out everywhere).
	Owner string
	// Value is the document (JSON, opaque to the store).
	Value []byte
	// Expires, when not zero, is when the item stops existing: reads treat
	// an expired item as absent and PurgeItems deletes it.
	Expires time.Time
	// Version is 1 for a new item and grows by one with each PutItem. It is
	// set by the store.
	Version int64
}

// ItemQuery selects items of one kind for ListItems.
type ItemQuery struct {
	Kind   string
	Owner  string // only items of this owner ("" for any)
	Prefix string // only keys starting with Prefix
	After  string // only keys strictly after After (paging)
	Limit  int    // at most this many (0: a store default of 100)
}

// ItemReader reads server state. Store and Tx both implement it.
type ItemReader interface {
	// GetItem returns the item, or an errs.NotFound error when it does not
	// exist or has expired.
	GetItem(ctx context.Context, kind, key string) (*Item, error)
	// ListItems lists unexpired items in key order.
	ListItems(ctx context.Context, q ItemQuery) ([]*Item, error)
}

// ItemWriter changes server state inside a transaction (Tx).
type ItemWriter interface {
	// PutItem creates or replaces an item. With it.Version 0 the item must
	// not exist (or must have expired): otherwise errs.Conflict. With a
	// version, the stored item must have exactly that version: otherwise
	// errs.Conflict (errs.NotFound when absent). On success it.Version is
	// the new version. A read-modify-write is GetItem then PutItem with
	// the version read, in one transaction.
	PutItem(ctx context.Context, it *Item) error
	// DeleteItem deletes an item; deleting a missing one is not an error.
	DeleteItem(ctx context.Context, kind, key string) error
	// DeleteOwned deletes every item of kind owned by owner and reports how
	// many there were.
	DeleteOwned(ctx context.Context, kind, owner string) (int, error)
	// PurgeItems deletes items that expired before t.
	PurgeItems(ctx context.Context, t time.Time) (int, error)
}
