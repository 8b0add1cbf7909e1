package sqlgen

import (
	"math"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Stmt is a statement and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// A Page statement returns, in order: type, id, version, last_updated,
// method, json.

type builder struct {
	d     Dialect
	args  []any
	alias int
	// probe makes a plain predicate a correlated EXISTS (a probe per
	// candidate row) rather than a semi-join on the whole matching set.
	probe bool
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
//
// The page is chosen on resources and the index tables alone, and only its
// rows are joined with versions: sorting every match with its JSON would
// read the document of every match, not of the page's.
func Page(d Dialect, q *store.Query) (Stmt, error) {
	if k := keyClause(q); k >= 0 {
		return pageByKey(d, q, k) // bykey.go
	}
	b := &builder{d: d}
	where, err := b.filter("r", q.Types, q.Where)
	if err != nil {
		return Stmt{}, err
	}
	var inner, outer strings.Builder
	inner.WriteString("SELECT r.rkey, r.type, r.id, r.version, r.last_updated")
	var order, outerOrder strings.Builder
	for i, k := range q.Sort {
		expr, err := b.sortExpr("r", k)
		if err != nil {
			return Stmt{}, err
		}
		col := "k" + itoa(i+1)
		inner.WriteString(", " + expr + " AS " + col)
		dir := " ASC NULLS LAST, "
		if k.Desc {
			dir = " DESC NULLS LAST, "
		}
		order.WriteString(col + dir)
		outerOrder.WriteString("p." + col + dir)
	}
	inner.WriteString(" FROM resources r WHERE ")
	inner.WriteString(where)
	inner.WriteString(" ORDER BY ")
	inner.WriteString(order.String())
	inner.WriteString("r.type, r.id")
	limit := int64(math.MaxInt32)
	if q.Count > 0 {
		limit = int64(q.Count) + 1
	}
	inner.WriteString(" LIMIT " + b.arg(limit))
	if q.Offset > 0 {
		inner.WriteString(" OFFSET " + b.arg(int64(q.Offset)))
	}
	outer.WriteString("SELECT p.type, p.id, p.version, p.last_updated, v.method, v.json FROM (")
	outer.WriteString(inner.String())
	outer.WriteString(") p JOIN versions v ON v.rkey = p.rkey AND v.version = p.version ORDER BY ")
	outer.WriteString(outerOrder.String())
	outer.WriteString("p.type, p.id")
	return Stmt{outer.String(), b.args}, nil
}

// Count compiles q into a statement returning the number of matches. A
// query of a single plain predicate counts rows of that predicate's index
// table alone, the narrowest possible scan: index rows exist only for
// current, non-deleted versions, so no join with resources is needed.
//
// Negated clauses (":not", and the access policy's hidden labels) keep
// that form: they are checked against the index row's rkey, so a count
// by one code under the policy is still a scan of that code's index rows
// minus the few labelled resources, not a join with every resource.
func Count(d Dialect, q *store.Query) (Stmt, error) {
	b := &builder{d: d}
	if len(q.Where) >= 1 && len(q.Where[0].Or) == 1 && slices.IndexFunc(q.Where[1:], func(c store.Clause) bool { return !negatedOnly(c) }) < 0 {
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
			sql += " AND " + cond
			for _, c := range q.Where[1:] {
				ors := make([]string, 0, len(c.Or))
				for i := range c.Or {
					s, err := b.pred(a, q.Types, &c.Or[i])
					if err != nil {
						return Stmt{}, err
					}
					ors = append(ors, s)
				}
				sql += " AND (" + strings.Join(ors, " OR ") + ")"
			}
			return Stmt{sql, b.args}, nil
		}
	}
	where, err := b.filter("r", q.Types, q.Where)
	if err != nil {
		return Stmt{}, err
	}
	return Stmt{"SELECT count(*) FROM resources r WHERE " + where, b.args}, nil
}

// negatedOnly reports whether every value of c is a negated match on rows
// of an index table ("NOT (rkey IN (...))"): a condition on the rkey
// alone, which an index row has as well as a resource row.
func negatedOnly(c store.Clause) bool {
	if len(c.Or) == 0 {
		return false
	}
	for i := range c.Or {
		p := &c.Or[i]
		if p.Chain != nil || p.Has != nil || p.Negate || p.Op != store.OpNot {
			return false
		}
		switch p.Kind {
		case store.KindToken, store.KindString, store.KindURI, store.KindReference:
		default:
			return false
		}
	}
	return true
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
//
// A clause whose every value is a positive semi-join on index rows of
// types already confines r to types (index rows carry their resource's
// type), so the type test on r is left out: kept, it lets SQLite, without
// statistics, walk every resource of the type and probe the semi-join
// instead of reaching the few matches by key.
func (b *builder) filter(r string, types []string, where []store.Clause) (string, error) {
	conds := []string{"NOT " + r + ".deleted"}
	if len(types) > 0 && !slices.ContainsFunc(where, typedClause) {
		conds = append(conds, b.in(r+".type", types))
	}
	where = bySelectivity(where)
	// After a reference to one resource has given the few candidates, the
	// other plain clauses are checked per candidate instead of listing
	// every resource they match ("category=vital-signs" matches
	// thousands): SQLite materializes every uncorrelated IN list it
	// probes, and PostgreSQL, without statistics, probed such a list's
	// query index with the candidate's rkey as a mere filter.
	narrow := len(where) > 1 && clauseRank(where[0]) == 0 && typedClause(where[0])
	for ci, c := range where {
		if len(c.Or) == 0 {
			continue
		}
		ors := make([]string, 0, len(c.Or))
		for i := range c.Or {
			b.probe = narrow && ci > 0 && len(c.Or) == 1 && clauseRank(c) <= 2
			s, err := b.pred(r, types, &c.Or[i])
			b.probe = false
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

// bySelectivity orders clauses (an AND, so the order changes no result) by
// how few resources they usually match, most selective first. SQLite
// drives the search from the first semi-join and probes the others, so
// "this patient's vital signs" starts from the patient's references, not
// from every vital sign.
func bySelectivity(where []store.Clause) []store.Clause {
	if len(where) < 2 {
		return where
	}
	out := slices.Clone(where)
	slices.SortStableFunc(out, func(a, b store.Clause) int { return clauseRank(a) - clauseRank(b) })
	return out
}

// clauseRank: 0 for a reference to one resource or an _id, 1 for other
// equality matches (tokens, strings, uris), 2 for ranges, chains and _has,
// 3 for negations and clauses of several values.
func clauseRank(c store.Clause) int {
	if len(c.Or) != 1 {
		return 3
	}
	p := &c.Or[0]
	if p.Negate || p.Op == store.OpNot || p.Op == store.OpMissing || p.Op == store.OpNe {
		return 3
	}
	if p.Chain != nil || p.Has != nil {
		return 2
	}
	switch p.Kind {
	case store.KindID:
		return 0
	case store.KindReference:
		if p.TargetID != "" || p.URL != "" {
			return 0
		}
	case store.KindToken, store.KindString, store.KindURI:
		return 1
	}
	return 2
}

// typedClause reports whether every value of c compiles to a positive
// semi-join whose subquery restricts the index rows' type to the query's
// types (pred0 adds that restriction whenever types is not empty).
func typedClause(c store.Clause) bool {
	if len(c.Or) == 0 {
		return false
	}
	for i := range c.Or {
		p := &c.Or[i]
		if p.Negate {
			return false
		}
		switch {
		case p.Chain != nil, p.Has != nil:
			continue
		case p.Kind == store.KindComposite:
			if len(p.Components) == 0 {
				return false
			}
			continue
		case p.Kind == store.KindCompartment:
			if p.Owners != nil || p.Compartment.ID == "" {
				return false // may be a probe of the candidate, which does not confine its type
			}
			continue
		}
		if !plain(p) {
			return false
		}
		if tbl, _ := rowTarget(p); tbl == "" {
			return false
		}
	}
	return true
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
		if p.Owners != nil {
			return b.owners(r, types, p)
		}
		a := b.newAlias("c")
		if p.Compartment.ID == "" {
			// In any compartment of the type: a probe of the candidate's
			// own rows (negated, the policy's "data of no patient").
			return "EXISTS (SELECT 1 FROM idx_compartment " + a + " WHERE " + a + ".rkey = " + r + ".rkey AND " + a + ".ctype = " +
				b.arg(p.Compartment.Type) + ")", nil
		}
		s := r + ".rkey IN (SELECT " + a + ".rkey FROM idx_compartment " + a + " WHERE " + a + ".ctype = " +
			b.arg(p.Compartment.Type) + " AND " + a + ".cid = " + b.arg(p.Compartment.ID)
		if len(types) > 0 {
			s += " AND " + b.in(a+".type", types)
		}
		return s + ")", nil
	case store.KindType:
		if len(p.InTypes) == 0 {
			return "1 = 0", nil
		}
		return b.in(r+".type", p.InTypes), nil
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
	pa := b.arg(param)
	negated := (p.Op == store.OpMissing && p.Missing) || p.Op == store.OpNot
	s := r + ".rkey IN (SELECT " + a + ".rkey FROM " + tbl + " " + a + " WHERE " + a + ".param = " + pa
	typ := a + ".type"
	switch {
	case b.probe && p.Op != store.OpMissing:
		// The type and parameter are kept from selecting a query index:
		// without statistics both engines would otherwise scan every row
		// of the value for each candidate instead of the candidate's
		// rows by rkey.
		s = "EXISTS (SELECT 1 FROM " + tbl + " " + a + " WHERE " + a + ".rkey = " + r + ".rkey AND " + b.noIndex(a+".param") + " = " + pa
		typ = b.noIndex(typ)
	case negated && b.antiJoin(types):
		s = "EXISTS (SELECT 1 FROM " + tbl + " " + a + " WHERE " + a + ".rkey = " + r + ".rkey AND " + a + ".param = " + pa
	}
	if len(types) > 0 {
		s += " AND " + b.in(typ, types)
	}
	if cond != "" {
		s += " AND " + cond
	}
	s += ")"
	if negated {
		s = "NOT (" + s + ")"
	}
	return s, nil
}

// antiJoinTypes is the number of types above which PostgreSQL gets a
// negation as NOT EXISTS.
const antiJoinTypes = 4

// antiJoin reports whether a negated match on index rows of types is
// written as NOT EXISTS correlated on the candidate's rkey rather than NOT
// IN over the whole matching set.
//
// SQLite materializes the NOT IN set once and probes it: always NOT IN.
// PostgreSQL makes NOT IN a hashed subplan, whose cost (a probe of the
// query index per type) it charges again for every candidate of a
// nested loop. With a long list of types, as in a patient's whole
// compartment ($everything: 66 types), that made it scan every resource
// instead of reading the compartment's few hundred rows by key (100 ms
// against 2 ms at 757 k resources), under the access policy's
// hidden-label negations that every query has. NOT EXISTS is an anti-join
// it drives from the compartment. With few types NOT IN stays: there the
// anti-join was slower (the searches and counts of the benchmark's query
// mix ran 7-65% slower with it).
func (b *builder) antiJoin(types []string) bool {
	_, ok := b.d.(Postgres)
	return ok && len(types) > antiJoinTypes
}

// noIndex is col in a form no index on it can answer: unary plus on
// SQLite, a concatenation on PostgreSQL.
func (b *builder) noIndex(col string) string {
	if _, ok := b.d.(SQLite); ok {
		return "+" + col
	}
	return "(" + col + " || '')"
}

func boolSQL(v bool) string {
	if v {
		return "1 = 1"
	}
	return "1 = 0"
}

// chain matches resources whose reference p.Param points at a current
// resource of p.Chain.Types matching p.Chain.Where: a semi-join through
// idx_reference and the (type, id) key of resources. The targets are
// found first and the references to them looked up by target
// (idx_reference_target): a chain's condition is usually far more
// selective than "has a reference". CROSS JOIN fixes that order on SQLite
// (PostgreSQL plans it as an inner join).
func (b *builder) chain(r string, types []string, p *store.Predicate) (string, error) {
	f, t := b.newAlias("f"), b.newAlias("t")
	sub, err := b.filter(t, p.Chain.Types, p.Chain.Where)
	if err != nil {
		return "", err
	}
	s := r + ".rkey IN (SELECT " + f + ".rkey FROM resources " + t + " CROSS JOIN idx_reference " + f +
		" WHERE " + sub + " AND " + f + ".target_id = " + t + ".id AND " + f + ".target_type = " + t + ".type AND " +
		f + ".param = " + b.arg(p.Param)
	if len(types) > 0 {
		s += " AND " + b.in(f+".type", types)
	}
	return s + ")", nil
}

// owners matches resources in the compartment of any current resource of
// type p.Compartment.Type matching p.Owners.Where.
//
// On PostgreSQL it is a probe per candidate (the candidate's compartment
// rows by rkey, their owners by (type, id)): the access policy adds it to
// every query of a restricted principal, and a set of every resource of
// every permitted owner would make the read of one resource cost the size
// of an organization's records. SQLite re-runs the subqueries inside a
// correlated probe for every candidate, so there the owners are found
// first and their compartments' rows looked up by owner
// (idx_compartment_owner), once per statement.
func (b *builder) owners(r string, types []string, p *store.Predicate) (string, error) {
	o, a := b.newAlias("w"), b.newAlias("c")
	sub, err := b.filter(o, []string{p.Compartment.Type}, p.Owners.Where)
	if err != nil {
		return "", err
	}
	ctype := b.arg(p.Compartment.Type)
	if _, ok := b.d.(SQLite); ok {
		s := r + ".rkey IN (SELECT " + a + ".rkey FROM resources " + o + " CROSS JOIN idx_compartment " + a +
			" WHERE " + sub + " AND " + a + ".ctype = " + ctype + " AND " + a + ".cid = " + o + ".id"
		if len(types) > 0 {
			s += " AND " + b.in(a+".type", types)
		}
		return s + ")", nil
	}
	return "EXISTS (SELECT 1 FROM idx_compartment " + a + " JOIN resources " + o + " ON " + o + ".type = " + a + ".ctype AND " +
		o + ".id = " + a + ".cid WHERE " + a + ".rkey = " + r + ".rkey AND " + a + ".ctype = " + ctype + " AND " + sub + ")", nil
}

// has matches resources referenced through p.Has.Param by a current
// resource of p.Has.Query.Types matching p.Has.Query.Where (_has): the
// (type, id) of r is among the targets of the matching references. Index
// rows exist only for current, non-deleted resources, so the referring
// resource needs a resources row only when a condition looks at it (_id,
// _lastUpdated, a nested _has); otherwise its conditions apply to the
// reference row's key directly.
func (b *builder) has(r string, types []string, p *store.Predicate) (string, error) {
	h := p.Has
	if h.Query == nil {
		h = &store.Has{Param: h.Param, Query: &store.Query{}}
	}
	f := b.newAlias("f")
	out := "(" + r + ".type, " + r + ".id) IN (SELECT " + f + ".target_type, " + f + ".target_id FROM idx_reference " + f +
		" WHERE " + f + ".param = " + b.arg(h.Param)
	if len(h.Query.Types) > 0 {
		out += " AND " + b.in(f+".type", h.Query.Types)
	}
	if len(types) > 0 {
		out += " AND " + b.in(f+".target_type", types)
	}
	if keyOnly(h.Query.Where) {
		for _, c := range h.Query.Where {
			if len(c.Or) == 0 {
				continue
			}
			ors := make([]string, 0, len(c.Or))
			for i := range c.Or {
				s, err := b.pred(f, h.Query.Types, &c.Or[i])
				if err != nil {
					return "", err
				}
				ors = append(ors, s)
			}
			out += " AND " + once(strings.Join(ors, " OR "))
		}
		return out + ")", nil
	}
	s := b.newAlias("s")
	sub, err := b.filter(s, h.Query.Types, h.Query.Where)
	if err != nil {
		return "", err
	}
	return out + " AND " + once(f+".rkey IN (SELECT "+s+".rkey FROM resources "+s+" WHERE "+sub+")") + ")", nil
}

// once wraps a condition on the rows of a _has reference scan, which reads
// every reference of its parameter: "(...) IS TRUE" keeps PostgreSQL from
// turning the semi-joins inside into joins, so each subquery runs once
// (a hashed subplan) instead of once per reference when, without
// statistics, the planner takes every set for a single row. The
// conditions are never NULL, so the result is unchanged.
func once(cond string) string {
	return "(" + cond + ") IS TRUE"
}

// keyOnly reports whether every predicate of where is a condition on the
// resource key alone (a semi-join on index rows), needing no column of
// the resources row.
func keyOnly(where []store.Clause) bool {
	for _, c := range where {
		for i := range c.Or {
			p := &c.Or[i]
			if p.Has != nil {
				return false
			}
			if p.Chain != nil {
				continue
			}
			if p.Kind == store.KindID || p.Kind == store.KindLastUpdated || p.Kind == store.KindType {
				return false
			}
		}
	}
	return true
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
