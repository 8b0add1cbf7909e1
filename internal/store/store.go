package store

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/audit"
)

// Record is one stored version of a resource.
type Record struct {
	Type        string
	ID          string
	Version     int64     // meta.versionId, 1, 2, 3... per resource
	LastUpdated time.Time // meta.lastUpdated, UTC, microsecond precision
	Deleted     bool      // a deletion marker: JSON is empty
	Method      Method    // the interaction that produced this version
	JSON        []byte    // canonical JSON, meta.versionId/lastUpdated included
}

// Method records which interaction wrote a version (history Bundles report it
// as entry.request.method).
type Method uint8

const (
	MethodCreate Method = iota + 1
	MethodUpdate
	MethodDelete
)

func (m Method) String() string {
	switch m {
	case MethodCreate:
		return "create"
	case MethodUpdate:
		return "update"
	case MethodDelete:
		return "delete"
	}
	return "unknown"
}

// Write is a new version to store.
type Write struct {
	Record
	// Index holds the search-index rows of this version; they replace those of
	// the previous version. Empty for deletions.
	Index Index
}

// Store is a FHIR resource store. All methods are safe for concurrent use.
// Errors use internal/errs kinds: NotFound, Gone (Read of a deleted
// resource, with the deletion Record still returned), Conflict (a write whose
// version already exists), Transient (the database is unreachable).
type Store interface {
	// Read returns the current version of a resource. For a deleted resource
	// it returns the deletion marker record and an errs.Gone error.
	Read(ctx context.Context, typ, id string) (*Record, error)
	// VRead returns one version. A deletion marker version is returned with
	// an errs.Gone error.
	VRead(ctx context.Context, typ, id string, version int64) (*Record, error)
	// History lists versions newest first.
	History(ctx context.Context, q HistoryQuery) (*HistoryPage, error)
	// Search runs a structured query over current, non-deleted resources.
	Search(ctx context.Context, q *Query) (*Result, error)
	// InTx runs fn in one read-write transaction: everything fn writes
	// commits together or not at all. fn's error rolls back and is returned.
	// Serialization failures are retried a few times before returning
	// errs.Conflict.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Scan lists the current versions of non-deleted resources in a stable
	// order (by a key that never changes for a resource), a page at a time:
	// what rebuilding the search index walks. Resources created meanwhile
	// appear after the cursor, so a scan that runs to the end sees them.
	Scan(ctx context.Context, q ScanQuery) (*ScanPage, error)
	// AuditRange lists audit entries for a report (see audit.go).
	AuditRange(ctx context.Context, q AuditQuery) (*AuditPage, error)
	// AuditScan lists up to limit audit entries with sequence numbers
	// above after, in sequence order (verification walks it).
	AuditScan(ctx context.Context, after int64, limit int) ([]*audit.Row, error)
	// AuditHead returns the sequence number and hash of the last entry.
	AuditHead(ctx context.Context) (audit.Head, error)
	// ItemReader reads server state (kv.go).
	ItemReader
	// Ping checks the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is a read-write transaction. Reads see the transaction's own writes.
type Tx interface {
	// Read returns the current version (see Store.Read) and locks the
	// resource against concurrent writers until the transaction ends.
	Read(ctx context.Context, typ, id string) (*Record, error)
	// ReadMany reads the current versions of several resources in one round
	// trip, locking them like Read. Resources that do not exist are absent
	// from the map; deleted ones are present with Deleted set.
	ReadMany(ctx context.Context, refs []Ref) (map[Ref]*Record, error)
	// Search runs a query inside the transaction (conditional operations).
	Search(ctx context.Context, q *Query) (*Result, error)
	// Put stores new versions. Each Write's Version must be exactly one more
	// than the current version of that resource (1 for a new resource);
	// otherwise Put returns errs.Conflict and the caller rolls back. The new
	// version becomes current and its index rows replace the old ones.
	Put(ctx context.Context, writes []Write) error
	// Reindex replaces the index rows of current versions without writing a
	// version: the resource, its version and its lastUpdated stay as they
	// are. Each update names the version its rows were computed from; if
	// that is no longer the current version, or the resource is now deleted,
	// Reindex returns errs.Conflict (errs.NotFound for a resource that does
	// not exist) and the caller rolls back, so rows computed from a stale
	// version never replace those a concurrent write just stored.
	Reindex(ctx context.Context, updates []IndexUpdate) error
	// AppendAudit appends entries to the audit trail in this transaction:
	// they commit with its writes or not at all. The store numbers them
	// after the last entry and chains them (audit.Seal) while it holds the
	// chain head, so concurrent transactions append one after the other
	// without gaps; it sets each entry's Seq. Call it last, just before the
	// transaction ends: the chain head stays locked until then.
	AppendAudit(ctx context.Context, entries []*audit.Entry) error
	// ItemReader and ItemWriter read and change server state (kv.go) in
	// the transaction.
	ItemReader
	ItemWriter
	// Now returns the transaction's timestamp: every version written in one
	// transaction shares it (UTC, truncated to microseconds).
	Now() time.Time
}

// IndexUpdate is a new set of index rows for the current version of a resource.
type IndexUpdate struct {
	Ref
	Version int64 // the version Index was computed from
	Index   Index
}

// ScanQuery selects a page of a Scan.
type ScanQuery struct {
	Types []string // resource types to list; empty means every type
	// After continues a scan: resources strictly after this cursor (a
	// ScanPage.Next). Empty starts at the beginning.
	After string
	Limit int // page size; 0 means a store default of 500
}

// ScanPage is one page of a Scan.
type ScanPage struct {
	Records []*Record
	// Next is the cursor of the last record of this page, "" when the scan
	// has reached the end. It is printable and stable across processes, so
	// an interrupted job can resume from the last cursor it reported.
	Next string
}

// Ref names a resource.
type Ref struct {
	Type string
	ID   string
}

// HistoryQuery selects versions: all resources (Type ""), one type, or one
// resource (Type and ID).
type HistoryQuery struct {
	Type  string
	ID    string
	Since time.Time // only versions with LastUpdated >= Since (zero: no bound)
	At    time.Time // only versions with LastUpdated <= At (zero: no bound); paging pins it
	Count int       // page size; 0 means a store default of 50
	// After continues a listing: versions strictly older, in the listing's
	// order, than this cursor (from HistoryPage.Next). Empty for the first page.
	After string
}

// HistoryPage is one page of versions, newest first.
type HistoryPage struct {
	Records []*Record
	Total   int    // the number of versions matching the query (ignoring paging)
	Next    string // cursor for the next page, "" when this is the last
}
