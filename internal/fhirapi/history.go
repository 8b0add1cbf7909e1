package fhirapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// Paging parameters of history Bundles. The first page pins the listing to
// a point in time (pageAt) so that later pages do not shift under writes;
// pageCursor continues from the store's cursor.
const (
	pageAt     = "_pageAt"
	pageCursor = "_pageCursor"
)

// history is GET [base]/_history, [base]/[type]/_history and
// [base]/[type]/[id]/_history (https://hl7.org/fhir/R4/http.html#history),
// with _since and _count. The Bundle has type history, newest first; a
// deletion is an entry with request DELETE and no resource.
func (a *API) history(ctx context.Context, req *Request) (*Response, error) {
	q, err := a.historyQuery(req)
	if err != nil {
		return nil, err
	}
	if req.ID != "" {
		// The resource must exist (or have existed).
		if _, err := a.repo.Read(ctx, req.Type, req.ID); err != nil && !errs.Is(err, errs.Gone) {
			return nil, err
		}
	}
	page, err := a.repo.History(ctx, q)
	if err != nil {
		return nil, err
	}
	entries := make([]any, 0, len(page.Records))
	for _, rec := range page.Records {
		e, err := historyEntry(req.Base, rec)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	b := map[string]any{"resourceType": "Bundle", "type": "history", "total": page.Total,
		"link": a.historyLinks(req, q, page), "entry": entries}
	b["id"] = newBundleID()
	b["meta"] = map[string]any{"lastUpdated": formatInstant(a.now())}
	return jsonResponse(http.StatusOK, b), nil
}

func (a *API) historyQuery(req *Request) (store.HistoryQuery, error) {
	q := store.HistoryQuery{Type: req.Type, ID: req.ID, Count: a.defCount}
	for name, vals := range req.Query {
		if len(vals) == 0 {
			continue
		}
		v := vals[0]
		var err error
		switch name {
		case "_since":
			q.Since, err = parseInstant(name, v)
		case pageAt:
			q.At, err = parseInstant(name, v)
		case pageCursor:
			q.After = v
		case "_count":
			q.Count, err = a.parseCount(v)
		case "_format", "_pretty", "_summary", "_elements":
		default:
			if req.Prefer.Handling == "strict" {
				return q, errs.E(errs.Invalid, "history", "unsupported history parameter "+quote(name),
					issue("error", "not-supported", "unknown parameter "+quote(name), name))
			}
		}
		if err != nil {
			return q, err
		}
	}
	if q.At.IsZero() {
		q.At = a.now().UTC()
	}
	return q, nil
}

func (a *API) parseCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.E(errs.Invalid, "paging", "_count must be a non-negative integer",
			issue("error", "value", "invalid _count "+quote(v), "_count"))
	}
	if n > a.maxCount {
		n = a.maxCount
	}
	return n, nil
}

// parseInstant reads a FHIR instant or dateTime with a time zone.
func parseInstant(name, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errs.E(errs.Invalid, "history", name+" must be an instant such as 2024-01-31T12:00:00Z",
		issue("error", "value", "invalid "+name+" "+quote(v), name))
}

func (a *API) historyLinks(req *Request, q store.HistoryQuery, page *store.HistoryPage) []any {
	base := req.Base + req.path()
	self := url.Values{}
	for k, v := range req.Query {
		if k != "_format" {
			self[k] = v
		}
	}
	links := []any{link("self", base, self)}
	first := url.Values{}
	for k, v := range self {
		if k != pageCursor {
			first[k] = v
		}
	}
	first.Set(pageAt, formatInstant(q.At))
	links = append(links, link("first", base, first))
	if page.Next != "" {
		next := url.Values{}
		for k, v := range first {
			next[k] = v
		}
		next.Set(pageCursor, page.Next)
		links = append(links, link("next", base, next))
	}
	return links
}

func link(rel, base string, q url.Values) map[string]any {
	u := base
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return map[string]any{"relation": rel, "url": u}
}

// historyEntry renders one version (https://hl7.org/fhir/R4/bundle.html#history).
func historyEntry(base string, rec *store.Record) (map[string]any, error) {
	e := map[string]any{"fullUrl": base + "/" + rec.Type + "/" + rec.ID}
	reqURL, method, status := rec.Type+"/"+rec.ID, "PUT", "200 OK"
	switch rec.Method {
	case store.MethodCreate:
		reqURL, method, status = rec.Type, "POST", "201 Created"
	case store.MethodDelete:
		method, status = "DELETE", "204 No Content"
	}
	if rec.Deleted {
		method, status = "DELETE", "204 No Content"
	} else {
		e["resource"] = fhir.Raw(rec.JSON)
	}
	e["request"] = map[string]any{"method": method, "url": reqURL}
	e["response"] = map[string]any{"status": status, "etag": etag(rec.Version), "lastModified": formatInstant(rec.LastUpdated)}
	return e, nil
}

// formatInstant renders a time as a FHIR instant.
func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
