package fhirapi

import (
	"context"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// maxIncludeRounds bounds :iterate (https://hl7.org/fhir/R4/search.html#revinclude):
// includes of includes are followed this many levels deep.
const maxIncludeRounds = 4

// includes executes _include and _revinclude
// (https://hl7.org/fhir/R4/search.html#include). Every included resource
// is read or searched through the Repository, so the access policy applies
// to it exactly as to a match. seen holds Type/id of the resources already
// in the Bundle and is updated.
func (a *API) includes(ctx context.Context, s *Search, matches []*store.Record, seen map[string]bool) ([]*store.Record, []errs.Issue, error) {
	if len(s.Include) == 0 && len(s.RevInclude) == 0 {
		return nil, nil, nil
	}
	var notes []errs.Issue
	if len(s.Include) > 0 && a.indexer == nil {
		notes = append(notes, issue("warning", "not-supported", "_include is not supported by this server configuration", "_include"))
	}
	var out []*store.Record
	frontier := matches
	for round := 0; round < maxIncludeRounds && len(frontier) > 0; round++ {
		var next []*store.Record
		for _, inc := range s.Include {
			if (round > 0 && !inc.Iterate) || a.indexer == nil {
				continue
			}
			recs, err := a.forwardInclude(ctx, inc, frontier, seen)
			if err != nil {
				return nil, nil, err
			}
			next = append(next, recs...)
		}
		for _, inc := range s.RevInclude {
			if round > 0 && !inc.Iterate {
				continue
			}
			recs, err := a.reverseInclude(ctx, inc, frontier, seen)
			if err != nil {
				return nil, nil, err
			}
			next = append(next, recs...)
		}
		out = append(out, next...)
		if len(out) >= a.maxCount {
			notes = append(notes, issue("warning", "too-costly", "included resources were truncated"))
			break
		}
		frontier = next
	}
	return out, notes, nil
}

// forwardInclude follows the references of parameter inc.Param from the
// resources of type inc.Source ("*" for any) to their targets.
func (a *API) forwardInclude(ctx context.Context, inc Include, from []*store.Record, seen map[string]bool) ([]*store.Record, error) {
	var out []*store.Record
	for _, rec := range from {
		if inc.Source != "*" && rec.Type != inc.Source {
			continue
		}
		res, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
		if err != nil {
			return nil, errs.E(errs.Internal, "include", err)
		}
		refs, err := a.includeRefs(res, inc.Param)
		if err != nil {
			return nil, errs.E(errs.Internal, "include", err)
		}
		for _, ref := range refs {
			if (inc.Param != "*" && ref.Param != inc.Param) || ref.TargetType == "" || ref.TargetID == "" {
				continue
			}
			if inc.Target != "" && ref.TargetType != inc.Target {
				continue
			}
			k := ref.TargetType + "/" + ref.TargetID
			if seen[k] {
				continue
			}
			seen[k] = true
			target, err := a.repo.Read(ctx, ref.TargetType, ref.TargetID)
			switch {
			case errs.Is(err, errs.NotFound), errs.Is(err, errs.Gone), errs.Is(err, errs.Permission):
				continue // dangling or hidden references are simply not included
			case err != nil:
				return nil, err
			}
			out = append(out, target)
		}
	}
	return out, nil
}

// referenceIndexer is an Indexer that also gives the reference rows of one
// parameter alone (search.Indexer does): _include then evaluates only the
// parameter it follows, not every parameter of the type.
type referenceIndexer interface {
	References(res map[string]any, param string) ([]store.Reference, error)
}

// includeRefs returns the reference rows of parameter param ("*": every
// reference parameter) of res; the caller still filters them by param.
func (a *API) includeRefs(res map[string]any, param string) ([]store.Reference, error) {
	if ri, ok := a.indexer.(referenceIndexer); ok {
		return ri.References(res, param)
	}
	ix, err := a.indexer.Index(res)
	return ix.References, err
}

// reverseInclude finds the resources of type inc.Source whose parameter
// inc.Param references any of from.
func (a *API) reverseInclude(ctx context.Context, inc Include, from []*store.Record, seen map[string]bool) ([]*store.Record, error) {
	if inc.Source == "" || inc.Source == "*" || len(from) == 0 {
		return nil, nil
	}
	var or []store.Predicate
	for _, rec := range from {
		if inc.Target != "" && rec.Type != inc.Target {
			continue
		}
		for _, p := range a.revParams(inc) {
			or = append(or, store.Predicate{Param: p, Kind: store.KindReference, TargetType: rec.Type, TargetID: rec.ID})
		}
	}
	if len(or) == 0 {
		return nil, nil
	}
	q := &store.Query{Types: []string{inc.Source}, Where: []store.Clause{{Or: or}}, Count: a.maxCount}
	res, err := a.repo.Search(ctx, q)
	switch {
	case errs.Is(err, errs.Permission):
		return nil, nil // the caller may not read inc.Source: nothing to include
	case err != nil:
		return nil, err
	}
	var out []*store.Record
	for _, rec := range res.Records {
		k := rec.Type + "/" + rec.ID
		if !seen[k] {
			seen[k] = true
			out = append(out, rec)
		}
	}
	return out, nil
}

// revParams lists the reference parameters a _revinclude follows: its
// Param, or every reference parameter of Source for "*".
func (a *API) revParams(inc Include) []string {
	if inc.Param != "*" {
		return []string{inc.Param}
	}
	var out []string
	for _, sp := range a.defs.SearchParams(inc.Source) {
		if sp.Type == "reference" {
			out = append(out, sp.Code)
		}
	}
	return out
}
