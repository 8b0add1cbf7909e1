package fhirapi

import (
	"net/url"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/search"
)

// NewSearchAdapter adapts a *search.Compiler to the Compiler interface.
func NewSearchAdapter(c *search.Compiler) Compiler { return searchAdapter{c} }

type searchAdapter struct{ c *search.Compiler }

func (s searchAdapter) Compile(typ string, params url.Values, strict bool) (*Search, error) {
	out, err := s.c.Compile(typ, params, strict)
	if err != nil {
		if errs.Is(err, errs.NotSupported) {
			// An unknown or unsupported parameter under handling=strict is a
			// client error (https://hl7.org/fhir/R4/search.html#errors).
			err = errs.E(errs.Invalid, err)
		}
		return nil, err
	}
	r := &Search{Query: out.Query, Summary: out.Params.Summary, Elements: out.Params.Elements,
		Ignored: out.Ignored, Self: out.SelfLink}
	for _, in := range out.Params.Include {
		r.Include = append(r.Include, Include(in))
	}
	for _, in := range out.Params.RevInclude {
		r.RevInclude = append(r.RevInclude, Include(in))
	}
	return r, nil
}
