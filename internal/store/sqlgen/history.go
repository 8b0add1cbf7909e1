package sqlgen

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// HistoryColumns are the columns a history statement returns, in order.
const HistoryColumns = "v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.json, v.rkey"

// Cursor is a position in a history listing, which is ordered by
// (last_updated, rkey, version) descending: the last row of a page.
type Cursor struct {
	LastUpdated, RKey, Version int64
}

// String encodes c for HistoryPage.Next.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d.%d", c.LastUpdated, c.RKey, c.Version))
}

// ParseCursor decodes HistoryQuery.After.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		_, err = fmt.Sscanf(string(raw), "%d.%d.%d", &c.LastUpdated, &c.RKey, &c.Version)
	}
	if err != nil {
		return c, errs.E("history", errs.Invalid, "invalid history cursor", err)
	}
	return c, nil
}

// History compiles q into a page statement (limit rows, after the cursor
// when q.After is set) and a statement counting every version q selects.
func History(d Dialect, q store.HistoryQuery, limit int) (page, count Stmt, err error) {
	b := &builder{d: d}
	var conds []string
	switch {
	case q.Type != "" && q.ID != "":
		conds = append(conds, "v.rkey = (SELECT rkey FROM resources WHERE type = "+b.arg(q.Type)+" AND id = "+b.arg(q.ID)+")")
	case q.Type != "":
		conds = append(conds, "v.type = "+b.arg(q.Type))
	}
	if !q.Since.IsZero() {
		conds = append(conds, "v.last_updated >= "+b.arg(Micros(q.Since)))
	}
	if !q.At.IsZero() {
		conds = append(conds, "v.last_updated <= "+b.arg(Micros(q.At)))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	count = Stmt{"SELECT count(*) FROM versions v" + where, append([]any(nil), b.args...)}
	if q.After != "" {
		c, err := ParseCursor(q.After)
		if err != nil {
			return page, count, err
		}
		cur := "(v.last_updated, v.rkey, v.version) < (" + b.arg(c.LastUpdated) + ", " + b.arg(c.RKey) + ", " + b.arg(c.Version) + ")"
		if where == "" {
			where = " WHERE " + cur
		} else {
			where += " AND " + cur
		}
	}
	page = Stmt{"SELECT " + HistoryColumns + " FROM versions v" + where +
		" ORDER BY v.last_updated DESC, v.rkey DESC, v.version DESC LIMIT " + b.arg(int64(limit)), b.args}
	return page, count, nil
}
