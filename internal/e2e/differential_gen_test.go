package e2e

// The query generator of the differential test: values are drawn from the
// loaded resources' own search-index rows, so every parameter type the
// data has is exercised with values that exist.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// diffItem is one stored resource with its search-index rows.
type diffItem struct {
	typ, id string
	ix      store.Index
	res     map[string]any
}

func (it *diffItem) key() string { return it.typ + "/" + it.id }

// diffRef is a reference from a resource, through a parameter.
type diffRef struct {
	from  *diffItem
	param string
}

// diffPool holds the loaded data, read back from a store and indexed, as
// the source of query values.
type diffPool struct {
	d      *defs.Definitions
	r      *rand.Rand
	items  map[string]*diffItem
	byType map[string][]*diffItem
	types  []string
	// refsTo maps Type/id to the references pointing at it.
	refsTo map[string][]diffRef
}

func newDiffPool(t *testing.T, a *app.App) *diffPool {
	p := &diffPool{d: a.Defs, r: rand.New(rand.NewPCG(diffSeed, diffSeed>>3)),
		items: map[string]*diffItem{}, byType: map[string][]*diffItem{}, refsTo: map[string][]diffRef{}}
	for _, typ := range a.Defs.ResourceTypes() {
		res, err := a.Repo.Search(opCtx(), &store.Query{Types: []string{typ}})
		if err != nil {
			t.Fatalf("reading %s back: %v", typ, err)
		}
		for _, rec := range res.Records {
			r, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ix, err := a.Indexer.Index(r)
			if err != nil {
				t.Fatal(err)
			}
			it := &diffItem{typ: rec.Type, id: rec.ID, ix: ix, res: r}
			p.items[it.key()] = it
			p.byType[typ] = append(p.byType[typ], it)
		}
		if len(p.byType[typ]) > 0 {
			p.types = append(p.types, typ)
			slices.SortFunc(p.byType[typ], func(x, y *diffItem) int { return strings.Compare(x.id, y.id) })
		}
	}
	for _, typ := range p.types {
		for _, it := range p.byType[typ] {
			for _, ref := range it.ix.References {
				if ref.TargetID != "" {
					k := ref.TargetType + "/" + ref.TargetID
					p.refsTo[k] = append(p.refsTo[k], diffRef{it, ref.Param})
				}
			}
		}
	}
	return p
}

// diffGen makes one query of a kind; ok is false when the value it drew
// cannot make one (another draw follows).
type diffGen struct {
	kind   string
	weight int
	gen    func() (diffQuery, bool)
}

// generate makes n distinct queries, each kind getting its share.
func (p *diffPool) generate(n int) []diffQuery {
	gens := []diffGen{
		{"token", 12, p.genToken}, {"string", 8, p.genString}, {"date", 12, p.genDate},
		{"number/quantity", 8, p.genQuantity}, {"reference", 8, p.genReference}, {"uri", 3, p.genURI},
		{":missing", 5, p.genMissing}, {"_id", 3, p.genID}, {"_lastUpdated", 2, p.genLastUpdated},
		{"composite", 5, p.genComposite}, {"chain", 8, p.genChain}, {"_has", 5, p.genHas},
		{"_include", 5, p.genInclude}, {"_revinclude", 4, p.genRevInclude}, {"_sort", 8, p.genSort},
		{"paging", 5, p.genPaging}, {"result parameters", 5, p.genResultParams}, {"errors", 2, p.genError},
		{"compartment", 4, p.genCompartment}, {"$everything", 2, p.genEverything},
	}
	sum := 0
	for _, g := range gens {
		sum += g.weight
	}
	seen := map[string]bool{}
	var out []diffQuery
	add := func(g diffGen, want int) {
		for tries := 0; want > 0 && tries < want*30; tries++ {
			q, ok := g.gen()
			k := fmt.Sprint(q.url, q.strict)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			q.kind = g.kind
			out = append(out, q)
			want--
		}
	}
	for _, g := range gens {
		add(g, n*g.weight/sum+1)
	}
	for i := 0; len(out) < n && i < 10*n; i++ {
		add(gens[i%len(gens)], 1)
	}
	return out
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// item draws a resource passing ok: a type first (so that small types get
// their share), then one of its resources.
func (p *diffPool) item(ok func(*diffItem) bool, types ...string) *diffItem {
	if len(types) == 0 {
		types = p.types
	}
	for range 60 {
		its := p.byType[pick(p.r, types)]
		if len(its) == 0 {
			continue
		}
		if it := pick(p.r, its); ok == nil || ok(it) {
			return it
		}
	}
	return nil
}

// esc escapes a search value (https://hl7.org/fhir/R4/search.html#escaping).
func esc(v string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `$`, `\$`, `|`, `\|`).Replace(v)
}

// query writes Type?k=v&... with the values URL-encoded.
func query(typ string, kv ...string) string {
	var b strings.Builder
	b.WriteString(typ)
	for i := 0; i+1 < len(kv); i += 2 {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv[i] + "=" + queryEscape(kv[i+1]))
	}
	return b.String()
}

func queryEscape(v string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", " ", "%20", "=", "%3D", ";", "%3B").Replace(v)
}

var prefixes = []string{"", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

func tokenValue(t store.Token) string {
	if t.System == "" {
		return esc(t.Code)
	}
	return esc(t.System) + "|" + esc(t.Code)
}

// plainTokens lists the token rows of ordinary token parameters (not the
// :of-type rows, nor the identifiers of references).
func (p *diffPool) plainTokens(it *diffItem) []store.Token {
	var out []store.Token
	for _, t := range it.ix.Tokens {
		if sp := p.d.SearchParam(it.typ, t.Param); sp != nil && sp.Type == "token" && t.Code != "" {
			out = append(out, t)
		}
	}
	return out
}

func (p *diffPool) genToken() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.Tokens) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.Tokens)
	if base, ok := strings.CutSuffix(row.Param, ":of-type"); ok {
		sys, code, _ := strings.Cut(row.System, "|")
		return diffQuery{url: query(it.typ, base+":of-type", esc(sys)+"|"+esc(code)+"|"+esc(row.Code))}, true
	}
	if strings.Contains(row.Param, ":") || row.Code == "" {
		return diffQuery{}, false
	}
	if sp := p.d.SearchParam(it.typ, row.Param); sp != nil && sp.Type == "reference" {
		// A reference given by identifier only
		// (https://hl7.org/fhir/R4/search.html#reference, :identifier).
		return diffQuery{url: query(it.typ, row.Param+":identifier", tokenValue(row))}, true
	}
	var k, v string
	switch p.r.IntN(7) {
	case 0, 1:
		k, v = row.Param, tokenValue(row)
	case 2:
		k, v = row.Param, esc(row.Code)
	case 3:
		k, v = row.Param, "|"+esc(row.Code)
	case 4:
		k, v = row.Param+":not", tokenValue(row)
	case 5:
		if row.Text == "" {
			return diffQuery{}, false
		}
		k, v = row.Param+":text", esc(strings.Fields(row.Text + " x")[0])
	default:
		if row.System == "" {
			return diffQuery{}, false
		}
		k, v = row.Param, esc(row.System)+"|"
	}
	if p.r.IntN(4) == 0 {
		// An OR with a value of the same parameter elsewhere.
		if other := p.item(nil, it.typ); other != nil {
			for _, t := range p.plainTokens(other) {
				if t.Param == row.Param {
					v += "," + tokenValue(t)
					break
				}
			}
		}
	}
	return diffQuery{url: query(it.typ, k, v)}, true
}

func (p *diffPool) genString() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.Strings) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.Strings)
	rs := []rune(row.Exact)
	if len(rs) == 0 {
		return diffQuery{}, false
	}
	switch p.r.IntN(6) {
	case 5:
		// A pattern character or an escape where the data has none: a
		// store that leaked LIKE wildcards into a match would find more.
		i := p.r.IntN(len(rs))
		mangled := string(rs[:i]) + pick(p.r, []string{"%", "_", `\`, "É", "'"}) + string(rs[i:])
		return diffQuery{url: query(it.typ, row.Param+pick(p.r, []string{"", ":contains", ":exact"}), esc(mangled))}, true
	case 0, 1:
		return diffQuery{url: query(it.typ, row.Param, esc(string(rs[:1+p.r.IntN(min(len(rs), 6))])))}, true
	case 2:
		return diffQuery{url: query(it.typ, row.Param+":exact", esc(row.Exact))}, true
	case 3:
		return diffQuery{url: query(it.typ, row.Param+":exact", esc(strings.ToLower(row.Exact)))}, true
	default:
		i := p.r.IntN(len(rs))
		j := min(len(rs), i+1+p.r.IntN(4))
		return diffQuery{url: query(it.typ, row.Param+":contains", esc(string(rs[i:j])))}, true
	}
}

// dateText writes t at a random precision: year, month, day or seconds.
func (p *diffPool) dateText(t time.Time) string {
	switch p.r.IntN(6) {
	case 5:
		// The same instant written in another time zone.
		return t.In(time.FixedZone("", pick(p.r, []int{-5, 3, 10})*3600)).Format("2006-01-02T15:04:05-07:00")
	case 0:
		return t.Format("2006")
	case 1:
		return t.Format("2006-01")
	case 2:
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02")
}

func usableDate(d store.Date) (time.Time, bool) {
	t := d.Low
	if t.Year() <= 1 {
		t = d.High
	}
	return t, t.Year() > 1 && t.Year() < 3000
}

func (p *diffPool) genDate() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.Dates) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.Dates)
	t, ok := usableDate(row)
	if !ok {
		return diffQuery{}, false
	}
	text := p.dateText(t)
	if p.r.IntN(6) == 0 && row.High.Year() < 3000 {
		// The last instant the stored value covers, to the microsecond.
		text = row.High.Format("2006-01-02T15:04:05.000000Z")
	}
	q := query(it.typ, row.Param, pick(p.r, prefixes)+text)
	if p.r.IntN(5) == 0 {
		// A range: two ANDed bounds.
		q += "&" + row.Param + "=lt" + t.AddDate(1+p.r.IntN(3), 0, 0).Format("2006-01")
	}
	return diffQuery{url: q}, true
}

func numText(v float64) string { return fmt.Sprintf("%g", v) }

func (p *diffPool) genQuantity() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.Quantities)+len(it.ix.Numbers) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	pre := pick(p.r, prefixes)
	if n := len(it.ix.Numbers); n > 0 && p.r.IntN(len(it.ix.Quantities)+n) < n {
		row := pick(p.r, it.ix.Numbers)
		return diffQuery{url: query(it.typ, row.Param, pre+row.Value)}, true
	}
	row := pick(p.r, it.ix.Quantities)
	val := row.Value
	switch p.r.IntN(6) {
	case 0:
		// More precision than stored narrows the range
		// (https://hl7.org/fhir/R4/search.html#number).
		if strings.Contains(val, ".") {
			val += "0"
		} else {
			val += ".0"
		}
	case 1:
		// The edges of the stored value's own range.
		val = numText(pick(p.r, []float64{row.Low, row.High}))
	}
	if p.r.IntN(3) == 0 {
		// A nearby value, so that gt/lt/ap have something to separate.
		var f float64
		fmt.Sscan(row.Value, &f)
		val = numText(f * (0.9 + 0.2*p.r.Float64()))
	}
	var v string
	switch p.r.IntN(5) {
	case 4:
		// Exponent notation (https://hl7.org/fhir/R4/search.html#number).
		var f float64
		fmt.Sscan(val, &f)
		v = fmt.Sprintf("%.2e", f)
	case 0:
		v = val
	case 1:
		v = val + "||" + esc(row.Code)
	case 2:
		if row.CanonicalCode != "" && row.CanonicalCode != row.Code {
			v = numText(row.CanonicalValue) + "|http://unitsofmeasure.org|" + esc(row.CanonicalCode)
			break
		}
		fallthrough
	default:
		v = val + "|" + esc(row.System) + "|" + esc(row.Code)
	}
	return diffQuery{url: query(it.typ, row.Param, pre+v)}, true
}

func localRefs(ix store.Index) []store.Reference {
	var out []store.Reference
	for _, r := range ix.References {
		if r.TargetID != "" {
			out = append(out, r)
		}
	}
	return out
}

func (p *diffPool) genReference() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.References) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.References)
	if row.TargetID == "" {
		if row.URL == "" {
			return diffQuery{}, false
		}
		return diffQuery{url: query(it.typ, row.Param, esc(row.URL))}, true
	}
	switch p.r.IntN(5) {
	case 0:
		return diffQuery{url: query(it.typ, row.Param, row.TargetID)}, true
	case 1:
		return diffQuery{url: query(it.typ, row.Param+":"+row.TargetType, row.TargetID)}, true
	case 2:
		// :identifier matches Reference.identifier
		// (https://hl7.org/fhir/R4/search.html#reference), not the target's.
		if tgt := p.items[row.TargetType+"/"+row.TargetID]; tgt != nil {
			for _, t := range tgt.ix.Tokens {
				if t.Param == "identifier" {
					return diffQuery{url: query(it.typ, row.Param+":identifier", tokenValue(t))}, true
				}
			}
		}
	}
	return diffQuery{url: query(it.typ, row.Param, row.TargetType+"/"+row.TargetID)}, true
}

func (p *diffPool) genURI() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.URIs) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.URIs)
	switch p.r.IntN(3) {
	case 0:
		if i := strings.LastIndexByte(row.Value, '/'); i > 0 {
			return diffQuery{url: query(it.typ, row.Param+":below", esc(row.Value[:i]))}, true
		}
	case 1:
		return diffQuery{url: query(it.typ, row.Param+":above", esc(row.Value+"/more"))}, true
	}
	return diffQuery{url: query(it.typ, row.Param, esc(row.Value))}, true
}

func (p *diffPool) genMissing() (diffQuery, bool) {
	typ := pick(p.r, p.types)
	var params []string
	for _, sp := range p.d.SearchParams(typ) {
		switch {
		case sp.Type == "composite" || sp.Type == "special":
		case strings.HasPrefix(sp.Code, "_") && !slices.Contains([]string{"_profile", "_tag", "_security", "_source"}, sp.Code):
			// _id, _lastUpdated, _text, _content, _query: nothing to miss.
		default:
			params = append(params, sp.Code)
		}
	}
	if len(params) == 0 {
		return diffQuery{}, false
	}
	return diffQuery{url: query(typ, pick(p.r, params)+":missing", pick(p.r, []string{"true", "false"}))}, true
}

func (p *diffPool) genID() (diffQuery, bool) {
	a, b := p.item(nil), p.item(nil)
	if a == nil || b == nil {
		return diffQuery{}, false
	}
	switch p.r.IntN(4) {
	case 0:
		return diffQuery{url: query(a.typ, "_id", a.id+","+b.id)}, true
	case 1:
		return diffQuery{url: query(a.typ, "_id:not", a.id, "_count", "200")}, true
	case 2:
		// A system-level search.
		return diffQuery{url: query("", "_id", a.id+","+b.id, "_type", a.typ+","+b.typ)}, true
	}
	return diffQuery{url: query(a.typ, "_id", a.id)}, true
}

func (p *diffPool) genLastUpdated() (diffQuery, bool) {
	typ := pick(p.r, p.types)
	// Both stores loaded the data today, at different instants: only
	// bounds far from the load time give comparable answers.
	v := pick(p.r, []string{"gt2000-01-01", "lt2000-01-01", "ge" + time.Now().AddDate(-1, 0, 0).Format("2006"), "le1999", "ne1999-12", "sa2001"})
	if p.r.IntN(2) == 0 {
		return diffQuery{url: query(typ, "_lastUpdated", v, "_sort", "-_lastUpdated", "_count", "20"), sorted: true}, true
	}
	return diffQuery{url: query(typ, "_lastUpdated", v)}, true
}

func (p *diffPool) compositePart(c store.CompositePart, last bool) (string, bool) {
	pre := ""
	if last {
		pre = pick(p.r, prefixes)
	}
	switch {
	case c.Token != nil:
		return tokenValue(*c.Token), true
	case c.Quantity != nil:
		if c.Quantity.System == "" && c.Quantity.Code == "" || p.r.IntN(3) == 0 {
			return pre + c.Quantity.Value, true
		}
		return pre + c.Quantity.Value + "|" + esc(c.Quantity.System) + "|" + esc(c.Quantity.Code), true
	case c.Date != nil:
		t, ok := usableDate(*c.Date)
		return pre + t.Format("2006-01-02"), ok
	case c.Number != nil:
		return pre + c.Number.Value, true
	case c.String != nil:
		return esc(c.String.Exact), true
	case c.Ref != nil && c.Ref.TargetID != "":
		return c.Ref.TargetType + "/" + c.Ref.TargetID, true
	case c.URI != nil:
		return esc(c.URI.Value), true
	}
	return "", false
}

func (p *diffPool) genComposite() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(it.ix.Composites) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	row := pick(p.r, it.ix.Composites)
	var parts []string
	for i, c := range row.Components {
		s, ok := p.compositePart(c, i == len(row.Components)-1)
		if !ok {
			return diffQuery{}, false
		}
		parts = append(parts, s)
	}
	return diffQuery{url: query(it.typ, row.Param, strings.Join(parts, "$"))}, true
}

// simpleValue draws a plain criterion that it matches: a token, a string
// prefix, a day or a reference.
func (p *diffPool) simpleValue(it *diffItem) (string, string, bool) {
	switch p.r.IntN(4) {
	case 0:
		if rows := p.plainTokens(it); len(rows) > 0 {
			row := pick(p.r, rows)
			return row.Param, tokenValue(row), true
		}
	case 1:
		if len(it.ix.Strings) > 0 {
			row := pick(p.r, it.ix.Strings)
			rs := []rune(row.Exact)
			if len(rs) > 0 {
				return row.Param, esc(string(rs[:min(len(rs), 4)])), true
			}
		}
	case 2:
		if len(it.ix.Dates) > 0 {
			row := pick(p.r, it.ix.Dates)
			if t, ok := usableDate(row); ok {
				return row.Param, pick(p.r, []string{"", "ge", "le"}) + t.Format("2006-01"), true
			}
		}
	}
	if rows := localRefs(it.ix); len(rows) > 0 {
		row := pick(p.r, rows)
		return row.Param, row.TargetType + "/" + row.TargetID, true
	}
	if rows := p.plainTokens(it); len(rows) > 0 {
		row := pick(p.r, rows)
		return row.Param, tokenValue(row), true
	}
	return "", "", false
}

// target draws a local reference of it whose target is loaded.
func (p *diffPool) target(it *diffItem) (store.Reference, *diffItem, bool) {
	rows := localRefs(it.ix)
	for range 4 {
		if len(rows) == 0 {
			break
		}
		row := pick(p.r, rows)
		if tgt := p.items[row.TargetType+"/"+row.TargetID]; tgt != nil {
			return row, tgt, true
		}
	}
	return store.Reference{}, nil, false
}

func (p *diffPool) genChain() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(localRefs(it.ix)) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	ref, tgt, ok := p.target(it)
	if !ok {
		return diffQuery{}, false
	}
	key := ref.Param + ":" + tgt.typ
	if p.r.IntN(3) == 0 {
		key = ref.Param // the targets from the definition (may be ambiguous: compared too)
	}
	last := tgt
	if p.r.IntN(5) < 2 {
		// Two levels.
		if ref2, tgt2, ok := p.target(tgt); ok {
			key += "." + ref2.Param + ":" + tgt2.typ
			last = tgt2
		}
	}
	k, v, ok := p.simpleValue(last)
	if !ok {
		return diffQuery{}, false
	}
	return diffQuery{url: query(it.typ, key+"."+k, v)}, true
}

func (p *diffPool) referenced(types ...string) (*diffItem, diffRef, bool) {
	it := p.item(func(it *diffItem) bool { return len(p.refsTo[it.key()]) > 0 }, types...)
	if it == nil {
		return nil, diffRef{}, false
	}
	return it, pick(p.r, p.refsTo[it.key()]), true
}

func (p *diffPool) genHas() (diffQuery, bool) {
	tgt, ref, ok := p.referenced()
	if !ok {
		return diffQuery{}, false
	}
	key := "_has:" + ref.from.typ + ":" + ref.param + ":"
	last := ref.from
	if refs := p.refsTo[ref.from.key()]; len(refs) > 0 && p.r.IntN(3) == 0 {
		// Nested: referred to by something that is itself referred to.
		r2 := pick(p.r, refs)
		key += "_has:" + r2.from.typ + ":" + r2.param + ":"
		last = r2.from
	}
	k, v, ok := p.simpleValue(last)
	if !ok {
		return diffQuery{}, false
	}
	return diffQuery{url: query(tgt.typ, key+k, v)}, true
}

// genCompartment searches in a compartment
// (https://hl7.org/fhir/R4/compartmentdefinition.html#search):
// Patient/123/Observation?..., or every type with Patient/123/*.
func (p *diffPool) genCompartment() (diffQuery, bool) {
	owner := p.item(nil, "Patient", "Encounter", "Practitioner")
	if owner == nil {
		return diffQuery{}, false
	}
	c := p.d.Compartment(owner.typ)
	var in []string
	for _, t := range p.types {
		if c != nil && c.Params(t) != nil {
			in = append(in, t)
		}
	}
	if len(in) == 0 {
		return diffQuery{}, false
	}
	if p.r.IntN(5) == 0 {
		return diffQuery{url: query(owner.typ+"/"+owner.id+"/*", "_count", pick(p.r, []string{"10", "50"}))}, true
	}
	typ := pick(p.r, in)
	var kv []string
	if it := p.item(nil, typ); it != nil && p.r.IntN(2) == 0 {
		if k, v, ok := p.simpleValue(it); ok {
			kv = append(kv, k, v)
		}
	}
	return diffQuery{url: query(owner.typ+"/"+owner.id+"/"+typ, append(kv, "_count", "20")...)}, true
}

// genEverything asks for a patient's whole record, whose order is defined
// (the Patient, then by type and id), so its pages compare as they are.
func (p *diffPool) genEverything() (diffQuery, bool) {
	pat := p.item(nil, "Patient")
	if pat == nil {
		return diffQuery{}, false
	}
	var kv []string
	if p.r.IntN(2) == 0 {
		kv = append(kv, "_type", pick(p.r, p.types)+","+pick(p.r, p.types))
	}
	if p.r.IntN(3) == 0 {
		kv = append(kv, "_since", "2000-01-01T00:00:00Z")
	}
	kv = append(kv, "_count", pick(p.r, []string{"20", "50", "200"}))
	return diffQuery{url: query("Patient/"+pat.id+"/$everything", kv...), sorted: true}, true
}

// filter draws a criterion on it: its id or one of its values.
func (p *diffPool) filter(it *diffItem) []string {
	if p.r.IntN(2) == 0 {
		return []string{"_id", it.id}
	}
	if k, v, ok := p.simpleValue(it); ok {
		return []string{k, v}
	}
	return []string{"_id", it.id}
}

func (p *diffPool) genInclude() (diffQuery, bool) {
	it := p.item(func(it *diffItem) bool { return len(localRefs(it.ix)) > 0 })
	if it == nil {
		return diffQuery{}, false
	}
	ref, tgt, ok := p.target(it)
	if !ok {
		return diffQuery{}, false
	}
	kv := p.filter(it)
	switch p.r.IntN(6) {
	case 0:
		kv = append(kv, "_include", it.typ+":*")
	case 1:
		kv = append(kv, "_include", it.typ+":"+ref.Param+":"+tgt.typ)
	default:
		kv = append(kv, "_include", it.typ+":"+ref.Param)
	}
	if p.r.IntN(2) == 0 {
		if ref2, _, ok := p.target(tgt); ok {
			kv = append(kv, "_include:iterate", tgt.typ+":"+ref2.Param)
		}
	}
	return diffQuery{url: query(it.typ, kv...)}, true
}

func (p *diffPool) genRevInclude() (diffQuery, bool) {
	tgt, ref, ok := p.referenced()
	if !ok {
		return diffQuery{}, false
	}
	kv := append(p.filter(tgt), "_revinclude", ref.from.typ+":"+ref.param)
	if p.r.IntN(2) == 0 {
		if refs := p.refsTo[ref.from.key()]; len(refs) > 0 {
			r2 := pick(p.r, refs)
			kv = append(kv, "_revinclude:iterate", r2.from.typ+":"+r2.param)
		}
	} else if p.r.IntN(2) == 0 {
		if r1, _, ok := p.target(tgt); ok {
			kv = append(kv, "_include", tgt.typ+":"+r1.Param)
		}
	}
	return diffQuery{url: query(tgt.typ, kv...)}, true
}

// sortKeys lists the parameters of typ that its resources have values for,
// of the types a sort applies to.
func (p *diffPool) sortKeys(typ string) []string {
	have := map[string]bool{}
	for _, it := range p.byType[typ][:min(len(p.byType[typ]), 50)] {
		for _, r := range it.ix.Dates {
			have[r.Param] = true
		}
		for _, r := range it.ix.Strings {
			have[r.Param] = true
		}
		for _, r := range p.plainTokens(it) {
			have[r.Param] = true
		}
		for _, r := range it.ix.Quantities {
			have[r.Param] = true
		}
		for _, r := range it.ix.References {
			have[r.Param] = true
		}
	}
	keys := []string{"_id", "_lastUpdated"}
	for k := range have {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *diffPool) genSort() (diffQuery, bool) {
	typ := pick(p.r, p.types)
	keys := p.sortKeys(typ)
	var sorts []string
	for range 1 + p.r.IntN(3) {
		k := pick(p.r, keys)
		if slices.Contains(sorts, k) || slices.Contains(sorts, "-"+k) {
			continue
		}
		if p.r.IntN(2) == 0 {
			k = "-" + k
		}
		sorts = append(sorts, k)
	}
	var kv []string
	if it := p.item(nil, typ); it != nil && p.r.IntN(3) > 0 {
		if k, v, ok := p.simpleValue(it); ok {
			kv = append(kv, k, v)
		}
	}
	kv = append(kv, "_sort", strings.Join(sorts, ","), "_count", pick(p.r, []string{"3", "7", "20", "50"}))
	if p.r.IntN(3) == 0 {
		kv = append(kv, "_total", "accurate")
	}
	return diffQuery{url: query(typ, kv...), sorted: true}, true
}

func (p *diffPool) genPaging() (diffQuery, bool) {
	it := p.item(nil)
	if it == nil {
		return diffQuery{}, false
	}
	var kv []string
	if p.r.IntN(3) > 0 {
		if k, v, ok := p.simpleValue(it); ok {
			kv = append(kv, k, v)
		}
	}
	kv = append(kv, "_count", pick(p.r, []string{"1", "2", "3", "5", "10"}))
	if p.r.IntN(2) == 0 {
		kv = append(kv, "_total", "accurate")
	}
	return diffQuery{url: query(it.typ, kv...)}, true
}

func (p *diffPool) genResultParams() (diffQuery, bool) {
	it := p.item(nil)
	if it == nil {
		return diffQuery{}, false
	}
	kv := p.filter(it)
	if p.r.IntN(3) == 0 {
		kv = nil // the whole type
	}
	var keys []string
	for k := range it.res {
		if k != "resourceType" && k != "id" && k != "meta" && !strings.HasPrefix(k, "_") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	switch p.r.IntN(7) {
	case 0:
		kv = append(kv, "_total", "accurate")
	case 1:
		kv = append(kv, "_summary", "count")
	case 2:
		if len(keys) == 0 {
			return diffQuery{}, false
		}
		kv = append(kv, "_elements", pick(p.r, keys)+","+pick(p.r, keys))
	case 3:
		kv = append(kv, "_summary", pick(p.r, []string{"true", "data", "text", "false"}))
	case 4:
		kv = append(kv, "_total", "estimate")
	case 5:
		kv = append(kv, "_count", "0", "_total", "accurate")
	default:
		kv = append(kv, "_total", "none", "_count", "100")
	}
	return diffQuery{url: query(it.typ, kv...)}, true
}

func (p *diffPool) genError() (diffQuery, bool) {
	typ := pick(p.r, p.types)
	var date, ref, token string
	for _, sp := range p.d.SearchParams(typ) {
		switch sp.Type {
		case "date":
			date = sp.Code
		case "reference":
			ref = sp.Code
		case "token":
			token = sp.Code
		}
	}
	var kv []string
	switch p.r.IntN(8) {
	case 0:
		kv = []string{"nonsense", "1"}
	case 1:
		kv = []string{date, "notadate"}
	case 2:
		kv = []string{"_sort", "nonsense"}
	case 3:
		kv = []string{ref + ".nonsense", "x"}
	case 4:
		kv = []string{"_count", "many"}
	case 5:
		kv = []string{token + ":bogus", "x"}
	case 6:
		kv = []string{"_has:Nope:x:y", "1"}
	default:
		kv = []string{date, "zz2020"}
	}
	if kv[0] == "" || strings.HasPrefix(kv[0], ".") || strings.HasPrefix(kv[0], ":") {
		return diffQuery{}, false
	}
	return diffQuery{url: query(typ, kv...), strict: p.r.IntN(2) == 0}, true
}
