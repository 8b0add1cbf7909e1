package sqlgen

import (
	"math"
	"strings"

	"github.com/openchart/openchart/internal/store"
)

// A query of one type with an `_id` equality names at most one resource:
// the access policy's read by id (the id under the principal's clauses,
// Count 1) and searches such as Patient?_id=X. Page compiles it as a
// lookup of that resource by its (type, id) key with every other clause
// checked on that one row, the versions row joined directly: no page of
// candidates to materialize and sort, and the policy's hidden labels are
// probes of the row's own index entries (idx_token_code ends with rkey)
// rather than lists of every resource bearing the label.
//
// On SQLite the key and the label values are bound behind CAST(? AS
// TEXT). With STAT4 statistics the planner reads the value bound to a
// parameter compared with a sampled column, and marks the statement to be
// prepared again whenever a new value is bound: every execution of a
// cached statement was parsed and planned a second time (a fifth of the
// CPU of a read by id over HTTP). A value behind CAST is not read at
// planning time, and the plan of a lookup by a unique key cannot depend on
// it. The comparison is unchanged: the values are text, as are the
// columns.

// KeyLookup reports whether Page compiles q as a lookup of one resource by
// key. Its page holds the whole result (at most one row), so no count
// follows it when q.Count > 0.
func KeyLookup(q *store.Query) bool { return keyClause(q) >= 0 }

// keyClause is the index of q's `_id` equality clause, or -1 when q is not
// a lookup by key (several types or none, a sort or an offset, several
// ids).
func keyClause(q *store.Query) int {
	if len(q.Types) != 1 || len(q.Sort) > 0 || q.Offset > 0 {
		return -1
	}
	for i, c := range q.Where {
		if len(c.Or) != 1 {
			continue
		}
		p := &c.Or[0]
		if p.Kind == store.KindID && p.Op == store.OpEq && !p.Negate && p.Chain == nil && p.Has == nil {
			return i
		}
	}
	return -1
}

// pageByKey is Page for a lookup by key (keyClause k).
func pageByKey(d Dialect, q *store.Query, k int) (Stmt, error) {
	b := &builder{d: d}
	typ := q.Types[0]
	conds := []string{"r.type = " + b.keyArg(typ), "r.id = " + b.keyArg(q.Where[k].Or[0].Code), "NOT r.deleted"}
	for i, c := range q.Where {
		if i == k || len(c.Or) == 0 {
			continue
		}
		if len(c.Or) == 1 && absentToken(&c.Or[0]) {
			conds = append(conds, b.absent(typ, &c.Or[0]))
			continue
		}
		ors := make([]string, 0, len(c.Or))
		for j := range c.Or {
			s, err := b.pred("r", q.Types, &c.Or[j])
			if err != nil {
				return Stmt{}, err
			}
			ors = append(ors, s)
		}
		if len(ors) == 1 {
			conds = append(conds, ors[0])
		} else {
			conds = append(conds, "("+strings.Join(ors, " OR ")+")")
		}
	}
	limit := int64(math.MaxInt32)
	if q.Count > 0 {
		limit = int64(q.Count) + 1
	}
	sql := "SELECT r.type, r.id, r.version, r.last_updated, v.method, v.json FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version WHERE " +
		strings.Join(conds, " AND ") + " LIMIT " + b.arg(limit)
	return Stmt{sql, b.args}, nil
}

// absentToken reports whether p is a token :not match (the policy's hidden
// labels): no index row of p.Param matches.
func absentToken(p *store.Predicate) bool {
	return p.Kind == store.KindToken && p.Op == store.OpNot && !p.Negate && p.Chain == nil && p.Has == nil
}

// absent is absentToken's p as a probe of the candidate's own rows by the
// full key of idx_token_code (type, param, code, system, rkey).
func (b *builder) absent(typ string, p *store.Predicate) string {
	a := b.newAlias("x")
	s := "NOT EXISTS (SELECT 1 FROM idx_token " + a + " WHERE " + a + ".type = " + b.keyArg(typ) + " AND " + a + ".param = " + b.keyArg(p.Param)
	switch {
	case p.AnySystem:
		s += " AND " + a + ".code = " + b.keyArg(p.Code)
	case p.Code == "":
		s += " AND " + a + ".system = " + b.keyArg(p.System)
	default:
		s += " AND " + a + ".code = " + b.keyArg(p.Code) + " AND " + a + ".system = " + b.keyArg(p.System)
	}
	return s + " AND " + a + ".rkey = r.rkey)"
}

// keyArg binds a text value of a lookup by key; on SQLite behind CAST, so
// that binding it does not expire the prepared statement (see above).
func (b *builder) keyArg(v string) string {
	if _, ok := b.d.(SQLite); ok {
		return "CAST(" + b.arg(v) + " AS TEXT)"
	}
	return b.arg(v)
}
