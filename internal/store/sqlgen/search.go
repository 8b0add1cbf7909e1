package sqlgen

import (
	"math"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Stmt is a statement and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// PageColumns are the columns a Page statement returns, in order:
// type, id, version, last_updated, method, json.
const PageColumns = "r.type, r.id, r.version, r.last_updated, v.method, v.json"

type builder struct {
	d     Dialect
	args  []any
	alias int
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func (b *builder) newAlias(prefix string) string {
	b.alias++
	return prefix + itoa(b.alias)
}

// in is "col = ?" or "col IN (?, ...)".
func (b *builder) in(col string, vals []string) string {
	if len(vals) == 1 {
		return col + " = " + b.arg(vals[0])
	}
	var s strings.Builder
	s.WriteString(col)
	s.WriteString(" IN (")
	for i, v := range vals {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(b.arg(v))
	}
	s.WriteString(")")
	return s.String()
}

// Page compiles q into a statement returning PageColumns for one page of
// matches plus one more row (so the caller can tell whether there are more).
// A Count of zero or less means no limit.
func Page(d Dialect, q *store.Query) (Stmt, error) {
	b := &builder{d: d}
	where, err := b.filter("r", q.Types, q.Where)
	if err != nil {
		return Stmt{}, err
	}
	var s strings.Builder
	s.WriteString("SELECT " + PageColumns + " FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version WHERE ")
	s.WriteString(where)
	s.WriteString(" ORDER BY ")
	for _, k := range q.Sort {
		expr, err := b.sortExpr("r", k)
		if err != nil {
			return Stmt{}, err
		}
		s.WriteString(expr)
		if k.Desc {
			s.WriteString(" DESC NULLS LAST, ")
		} else {
			s.WriteString(" ASC NULLS LAST, ")
		}
	}
	s.WriteString("r.type, r.id")
	limit := int64(math.MaxInt32)
	if q.Count > 0 {
		limit = int64(q.Count) + 1
	}
	s.WriteString(" LIMIT " + b.arg(limit))
	if q.Offset > 0 {
		s.WriteString(" OFFSET " + b.arg(int64(q.Offset)))
	}
	return Stmt{s.String(), b.args}, nil
}

// Count compiles q into a statement returning the number of matches. A
// query of a single plain predicate counts rows of that predicate's index
// table alone, the narrowest possible scan: index rows exist only for
// current, non-deleted versions, so no join with resources is needed.
func Count(d Dialect, q *store.Query) (Stmt, error) {
	b := &builder{d: d}
	if len(q.Where) == 1 && len(q.Where[0].Or) == 1 {
		p := &q.Where[0].Or[0]
		if plain(p) {
			table, param := rowTarget(p)
			a := "a"
			cond, err := b.cond(a, p)
			if err != nil {
				return Stmt{}, err
			}
			agg := "count(DISTINCT a.rkey)"
			if uniquePerResource(p) {
				agg = "count(*)"
			}
			sql := "SELECT " + agg + " FROM " + table + " a WHERE a.param = " + b.arg(param)
			if len(q.Types) > 0 {
				sql += " AND " + b.in("a.type", q.Types)
			}
			return Stmt{sql + " AND " + cond, b.args}, nil
		}
	}
	where, err := b.filter("r", q.Types, q.Where)
	if err != nil {
		return Stmt{}, err
	}
	return Stmt{"SELECT count(*) FROM resources r WHERE " + where, b.args}, nil
}

// plain reports whether p is a positive match on rows of one index table.
func plain(p *store.Predicate) bool {
	if p.Chain != nil || p.Has != nil || p.Negate || p.Op == store.OpNot || p.Op == store.OpMissing || p.Op == store.OpNe {
		return false
	}
	switch p.Kind {
	case store.KindToken, store.KindString, store.KindDate, store.KindNumber,
		store.KindQuantity, store.KindReference, store.KindURI:
		return true
	}
	return false
}

// uniquePerResource reports whether at most one row per resource can match
// p: token rows are unique on (param, system, code) per resource.
func uniquePerResource(p *store.Predicate) bool {
	return p.Kind == store.KindToken && !p.AnySystem && p.Code != "" &&
		(p.Op == store.OpEq || p.Op == store.OpOfType)
}

// filter is the condition on resources alias r: current, not deleted, of
// one of types, matching every clause.
func (b *builder) filter(r string, types []string, where []store.Clause) (string, error) {
	conds := []string{"NOT " + r + ".deleted"}
	if len(types) > 0 {
		conds = append(conds, b.in(r+".type", types))
	}
	for _, c := range where {
		if len(c.Or) == 0 {
			continue
		}
		ors := make([]string, 0, len(c.Or))
		for i := range c.Or {
			s, err := b.pred(r, types, &c.Or[i])
			if err != nil {
				return "", err
			}
			ors = append(ors, s)
		}
		if len(ors) == 1 {
			conds = append(conds, ors[0])
		} else {
			conds = append(conds, "("+strings.Join(ors, " OR ")+")")
		}
	}
	return strings.Join(conds, " AND "), nil
}

func table(k store.Kind) string {
	switch k {
	case store.KindToken, store.KindID:
		return "idx_token"
	case store.KindString:
		return "idx_string"
	case store.KindDate:
		return "idx_date"
	case store.KindNumber:
		return "idx_number"
	case store.KindQuantity:
		return "idx_quantity"
	case store.KindReference:
		return "idx_reference"
	case store.KindURI:
		return "idx_uri"
	}
	return ""
}

// rowTarget is the table and stored parameter code whose rows p matches.
func rowTarget(p *store.Predicate) (string, string) {
	if p.Kind == store.KindToken {
		switch p.Op {
		case store.OpText:
			return "idx_string", p.Param + TextSuffix
		case store.OpOfType:
			return "idx_token", p.Param + OfTypeSuffix
		}
	}
	return table(p.Kind), p.Param
}

func (b *builder) pred(r string, types []string, p *store.Predicate) (string, error) {
	s, err := b.pred0(r, types, p)
	if err != nil {
		return "", err
	}
	if p.Negate {
		s = "NOT (" + s + ")"
	}
	return s, nil
}

func (b *builder) pred0(r string, types []string, p *store.Predicate) (string, error) {
	switch {
	case p.Chain != nil:
		return b.chain(r, types, p)
	case p.Has != nil:
		return b.has(r, types, p)
	}
	switch p.Kind {
	case store.KindID:
		if p.Op == store.OpMissing {
			return boolSQL(!p.Missing), nil
		}
		s := r + ".id = " + b.arg(p.Code)
		if p.Op == store.OpNot || p.Op == store.OpNe {
			s = "NOT (" + s + ")"
		}
		return s, nil
	case store.KindLastUpdated:
		if p.Op == store.OpMissing {
			return boolSQL(!p.Missing), nil
		}
		return b.dateCond(p, r+".last_updated", r+".last_updated")
	case store.KindCompartment:
		a := b.newAlias("c")
		s := r + ".rkey IN (SELECT " + a + ".rkey FROM idx_compartment " + a + " WHERE " + a + ".ctype = " +
			b.arg(p.Compartment.Type) + " AND " + a + ".cid = " + b.arg(p.Compartment.ID)
		if len(types) > 0 {
			s += " AND " + b.in(a+".type", types)
		}
		return s + ")", nil
	case store.KindComposite:
		return b.composite(r, types, p)
	}
	tbl, param := rowTarget(p)
	if tbl == "" {
		return "", errs.E("compile search", errs.NotSupported, errs.Errorf(errs.NotSupported, "search on parameter %q of unknown kind %d", p.Param, p.Kind))
	}
	a := b.newAlias("x")
	var cond string
	if p.Op != store.OpMissing {
		var err error
		if cond, err = b.cond(a, p); err != nil {
			return "", err
		}
	}
	s := r + ".rkey IN (SELECT " + a + ".rkey FROM " + tbl + " " + a + " WHERE " + a + ".param = " + b.arg(param)
	if len(types) > 0 {
		s += " AND " + b.in(a+".type", types)
	}
	if cond != "" {
		s += " AND " + cond
	}
	s += ")"
	if (p.Op == store.OpMissing && p.Missing) || p.Op == store.OpNot {
		s = "NOT (" + s + ")"
	}
	return s, nil
}

func boolSQL(v bool) string {
	if v {
		return "1 = 1"
	}
	return "1 = 0"
}

// chain matches resources whose reference p.Param points at a current
// resource of p.Chain.Types matching p.Chain.Where: a semi-join through
// idx_reference and the (type, id) key of resources.
func (b *builder) chain(r string, types []string, p *store.Predicate) (string, error) {
	f, t := b.newAlias("f"), b.newAlias("t")
	sub, err := b.filter(t, p.Chain.Types, p.Chain.Where)
	if err != nil {
		return "", err
	}
	s := r + ".rkey IN (SELECT " + f + ".rkey FROM idx_reference " + f + " JOIN resources " + t +
		" ON " + t + ".type = " + f + ".target_type AND " + t + ".id = " + f + ".target_id WHERE " +
		f + ".param = " + b.arg(p.Param)
	if len(types) > 0 {
		s += " AND " + b.in(f+".type", types)
	}
	return s + " AND " + sub + ")", nil
}

// has matches resources referenced through p.Has.Param by a current
// resource of p.Has.Query.Types matching p.Has.Query.Where (_has).
func (b *builder) has(r string, types []string, p *store.Predicate) (string, error) {
	h := p.Has
	if h.Query == nil {
		h = &store.Has{Param: h.Param, Query: &store.Query{}}
	}
	f, t, s := b.newAlias("f"), b.newAlias("t"), b.newAlias("s")
	sub, err := b.filter(s, h.Query.Types, h.Query.Where)
	if err != nil {
		return "", err
	}
	out := r + ".rkey IN (SELECT " + t + ".rkey FROM idx_reference " + f + " JOIN resources " + t +
		" ON " + t + ".type = " + f + ".target_type AND " + t + ".id = " + f + ".target_id WHERE " +
		f + ".param = " + b.arg(h.Param)
	if len(h.Query.Types) > 0 {
		out += " AND " + b.in(f+".type", h.Query.Types)
	}
	if len(types) > 0 {
		out += " AND " + b.in(t+".type", types)
	}
	return out + " AND " + f + ".rkey IN (SELECT " + s + ".rkey FROM resources " + s + " WHERE " + sub + "))", nil
}

// composite matches when one composite value has every component matching:
// component rows of one value share rkey, param and comp / CompStride.
func (b *builder) composite(r string, types []string, p *store.Predicate) (string, error) {
	if len(p.Components) == 0 {
		return "1 = 0", nil
	}
	stride := itoa(CompStride)
	aliases := make([]string, len(p.Components))
	var from, where strings.Builder
	for i := range p.Components {
		c := &p.Components[i]
		tbl := table(c.Kind)
		if tbl == "" || c.Kind == store.KindID {
			return "", errs.Errorf(errs.NotSupported, "composite component of kind %d", c.Kind)
		}
		a := b.newAlias("k")
		aliases[i] = a
		cond, err := b.cond(a, c)
		if err != nil {
			return "", err
		}
		if i == 0 {
			from.WriteString(tbl + " " + a)
			where.WriteString(a + ".param = " + b.arg(p.Param))
			if len(types) > 0 {
				where.WriteString(" AND " + b.in(a+".type", types))
			}
			where.WriteString(" AND " + a + ".comp >= " + stride + " AND " + a + ".comp % " + stride + " = 0")
		} else {
			a0 := aliases[0]
			from.WriteString(" JOIN " + tbl + " " + a + " ON " + a + ".rkey = " + a0 + ".rkey AND " +
				a + ".param = " + a0 + ".param AND " + a + ".comp / " + stride + " = " + a0 + ".comp / " + stride +
				" AND " + a + ".comp % " + stride + " = " + itoa(i))
		}
		where.WriteString(" AND " + cond)
	}
	return r + ".rkey IN (SELECT " + aliases[0] + ".rkey FROM " + from.String() + " WHERE " + where.String() + ")", nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
