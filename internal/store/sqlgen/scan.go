package sqlgen

import (
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// ScanColumns are the columns a scan statement returns, in order.
const ScanColumns = "r.rkey, r.type, r.id, r.version, r.last_updated, v.method, v.json"

// ScanCursor encodes the resources key of a scan page's last row. A plain
// decimal is enough: the key of a resource never changes, and keys of new
// resources only grow, so the order is stable across processes and a
// person can copy the cursor from a progress line to resume a job.
func ScanCursor(rkey int64) string { return strconv.FormatInt(rkey, 10) }

// Scan compiles q into one page statement over current, non-deleted
// resources in key order (the primary key, so an untyped page is a range
// read).
func Scan(d Dialect, q store.ScanQuery, limit int) (Stmt, error) {
	b := &builder{d: d}
	var after int64
	if q.After != "" {
		n, err := strconv.ParseInt(q.After, 10, 64)
		if err != nil || n < 0 {
			return Stmt{}, errs.E("scan", errs.Invalid, "invalid scan cursor "+strconv.Quote(q.After))
		}
		after = n
	}
	conds := []string{"r.rkey > " + b.arg(after), "NOT r.deleted"}
	if len(q.Types) > 0 {
		ph := make([]string, len(q.Types))
		for i, t := range q.Types {
			ph[i] = b.arg(t)
		}
		conds = append(conds, "r.type IN ("+strings.Join(ph, ", ")+")")
	}
	// The page is chosen on resources alone and only its rows are joined
	// to versions: joined first, a planner without fresh statistics (right
	// after an import) looked up the version of every remaining resource
	// for each page.
	return Stmt{"SELECT " + ScanColumns + " FROM (SELECT r.rkey, r.type, r.id, r.version, r.last_updated FROM resources r WHERE " +
		strings.Join(conds, " AND ") + " ORDER BY r.rkey LIMIT " + b.arg(int64(limit)) +
		") r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version ORDER BY r.rkey", b.args}, nil
}
