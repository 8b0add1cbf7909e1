package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/store/sqlgen"
)

// columns accumulates index rows of one table column-wise, the shape
// INSERT ... SELECT FROM unnest(...) takes: one statement per table however
// many resources the transaction writes.
type columns struct {
	rkeys      []int64
	types      []string
	params     []string
	s1, s2, s3 []string
	s4         []string
	i1, i2     []int64
	f1, f2, f3 []float64
	comps      []int32
}

func (c *columns) row(rkey int64, typ, param string, comp int32) {
	c.rkeys = append(c.rkeys, rkey)
	c.types = append(c.types, typ)
	c.params = append(c.params, param)
	c.comps = append(c.comps, comp)
}

// reserve allocates the columns for n rows at their final size: s string
// columns besides type and param, i integer and f float columns.
func (c *columns) reserve(n, s, i, f int) {
	if n == 0 {
		return
	}
	c.rkeys, c.types, c.params, c.comps = make([]int64, 0, n), make([]string, 0, n), make([]string, 0, n), make([]int32, 0, n)
	for _, p := range []*[]string{&c.s1, &c.s2, &c.s3, &c.s4}[:s] {
		*p = make([]string, 0, n)
	}
	for _, p := range []*[]int64{&c.i1, &c.i2}[:i] {
		*p = make([]int64, 0, n)
	}
	for _, p := range []*[]float64{&c.f1, &c.f2, &c.f3}[:f] {
		*p = make([]float64, 0, n)
	}
}

// queueIndexRows queues the index rows of the final version of every
// resource that is not deleted.
func queueIndexRows(b *pgx.Batch, keys []key, states map[key]*state) {
	var tok, str, date, num, qty, ref, uri, cmt columns
	// Flatten first, so that every column is allocated once at its size.
	flat := make([]*sqlgen.Rows, len(keys))
	var n [8]int
	for i, k := range keys {
		st := states[k]
		if st.last.Deleted {
			continue
		}
		r := sqlgen.Flatten(&st.last.Index)
		flat[i] = r
		for t, m := range [...]int{len(r.Tokens), len(r.Strings), len(r.Dates), len(r.Numbers), len(r.Quantities), len(r.References), len(r.URIs), len(r.Compartments)} {
			n[t] += m
		}
	}
	tok.reserve(n[0], 2, 0, 0)
	str.reserve(n[1], 2, 0, 0)
	date.reserve(n[2], 0, 2, 0)
	num.reserve(n[3], 0, 0, 2)
	qty.reserve(n[4], 4, 0, 3)
	ref.reserve(n[5], 4, 0, 0)
	uri.reserve(n[6], 1, 0, 0)
	cmt.reserve(n[7], 2, 0, 0)
	for i, k := range keys {
		r := flat[i]
		if r == nil {
			continue
		}
		rk, typ := states[k].rkey, k.typ
		for _, x := range r.Tokens {
			tok.row(rk, typ, x.Param, x.Comp)
			tok.s1, tok.s2 = append(tok.s1, x.System), append(tok.s2, x.Code)
		}
		for _, x := range r.Strings {
			str.row(rk, typ, x.Param, x.Comp)
			str.s1, str.s2 = append(str.s1, x.Norm), append(str.s2, x.Exact)
		}
		for _, x := range r.Dates {
			date.row(rk, typ, x.Param, x.Comp)
			date.i1, date.i2 = append(date.i1, x.Low), append(date.i2, x.High)
		}
		for _, x := range r.Numbers {
			num.row(rk, typ, x.Param, x.Comp)
			num.f1, num.f2 = append(num.f1, x.Low), append(num.f2, x.High)
		}
		for _, x := range r.Quantities {
			qty.row(rk, typ, x.Param, x.Comp)
			qty.s1, qty.s2, qty.s3, qty.s4 = append(qty.s1, x.System), append(qty.s2, x.Code), append(qty.s3, x.Unit), append(qty.s4, x.CanonCode)
			qty.f1, qty.f2, qty.f3 = append(qty.f1, x.Low), append(qty.f2, x.High), append(qty.f3, x.CanonValue)
		}
		for _, x := range r.References {
			ref.row(rk, typ, x.Param, x.Comp)
			ref.s1, ref.s2, ref.s3, ref.s4 = append(ref.s1, x.TargetType), append(ref.s2, x.TargetID), append(ref.s3, x.URL), append(ref.s4, x.Version)
		}
		for _, x := range r.URIs {
			uri.row(rk, typ, x.Param, x.Comp)
			uri.s1 = append(uri.s1, x.Value)
		}
		for _, x := range r.Compartments {
			cmt.rkeys, cmt.types = append(cmt.rkeys, rk), append(cmt.types, typ)
			cmt.s1, cmt.s2 = append(cmt.s1, x.Type), append(cmt.s2, x.ID)
		}
	}
	if len(tok.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_token (rkey, type, param, system, code, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[])`,
			tok.rkeys, tok.types, tok.params, tok.s1, tok.s2, tok.comps)
	}
	if len(str.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_string (rkey, type, param, norm, exact, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[])`,
			str.rkeys, str.types, str.params, str.s1, str.s2, str.comps)
	}
	if len(date.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_date (rkey, type, param, low, high, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::integer[])`,
			date.rkeys, date.types, date.params, date.i1, date.i2, date.comps)
	}
	if len(num.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_number (rkey, type, param, low, high, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::integer[])`,
			num.rkeys, num.types, num.params, num.f1, num.f2, num.comps)
	}
	if len(qty.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_quantity (rkey, type, param, system, code, unit, low, high, canon_code, canon_value, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::text[], $10::float8[], $11::integer[])`,
			qty.rkeys, qty.types, qty.params, qty.s1, qty.s2, qty.s3, qty.f1, qty.f2, qty.s4, qty.f3, qty.comps)
	}
	if len(ref.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_reference (rkey, type, param, target_type, target_id, url, version, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[])`,
			ref.rkeys, ref.types, ref.params, ref.s1, ref.s2, ref.s3, ref.s4, ref.comps)
	}
	if len(uri.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_uri (rkey, type, param, value, comp)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::integer[])`,
			uri.rkeys, uri.types, uri.params, uri.s1, uri.comps)
	}
	if len(cmt.rkeys) > 0 {
		b.Queue(`INSERT INTO idx_compartment (rkey, type, ctype, cid)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`,
			cmt.rkeys, cmt.types, cmt.s1, cmt.s2)
	}
}
