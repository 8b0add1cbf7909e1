package audit

import (
	"context"
	"net/url"
	"sort"
)

type queryKey struct{}

// WithQuery returns a context carrying the parameters of the search a
// door is running, so that the entries the Repository writes for it record
// the search as the client asked it.
func WithQuery(ctx context.Context, params url.Values) context.Context {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var q []Param
	for _, k := range names {
		for _, v := range params[k] {
			q = append(q, Param{Name: k, Value: v})
		}
	}
	return context.WithValue(ctx, queryKey{}, q)
}

// QueryFrom returns the search parameters WithQuery put in ctx.
func QueryFrom(ctx context.Context) []Param {
	q, _ := ctx.Value(queryKey{}).([]Param)
	return q
}
