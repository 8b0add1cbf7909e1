package app

import (
	"context"
	"fmt"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/reindex"
)

// Reindex rebuilds the index rows of stored resources with this App's
// search parameters (the `openchart reindex` command). Run it from an App
// opened after the definitions changed: its registry is the new one.
func (a *App) Reindex(ctx context.Context, opts reindex.Options) (*reindex.Summary, error) {
	isType := concreteTypes(a.Defs)
	for _, t := range opts.Types {
		if !isType(t) {
			return nil, errs.E("reindex", errs.Invalid, fmt.Sprintf("%q is not a FHIR R4 resource type", t))
		}
	}
	return reindex.Run(ctx, a.Store, a.Indexer, opts)
}
