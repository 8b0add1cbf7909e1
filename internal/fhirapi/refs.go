package fhirapi

import (
	"context"
	"net/url"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
)

// refResolver rewrites the references of a transaction's resources
// (https://hl7.org/fhir/R4/http.html#trules): a reference to an entry's
// fullUrl (urn:uuid:, urn:oid: or an absolute URL) becomes Type/id of the
// resource it now names; a conditional reference "Type?criteria" becomes
// the Type/id of its single match (none: 404, several: 412).
type refResolver struct {
	ids  map[string]string // fullUrl (and equivalent relative forms) -> Type/id
	tx   *repo.Tx
	cond map[string]string // resolved conditional references
}

// rewrite walks a resource: every Reference.reference is resolved, and every
// other string equal to a known urn fullUrl (uri and canonical elements) is
// replaced. Narrative is left alone.
func (r *refResolver) rewrite(ctx context.Context, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			s, ok := child.(string)
			switch {
			case k == "div":
				continue
			case ok && k == "reference":
				ref, err := r.reference(ctx, s)
				if err != nil {
					return err
				}
				x[k] = ref
			case ok:
				if to, found := r.ids[s]; found && isURN(s) {
					x[k] = to
				}
			default:
				if err := r.rewrite(ctx, child); err != nil {
					return err
				}
			}
		}
	case []any:
		for i, child := range x {
			if s, ok := child.(string); ok {
				if to, found := r.ids[s]; found && isURN(s) {
					x[i] = to
				}
				continue
			}
			if err := r.rewrite(ctx, child); err != nil {
				return err
			}
		}
	}
	return nil
}

func isURN(s string) bool {
	return strings.HasPrefix(s, "urn:uuid:") || strings.HasPrefix(s, "urn:oid:")
}

func (r *refResolver) reference(ctx context.Context, s string) (string, error) {
	if to, ok := r.ids[s]; ok {
		return to, nil
	}
	typ, rawCrit, isCond := strings.Cut(s, "?")
	if !isCond || !isTypeName(typ) || strings.Contains(typ, "/") {
		return s, nil
	}
	if to, ok := r.cond[s]; ok {
		return to, nil
	}
	crit, err := url.ParseQuery(rawCrit)
	if err != nil || len(crit) == 0 {
		return "", errs.E(errs.Invalid, "reference", "malformed conditional reference "+quote(s),
			issue("error", "invalid", "malformed conditional reference "+quote(s)))
	}
	rec, err := r.tx.Match(ctx, typ, crit)
	if err != nil {
		return "", errs.E(err, "conditional reference", "the conditional reference "+quote(s)+" did not resolve to exactly one resource: "+errs.Message(err))
	}
	to := rec.Type + "/" + rec.ID
	r.cond[s] = to
	return to, nil
}
