package sqlgen

import (
	"strconv"
	"time"
)

// Dialect is what differs between the SQL engines in the statements this
// package writes.
type Dialect interface {
	// Placeholder is the n-th (from 1) numbered parameter: "$1" or "?1".
	Placeholder(n int) string
	// Contains is a boolean expression: needle occurs in hay.
	Contains(hay, needle string) string
	// HasPrefix is a boolean expression: s starts with prefix (both are
	// expressions; prefix is usually a column).
	HasPrefix(s, prefix string) string
}

// Postgres is the PostgreSQL dialect.
type Postgres struct{}

func (Postgres) Placeholder(n int) string           { return "$" + strconv.Itoa(n) }
func (Postgres) Contains(hay, needle string) string { return "strpos(" + hay + ", " + needle + ") > 0" }
func (Postgres) HasPrefix(s, prefix string) string {
	return "starts_with(" + s + ", " + prefix + ")"
}

// SQLite is the SQLite dialect.
type SQLite struct{}

func (SQLite) Placeholder(n int) string           { return "?" + strconv.Itoa(n) }
func (SQLite) Contains(hay, needle string) string { return "instr(" + hay + ", " + needle + ") > 0" }
func (SQLite) HasPrefix(s, prefix string) string {
	return "substr(" + s + ", 1, length(" + prefix + ")) = " + prefix
}

// Micros is t as Unix microseconds, the stored form of every time (index
// dates and lastUpdated): an integer compares the same on both engines and
// covers year 1 to 9999.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the inverse of Micros, in UTC.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// prefixEnd is appended to a prefix to form the exclusive upper bound of a
// byte-wise range scan: U+10FFFF is the largest code point, so every string
// that starts with the prefix (bar those continuing with U+10FFFF itself)
// sorts below prefix+prefixEnd. Unlike LIKE, a range needs no escaping and
// uses a plain B-tree index on both engines (columns use byte order).
const prefixEnd = "\U0010FFFF"
