package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// loadRegistry builds the search parameter registry from the embedded
// definitions and the active SearchParameter resources in the store. The
// set is fixed for the life of the App: an index is only consistent with
// the parameters it was built with, so a parameter stored later takes
// effect when an App opened after it runs `openchart reindex` and the
// server restarts (docs/ARCHITECTURE.md, "Search parameters").
//
// The resources are read through a Repository that cannot write (the
// writing one needs the registry this builds). A custom parameter that
// cannot be used is logged and left out; it never stops the server.
func loadRegistry(ctx context.Context, d *defs.Definitions, st store.Store, val repo.Validator, log *slog.Logger) (*search.Registry, error) {
	core := search.NewCompiler(d)
	reader, err := repo.New(repo.Config{
		Store:        st,
		Validator:    val,
		Indexer:      noIndexer{},
		Criteria:     criteria{core},
		ResourceType: concreteTypes(d),
		Layout:       d,
	})
	if err != nil {
		return nil, err
	}
	c, err := core.Compile("SearchParameter", url.Values{"status": {"active"}}, true)
	if err != nil {
		return nil, fmt.Errorf("reading custom search parameters: %w", err)
	}
	q := c.Query
	q.Count, q.Offset, q.Total = 0, 0, store.TotalNone // every match, in store order
	// OpenChart itself reads them (audited as the system).
	res, err := reader.Search(access.With(ctx, &access.Principal{Kind: access.System}), q)
	if err != nil {
		return nil, fmt.Errorf("reading custom search parameters: %w", err)
	}
	var resources []map[string]any
	for _, rec := range res.Records {
		m, err := fhir.Parse(rec.JSON, fhir.ParseOptions{})
		if err != nil {
			log.Warn("custom search parameter skipped: stored JSON does not parse", "resource", "SearchParameter/"+rec.ID, "err", err)
			continue
		}
		resources = append(resources, m)
	}
	reg, problems := search.NewRegistry(d, append(builtinParams(), resources...))
	for _, p := range problems {
		log.Warn("custom search parameter refused", "problem", p.Error())
	}
	if n := len(reg.Custom()); n > 0 {
		codes := make([]string, n)
		for i, sp := range reg.Custom() {
			codes[i] = sp.Code
		}
		log.Info("custom search parameters loaded", "count", n, "codes", codes)
	}
	return reg, nil
}

// noIndexer is the Indexer of the Repository that reads the registry: it
// never writes, so it never indexes.
type noIndexer struct{}

func (noIndexer) Index(map[string]any) (store.Index, error) {
	return store.Index{}, errors.New("the registry reader cannot write")
}

// builtinParams are the SearchParameters OpenChart defines beyond R4's and
// always indexes. The access policy's consent rule needs
// Consent.provision.type (permit | deny), which R4 does not search
// (docs/ACCESS.md); the code is repo.ProvisionTypeParam.
func builtinParams() []map[string]any {
	return []map[string]any{{
		"resourceType": "SearchParameter",
		"id":           "Consent-provision-type",
		"url":          "http://openchart.org/fhir/SearchParameter/Consent-provision-type",
		"name":         "ConsentProvisionType",
		"status":       "active",
		"description":  "The type of a Consent's root provision: permit or deny",
		"code":         repo.ProvisionTypeParam,
		"base":         []any{"Consent"},
		"type":         "token",
		"expression":   "Consent.provision.type",
	}}
}
