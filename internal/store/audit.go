package store

import (
	"time"

	"github.com/openchart/openchart/internal/audit"
)

// The audit trail (ONC 45 CFR 170.315(d)(2), (d)(3), (d)(10)). Entries are
// appended with Tx.AppendAudit in the transaction of the action they record
// and are never changed: the contract has no method to update or delete
// one. Store additions, beside AppendAudit on Tx:
//
//	AuditRange(ctx, AuditQuery) (*AuditPage, error)   reports
//	AuditScan(ctx, after, limit) ([]*audit.Row, error) verification, in sequence order
//	AuditHead(ctx) (audit.Head, error)                 the last entry appended
//
// AuditScan and AuditHead make a Store an audit.Source for audit.Verify.

// AuditKey is a sort key of an audit report.
type AuditKey string

const (
	AuditByTime    AuditKey = "date"    // when recorded (sequence order)
	AuditByUser    AuditKey = "user"    // the agent's name
	AuditByPatient AuditKey = "patient" // the smallest patient id of the entry; entries without patient last
	AuditByAction  AuditKey = "action"
	AuditByOutcome AuditKey = "outcome"
)

// AuditSort is one sort key.
type AuditSort struct {
	Key  AuditKey
	Desc bool
}

// AuditQuery selects audit entries. Zero fields do not filter; filters AND,
// values of one list OR.
type AuditQuery struct {
	Seq      int64     // only this entry
	From, To time.Time // recorded in [From, To]
	// User matches the agent's name (username, else client id), user id or
	// fhirUser reference.
	User    string
	Patient string // entries concerning this patient
	// Organization: entries whose agent acted for this organization
	// (Agent.Organization, a reference such as "Organization/x").
	Organization string
	// OnlyPatients, when not nil, keeps entries that concern one of these
	// patients and no other: what a patient may read of the trail. An
	// empty, non-nil list matches nothing.
	OnlyPatients []string
	Actions      []audit.Action
	Interactions []string
	Outcomes     []audit.Outcome
	// Sort keys, most significant first; ties break by sequence number.
	// Without keys: sequence order (the order of recording).
	Sort   []AuditSort
	Count  int // page size; 0 means 50
	Offset int
}

// AuditPage is one page of an audit report.
type AuditPage struct {
	Rows []*audit.Row
	More bool // entries follow this page
}
