package search

import (
	"fmt"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// References returns the reference rows of one reference parameter of res,
// or of every reference parameter of its type for code "*": the rows Index
// gives those parameters, in the same order, without evaluating any other
// parameter. _include follows them.
func (ix *Indexer) References(res map[string]any, code string) ([]store.Reference, error) {
	typ := fhir.TypeOf(res)
	ti := ix.byType[typ]
	if ti == nil {
		return nil, errs.E("index", errs.Invalid, fmt.Sprintf("unknown resource type %q", typ))
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	var out []store.Reference
	for _, p := range ti.params {
		if p.kind != store.KindReference || (code != "*" && p.code != code) {
			continue
		}
		buf, err := ix.values(&p.eval, res, typ, sc.vals[:0], sc)
		sc.vals = buf[:0]
		if err != nil {
			continue // as Index: the parameter has no rows
		}
		n := len(out)
		for _, v := range buf {
			out, _ = appendReferences(out, nil, p.code, ix.base, v)
		}
		out = dedupe(out, n)
	}
	return out, nil
}
