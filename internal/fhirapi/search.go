package fhirapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// pageOffset is the paging parameter of searchset links: the number of
// matches to skip.
const pageOffset = "_offset"

// search is GET/POST [base]/[type]?, [base]/? (system) and
// [base]/[Compartment]/[id]/[type]? (https://hl7.org/fhir/R4/http.html#search,
// https://hl7.org/fhir/R4/search.html). Unknown parameters are ignored and
// reported in an OperationOutcome entry (search.mode outcome), or rejected
// with 400 under Prefer: handling=strict.
func (a *API) search(ctx context.Context, req *Request) (*Response, error) {
	typ := req.Type
	params := url.Values{}
	for k, v := range req.Query {
		switch k {
		case "_format", "_pretty", pageOffset:
		default:
			params[k] = v
		}
	}
	if req.Compartment != "" && req.Compartment != "*" {
		typ = req.Compartment
	}
	// The audit entries of this search record its parameters.
	ctx = audit.WithQuery(ctx, params)
	s, err := a.compiler.Compile(typ, params, req.Prefer.Handling == "strict")
	if err != nil {
		return nil, err
	}
	if req.Compartment != "" {
		if err := a.inCompartment(s.Query, req); err != nil {
			return nil, err
		}
	}
	if err := a.pageQuery(s, req); err != nil {
		return nil, err
	}
	res, err := a.repo.Search(ctx, s.Query)
	if err != nil {
		return nil, err
	}
	b, err := a.searchBundle(ctx, req, s, res)
	if err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, b), nil
}

// inCompartment restricts a query to the compartment of req.Type/req.ID
// (https://hl7.org/fhir/R4/compartmentdefinition.html#search).
func (a *API) inCompartment(q *store.Query, req *Request) error {
	c := a.defs.Compartment(req.Type)
	if c == nil {
		return errs.E(errs.NotFound, "search", req.Type+" is not a compartment",
			issue("error", "not-supported", "no compartment is defined for "+req.Type))
	}
	if req.Compartment == "*" {
		// [base]/Patient/123/* searches every type in the compartment.
		q.Types = q.Types[:0]
		for _, t := range a.defs.ResourceTypes() {
			if c.Params(t) != nil {
				q.Types = append(q.Types, t)
			}
		}
	} else if c.Params(req.Compartment) == nil {
		return errs.E(errs.Invalid, "search", req.Compartment+" is not in the "+req.Type+" compartment",
			issue("error", "not-supported", req.Compartment+" resources are not part of the "+req.Type+" compartment"))
	}
	q.Where = append(q.Where, store.Clause{Or: []store.Predicate{{
		Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: req.Type, ID: req.ID},
	}}})
	return nil
}

// pageQuery applies paging: _count (default DefaultCount, capped at
// MaxCount), the _offset of a next/previous link, and _summary=count.
func (a *API) pageQuery(s *Search, req *Request) error {
	q := s.Query
	if v := req.Query.Get("_count"); v != "" {
		n, err := a.parseCount(v)
		if err != nil {
			return err
		}
		q.Count = n
	} else {
		q.Count = a.defCount
	}
	if v := req.Query.Get(pageOffset); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errs.E(errs.Invalid, "paging", "invalid paging offset",
				issue("error", "value", "invalid "+pageOffset+" "+quote(v), pageOffset))
		}
		q.Offset = n
	}
	if s.Summary == "count" {
		q.Count = 0
		q.Total = store.TotalAccurate
	}
	return nil
}

// searchBundle builds the searchset Bundle
// (https://hl7.org/fhir/R4/bundle.html#searchset).
func (a *API) searchBundle(ctx context.Context, req *Request, s *Search, res *store.Result) (map[string]any, error) {
	entries := make([]any, 0, len(res.Records)+1)
	seen := map[string]bool{}
	for _, rec := range res.Records {
		e, err := a.searchEntry(req.Base, rec, "match", s)
		if err != nil {
			return nil, err
		}
		seen[rec.Type+"/"+rec.ID] = true
		entries = append(entries, e)
	}
	included, notes, err := a.includes(ctx, s, res.Records, seen)
	if err != nil {
		return nil, err
	}
	for _, rec := range included {
		e, err := a.searchEntry(req.Base, rec, "include", s)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if issues := append(append([]errs.Issue(nil), s.Ignored...), notes...); len(issues) > 0 {
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + repo.NewID(),
			"resource": outcome(issues...),
			"search":   map[string]any{"mode": "outcome"},
		})
	}
	b := map[string]any{"resourceType": "Bundle", "id": newBundleID(), "type": "searchset",
		"meta": map[string]any{"lastUpdated": formatInstant(a.now())}, "link": a.searchLinks(req, s, res)}
	if res.Total >= 0 {
		b["total"] = res.Total
	}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return b, nil
}

func (a *API) searchEntry(base string, rec *store.Record, mode string, s *Search) (map[string]any, error) {
	// The stored bytes are canonical: embed them as they are unless the
	// client asked for a subset of each match.
	var res any = fhir.Raw(rec.JSON)
	if mode == "match" && ((s.Summary != "" && s.Summary != "false") || len(s.Elements) > 0) {
		parsed, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
		if err != nil {
			return nil, errs.E(errs.Internal, "search", err)
		}
		res = fhir.Raw(fhir.MarshalResource(a.subset(parsed, s.Summary, s.Elements), a.defs))
	}
	return map[string]any{
		"fullUrl":  base + "/" + rec.Type + "/" + rec.ID,
		"resource": res,
		"search":   map[string]any{"mode": mode},
	}, nil
}

// searchLinks writes self, first, previous and next links that reproduce
// the query (https://hl7.org/fhir/R4/http.html#paging).
func (a *API) searchLinks(req *Request, s *Search, res *store.Result) []any {
	base := req.Base + req.path()
	self := s.Self
	if self == nil {
		self = url.Values{}
		for k, v := range req.Query {
			if k != "_format" && k != pageOffset {
				self[k] = v
			}
		}
	}
	q := s.Query
	at := func(offset int) url.Values {
		v := url.Values{}
		for k, vals := range self {
			v[k] = vals
		}
		v.Del(pageOffset)
		if q.Count != a.defCount && s.Summary != "count" {
			v.Set("_count", strconv.Itoa(q.Count))
		}
		if offset > 0 {
			v.Set(pageOffset, strconv.Itoa(offset))
		}
		return v
	}
	links := []any{link("self", base, at(q.Offset)), link("first", base, at(0))}
	if q.Offset > 0 && q.Count > 0 {
		links = append(links, link("previous", base, at(max(0, q.Offset-q.Count))))
	}
	if res.More && q.Count > 0 {
		links = append(links, link("next", base, at(q.Offset+q.Count)))
	}
	return links
}

func newBundleID() string { return repo.NewID() }
