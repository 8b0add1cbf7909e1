package repo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// The access policy (docs/ACCESS.md) is enforced here, for every
// interaction, by rewriting the queries the Repository runs: the store
// applies the principal's patient set, scope restrictions and sensitivity
// labels while it searches, so totals and pages never count what the
// principal may not see. Reads run the one resource through the same
// filter; writes check the compartment patients of what they store.
// Operators and OpenChart itself (access.Operator, access.System) are not
// checked at all.

// Search parameters and codes the policy's clauses use.
const (
	paramSecurity      = "_security"
	paramOrganization  = "organization"     // Patient.managingOrganization
	paramServiceProv   = "service-provider" // Encounter.serviceProvider
	paramPatient       = "patient"
	paramConsentStatus = "status"
	paramConsentScope  = "scope"
	paramConsentActor  = "actor"
	// ProvisionTypeParam is the code of the built-in SearchParameter on
	// Consent.provision.type (search.BuiltinParams) that the consent rule
	// needs; R4 defines none.
	ProvisionTypeParam = "provision-type"
)

// guard is the policy applied to one call: the principal and its rules.
type guard struct {
	r     *Repo
	p     *access.Principal
	rules *access.Rules
}

func (r *Repo) guard(ctx context.Context) *guard {
	p := access.From(ctx)
	return &guard{r: r, p: p, rules: access.RulesOf(p, time.Now())}
}

// open reports whether nothing needs checking (operators, the system).
func (g *guard) open() bool { return g.rules.Unrestricted }

// refused is the error of a principal that may do nothing, or of a type it
// may not touch: 401 without credentials, 403 with them.
func (g *guard) refused(op, what string) error {
	if g.p == nil || g.p.Kind == access.Anonymous {
		return errs.E(op, errs.Unauthenticated, "sign-in required")
	}
	return errs.E(op, errs.Permission, what)
}

func permName(perm byte) string {
	switch perm {
	case 'c':
		return "create"
	case 'r':
		return "read"
	case 'u':
		return "update"
	case 'd':
		return "delete"
	}
	return "search"
}

// typeClauses checks that perm is granted on typ and returns the clauses
// of the scopes' query restrictions (patient/Observation.rs?category=...).
func (g *guard) typeClauses(op, typ string, perm byte) ([]store.Clause, error) {
	ok, restrict := g.rules.Permit(typ, perm)
	if !ok {
		return nil, g.refused(op, fmt.Sprintf("not allowed to %s %s resources", permName(perm), typ))
	}
	var out []store.Clause
	for _, group := range restrict {
		var qs [][]store.Clause
		for _, v := range group {
			q, err := g.r.criteria.Criteria(typ, v)
			if err != nil {
				// A scope the server cannot compile grants nothing.
				return nil, g.refused(op, fmt.Sprintf("the scope restriction on %s cannot be applied", typ))
			}
			qs = append(qs, q.Where)
		}
		out = append(out, orQueries(qs)...)
	}
	return out, nil
}

// orQueries is the disjunction of several queries' clauses when each is a
// single clause (one clause of all their values); otherwise their
// conjunction, which grants less than the scopes say, never more
// (docs/ACCESS.md).
func orQueries(qs [][]store.Clause) []store.Clause {
	if len(qs) == 1 {
		return qs[0]
	}
	var one store.Clause
	for _, q := range qs {
		if len(q) != 1 {
			var all []store.Clause
			for _, q := range qs {
				all = append(all, q...)
			}
			return all
		}
		one.Or = append(one.Or, q[0].Or...)
	}
	return []store.Clause{one}
}

// rowClauses are the clauses of the principal's patient set and hidden
// labels for a query of types (not empty).
func (g *guard) rowClauses(types []string) []store.Clause {
	var out []store.Clause
	rl := g.rules
	var other []string
	inComp := false
	for _, t := range types {
		if g.r.patientTypes[t] {
			inComp = true
		} else {
			other = append(other, t)
		}
	}
	if inComp {
		var exempt []store.Predicate
		if len(other) > 0 {
			exempt = []store.Predicate{{Kind: store.KindType, InTypes: other}}
		}
		if rl.PatientContext {
			c := store.Clause{Or: slices.Clone(exempt)}
			for _, p := range rl.Patients {
				c.Or = append(c.Or, inPatient(p))
			}
			if len(c.Or) == 0 {
				c.Or = []store.Predicate{{Kind: store.KindType}} // matches nothing
			}
			out = append(out, c)
		}
		if rl.Staff {
			c := store.Clause{Or: slices.Clone(exempt)}
			c.Or = append(c.Or, g.orgPatients()...)
			// Compartment-type resources of no patient are the
			// organization's own data.
			c.Or = append(c.Or, store.Predicate{Kind: store.KindCompartment, Negate: true, Compartment: store.CompartmentRef{Type: "Patient"}})
			out = append(out, c)
		}
	}
	for _, l := range g.hiddenLabels() {
		out = append(out, store.Clause{Or: []store.Predicate{{Param: paramSecurity, Kind: store.KindToken, Op: store.OpNot, System: l.System, Code: l.Code}}})
	}
	return out
}

func inPatient(id string) store.Predicate {
	return store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: id}}
}

// orgRef splits "Organization/X" (or a bare id).
func orgRef(org string) (string, string) {
	if i := strings.LastIndexByte(org, '/'); i >= 0 {
		return org[:i], org[i+1:]
	}
	return "Organization", org
}

func tokenCode(param, code string) store.Clause {
	return store.Clause{Or: []store.Predicate{{Param: param, Kind: store.KindToken, AnySystem: true, Code: code}}}
}

func refClause(param, typ, id string) store.Clause {
	return store.Clause{Or: []store.Predicate{{Param: param, Kind: store.KindReference, TargetType: typ, TargetID: id}}}
}

// consentHas is _has:Consent:patient with an active privacy Consent whose
// provision has type ptype, and names the organization as actor (or,
// with noActor, names no actor).
func consentHas(ptype, orgType, orgID string, noActor bool) store.Predicate {
	where := []store.Clause{
		tokenCode(paramConsentStatus, "active"),
		tokenCode(paramConsentScope, "patient-privacy"),
		tokenCode(ProvisionTypeParam, ptype),
	}
	if noActor {
		where = append(where, store.Clause{Or: []store.Predicate{{Param: paramConsentActor, Kind: store.KindReference, Op: store.OpMissing, Missing: true}}})
	} else {
		where = append(where, refClause(paramConsentActor, orgType, orgID))
	}
	return store.Predicate{Has: &store.Has{Param: paramPatient, Query: &store.Query{Types: []string{"Consent"}, Where: where}}}
}

// orgPatients are the predicates "in the compartment of a patient the
// organization may see": managed by it; consented to it (opt-in) or
// treated by it and not refused (opt-out); break-the-glass grants.
func (g *guard) orgPatients() []store.Predicate {
	typ, id := orgRef(g.rules.Organization)
	owners := func(where ...store.Clause) store.Predicate {
		return store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient"},
			Owners: &store.Query{Types: []string{"Patient"}, Where: where}}
	}
	out := []store.Predicate{owners(refClause(paramOrganization, typ, id))}
	switch g.r.consent {
	case access.OptOut:
		treated := store.Predicate{Has: &store.Has{Param: paramPatient, Query: &store.Query{Types: []string{"Encounter"},
			Where: []store.Clause{refClause(paramServiceProv, typ, id)}}}}
		deny := consentHas("deny", typ, id, false)
		deny.Negate = true
		denyAll := consentHas("deny", typ, id, true)
		denyAll.Negate = true
		out = append(out, owners(store.Clause{Or: []store.Predicate{treated}}, store.Clause{Or: []store.Predicate{deny}}, store.Clause{Or: []store.Predicate{denyAll}}))
	default:
		out = append(out, owners(store.Clause{Or: []store.Predicate{consentHas("permit", typ, id, false)}}))
	}
	for _, bg := range g.rules.BreakGlass {
		out = append(out, inPatient(bg.Patient))
	}
	return out
}

// scoped returns q rewritten for the principal: its types checked for
// perm (a system-level search covers the permitted types only), the
// scopes' restrictions and the row clauses added, and the same done to
// every chained and _has query inside. q itself is not modified.
func (g *guard) scoped(op string, q *store.Query, perm byte) (*store.Query, error) {
	out := *q
	out.Types = slices.Clone(q.Types)
	explicit := len(out.Types) > 0
	if !explicit {
		for _, t := range g.r.types {
			if ok, _ := g.rules.Permit(t, perm); ok {
				out.Types = append(out.Types, t)
			}
		}
		if len(out.Types) == 0 {
			return nil, g.refused(op, "no resource type may be searched")
		}
	}
	var where []store.Clause
	var kept []string
	var restricted [][]store.Clause
	for _, t := range out.Types {
		cl, err := g.typeClauses(op, t, perm)
		if err != nil {
			if explicit && len(out.Types) == 1 {
				return nil, err
			}
			continue // a type of several that may not be searched is left out
		}
		kept = append(kept, t)
		if len(cl) > 0 {
			restricted = append(restricted, cl)
		}
	}
	if len(kept) == 0 {
		return nil, g.refused(op, "none of the types searched may be read")
	}
	if len(restricted) > 0 && len(kept) > 1 {
		// Restrictions of one type cannot be told apart from another's in
		// one query: search a restricted type on its own.
		return nil, g.refused(op, "a search over several types cannot apply scope restrictions")
	}
	out.Types = kept
	if len(restricted) == 1 {
		where = append(where, restricted[0]...)
	}
	for _, c := range q.Where {
		nc := store.Clause{Or: make([]store.Predicate, len(c.Or))}
		for i, p := range c.Or {
			np, err := g.nested(op, p)
			if err != nil {
				return nil, err
			}
			nc.Or[i] = np
		}
		where = append(where, nc)
	}
	out.Where = append(where, g.rowClauses(out.Types)...)
	return &out, nil
}

// nested applies the policy to the queries of chains and _has: they
// reveal whether matching resources exist, so they see only what the
// principal may see.
func (g *guard) nested(op string, p store.Predicate) (store.Predicate, error) {
	switch {
	case p.Chain != nil:
		q, err := g.scoped(op, p.Chain, 's')
		if err != nil {
			return p, err
		}
		p.Chain = q
	case p.Has != nil && p.Has.Query != nil:
		q, err := g.scoped(op, p.Has.Query, 's')
		if err != nil {
			return p, err
		}
		p.Has = &store.Has{Param: p.Has.Param, Query: q}
	case p.Kind == store.KindComposite && len(p.Components) > 0:
		// Components are plain values.
	}
	return p, nil
}

// labelsOnly reports whether reading typ is restricted, for the
// principal, by nothing but the labels it may not see: the type is
// permitted with no scope query, and it is outside the Patient
// compartment or the principal is limited to no patient set and no
// organization (rowClauses then holds label clauses alone).
func (g *guard) labelsOnly(op, typ string) bool {
	// The cheap test first: staff and patients reading clinical types,
	// the common case, need no scope check here (checkRead makes it).
	rl := g.rules
	if g.r.patientTypes[typ] && (rl.PatientContext || rl.Staff) {
		return false
	}
	cl, err := g.typeClauses(op, typ, 'r')
	return err == nil && len(cl) == 0
}

// securityKey is how canonical JSON spells the key of meta.security.
var securityKey = []byte(`"security"`)

// searcher runs a query: the store's Search, or a transaction's.
type searcher func(context.Context, *store.Query) (*store.Result, error)

// visible reports whether typ/id (current) passes the principal's filter
// for perm: one indexed query on the resource's key.
func (g *guard) visible(ctx context.Context, run searcher, op, typ, id string, perm byte) (bool, error) {
	cl, err := g.typeClauses(op, typ, perm)
	if err != nil {
		return false, err
	}
	rows := g.rowClauses([]string{typ})
	if len(cl) == 0 && len(rows) == 0 {
		return true, nil
	}
	where := append([]store.Clause{{Or: []store.Predicate{{Param: "_id", Kind: store.KindID, Code: id}}}}, cl...)
	where = append(where, rows...)
	res, err := run(ctx, &store.Query{Types: []string{typ}, Where: where, Count: 1})
	if err != nil {
		return false, errs.E(op, err)
	}
	return len(res.Records) > 0, nil
}

// hidden is the error of a resource the principal may not know exists:
// the store's own "not found".
func hidden(op, storeOp string) error {
	return errs.E(op, errs.E(storeOp, errs.NotFound))
}

// checkRead applies the policy to a read of typ/id that returned rec and
// err from the store (read and vread). A resource the principal may not
// see, or a deletion of one it cannot check, is not found.
func (g *guard) checkRead(ctx context.Context, run searcher, op, storeOp, typ, id string, rec *store.Record, err error) (*store.Record, error) {
	if g.open() {
		return rec, err
	}
	if _, terr := g.typeClauses(op, typ, 'r'); terr != nil {
		return nil, terr
	}
	switch {
	case errs.Is(err, errs.NotFound):
		return nil, hidden(op, storeOp)
	case errs.Is(err, errs.Gone):
		// The deleted version has no index rows to check against.
		return nil, hidden(op, storeOp)
	case err != nil:
		return rec, errs.E(op, err)
	}
	ok, verr := g.visible(ctx, run, op, typ, id, 'r')
	switch {
	case verr != nil:
		return nil, verr
	case !ok:
		return nil, hidden(op, storeOp)
	}
	return rec, nil
}

// checkWrite applies the policy to a version about to be stored: the
// permission on its type, and the patients of its compartment, which the
// principal must be allowed to see. Labels the principal may not see may
// not be written either.
//
// A Patient written in this transaction (staged reports which) is judged
// by its own content, since the store does not hold it yet: the Patient
// itself, on create, when its managingOrganization is the organization
// acted for (a registration), and later writes of the same transaction about it (its
// Coverage) because that Patient passed this check when it was staged.
func (g *guard) checkWrite(ctx context.Context, run searcher, op, typ, id string, perm byte, ix *store.Index, staged func(patient string) bool) error {
	if g.open() {
		return nil
	}
	cl, err := g.typeClauses(op, typ, perm)
	if err != nil {
		return err
	}
	if len(cl) > 0 {
		return g.refused(op, fmt.Sprintf("a scope restricted by a query does not allow writing %s", typ))
	}
	for _, l := range g.hiddenLabels() {
		for _, t := range ix.Tokens {
			if t.Param == paramSecurity && t.System == l.System && t.Code == l.Code {
				return g.refused(op, "not allowed to write resources labelled "+l.Code)
			}
		}
	}
	if !g.r.patientTypes[typ] {
		return nil
	}
	pats := compartmentPatients(ix)
	slices.Sort(pats)
	pats = slices.Compact(pats)
	if g.rules.PatientContext {
		if len(pats) == 0 {
			return g.refused(op, fmt.Sprintf("a %s must concern the patient acted for", typ))
		}
		for _, p := range pats {
			if !slices.Contains(g.rules.Patients, p) {
				return g.refused(op, fmt.Sprintf("not allowed to write data of Patient/%s", p))
			}
		}
	}
	if g.rules.Staff {
		pats = slices.DeleteFunc(pats, func(p string) bool {
			if typ == "Patient" && p == id && perm == 'c' {
				return g.managedHere(ix)
			}
			return staged != nil && staged(p)
		})
	}
	if g.rules.Staff && len(pats) > 0 {
		ids := make([]store.Predicate, len(pats))
		for i, p := range pats {
			ids[i] = store.Predicate{Param: "_id", Kind: store.KindID, Code: p}
		}
		where := []store.Clause{{Or: ids}, {Or: g.orgPatients()}}
		res, err := run(ctx, &store.Query{Types: []string{"Patient"}, Where: where})
		if err != nil {
			return errs.E(op, err)
		}
		if len(res.Records) < len(pats) {
			seen := map[string]bool{}
			for _, rec := range res.Records {
				seen[rec.ID] = true
			}
			for _, p := range pats {
				if !seen[p] {
					return g.refused(op, fmt.Sprintf("not allowed to write data of Patient/%s", p))
				}
			}
		}
	}
	return nil
}

// managedHere reports whether a Patient's index names the organization
// acted for as its managingOrganization.
func (g *guard) managedHere(ix *store.Index) bool {
	typ, id := orgRef(g.rules.Organization)
	for _, r := range ix.References {
		if r.Param == paramOrganization && r.TargetType == typ && r.TargetID == id {
			return true
		}
	}
	return false
}

// checkHistory: a resource's history needs the resource visible; a type's
// or the whole system's would list versions the filter cannot reach
// (index rows exist for current versions only), so only unrestricted
// principals may list them.
func (g *guard) checkHistory(ctx context.Context, q store.HistoryQuery) error {
	if g.open() {
		return nil
	}
	if q.Type == "" || q.ID == "" {
		if g.rules.Refused {
			return g.refused("history", "not allowed")
		}
		return errs.E("history", errs.Permission, "the history of a type or of the whole server is available to operators only; ask for the history of a resource")
	}
	op := "history " + q.Type + "/" + q.ID
	storeOp := "read " + q.Type + "/" + q.ID
	rec, err := g.r.store.Read(ctx, q.Type, q.ID)
	_, err = g.checkRead(ctx, g.r.store.Search, op, storeOp, q.Type, q.ID, rec, err)
	return err
}
