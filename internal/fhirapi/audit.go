package fhirapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// The audit trail seen as AuditEvent resources
// (https://hl7.org/fhir/R4/auditevent.html; the audit report of ONC 45 CFR
// 170.315(d)(3)). Entries are not stored as resources: they are read from
// the chain, each as AuditEvent "audit-<seq>".
//
//   - GET [base]/AuditEvent/audit-<seq> reads one entry;
//   - GET [base]/AuditEvent?... searches the trail: date, agent,
//     agent-name, altid, patient, action, outcome, subtype (the
//     interaction), _sort by date, agent, patient, action or outcome
//     (descending with "-"), _count and paging;
//   - any write to AuditEvent/audit-<seq> is 405 (the trail is append-only;
//     the Repository refuses such ids on every path, Bundles included).
//
// AuditEvents that clients create (an app reporting its own events) stay
// ordinary resources with ordinary ids, read, updated and deleted as usual;
// the type-level search serves the trail only.

// isAuditTrail reports whether req addresses the audit trail.
func isAuditTrail(req *Request) bool {
	if req.Type != "AuditEvent" || req.Operation != "" || req.Compartment != "" {
		return false
	}
	if req.ID == "" {
		return !req.History && (req.Method == "GET" || req.Method == "HEAD" || (req.Method == "POST" && req.SearchPost))
	}
	return strings.HasPrefix(req.ID, audit.IDPrefix)
}

// auditTrail serves a request isAuditTrail accepted.
func (a *API) auditTrail(ctx context.Context, req *Request) (*Response, error) {
	if req.Method != "GET" && req.Method != "HEAD" && !(req.ID == "" && req.SearchPost) {
		return nil, errs.E(errs.MethodNotAllowed, "audit", req.Method+" is not allowed on "+req.path()+": the audit trail is append-only",
			issue("error", "forbidden", "audit trail entries cannot be created, changed or deleted through the API"))
	}
	if req.ID != "" {
		return a.auditRead(ctx, req)
	}
	return a.auditSearch(ctx, req)
}

func (a *API) auditRead(ctx context.Context, req *Request) (*Response, error) {
	seq, ok := audit.ParseID(req.ID)
	if !ok || req.History || req.VersionID != "" && req.VersionID != "1" {
		return nil, errs.E(errs.NotFound, "audit", "AuditEvent/"+req.ID+" does not exist",
			issue("error", "not-found", "no audit entry "+quote(req.ID)))
	}
	page, err := a.repo.AuditReport(ctx, store.AuditQuery{Seq: seq, Count: 1})
	if err != nil {
		return nil, err
	}
	if len(page.Rows) == 0 {
		return nil, errs.E(errs.NotFound, "audit", "AuditEvent/"+req.ID+" does not exist",
			issue("error", "not-found", "no audit entry "+quote(req.ID)))
	}
	ev, rec, err := a.auditResource(page.Rows[0])
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, ETag: etag(1), LastModified: rec, Body: fhir.MarshalResource(ev, a.defs), res: ev}, nil
}

// auditResource is a row as an AuditEvent, with meta.versionId 1 (an entry
// never changes) and lastUpdated its recording time.
func (a *API) auditResource(r *audit.Row) (map[string]any, time.Time, error) {
	e, err := r.Entry()
	if err != nil {
		return nil, time.Time{}, errs.E(errs.Internal, "audit", err)
	}
	ev := e.AuditEvent("OpenChart")
	ev["meta"] = map[string]any{"versionId": "1", "lastUpdated": e.Recorded.UTC().Format("2006-01-02T15:04:05.000000Z")}
	return ev, e.Recorded, nil
}

// auditSearch answers a search of the trail with a searchset Bundle.
func (a *API) auditSearch(ctx context.Context, req *Request) (*Response, error) {
	q, err := a.auditQuery(req.Query)
	if err != nil {
		return nil, err
	}
	ctx = audit.WithQuery(ctx, withoutFormat(req.Query))
	page, err := a.repo.AuditReport(ctx, q)
	if err != nil {
		return nil, err
	}
	entries := make([]any, 0, len(page.Rows))
	for _, r := range page.Rows {
		ev, _, err := a.auditResource(r)
		if err != nil {
			return nil, err
		}
		entries = append(entries, map[string]any{
			"fullUrl":  req.Base + "/AuditEvent/" + fhir.IDOf(ev),
			"resource": fhir.Raw(fhir.MarshalResource(ev, a.defs)),
			"search":   map[string]any{"mode": "match"},
		})
	}
	self := withoutFormat(req.Query)
	at := func(offset int) url.Values {
		v := url.Values{}
		for k, vals := range self {
			v[k] = vals
		}
		v.Del(pageOffset)
		if offset > 0 {
			v.Set(pageOffset, strconv.Itoa(offset))
		}
		return v
	}
	base := req.Base + "/AuditEvent"
	links := []any{link("self", base, at(q.Offset)), link("first", base, at(0))}
	if q.Offset > 0 {
		links = append(links, link("previous", base, at(max(0, q.Offset-q.Count))))
	}
	if page.More {
		links = append(links, link("next", base, at(q.Offset+q.Count)))
	}
	b := map[string]any{"resourceType": "Bundle", "id": newBundleID(), "type": "searchset", "link": links}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return jsonResponse(http.StatusOK, b), nil
}

func withoutFormat(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k != "_format" && k != "_pretty" {
			out[k] = v
		}
	}
	return out
}

// auditSorts maps _sort names to report keys.
var auditSorts = map[string]store.AuditKey{
	"date": store.AuditByTime, "agent": store.AuditByUser, "agent-name": store.AuditByUser,
	"patient": store.AuditByPatient, "action": store.AuditByAction, "outcome": store.AuditByOutcome,
}

// auditQuery reads the search parameters of a trail search. Every
// parameter must be understood: a report must never be wider than asked.
func (a *API) auditQuery(params url.Values) (store.AuditQuery, error) {
	q := store.AuditQuery{Count: a.defCount}
	bad := func(name, msg string) error {
		return errs.E(errs.Invalid, "audit search", msg, issue("error", "value", msg, name))
	}
	for name, vals := range params {
		for _, v := range vals {
			var err error
			switch name {
			case "_format", "_pretty":
			case "date":
				err = auditDate(&q, v)
			case "agent", "agent-name", "altid":
				if q.User != "" && q.User != v {
					return q, bad(name, "only one agent can be given")
				}
				q.User = v
			case "patient":
				if q.Patient != "" && q.Patient != v {
					return q, bad(name, "only one patient can be given")
				}
				q.Patient = strings.TrimPrefix(v, "Patient/")
			case "action":
				for _, x := range strings.Split(v, ",") {
					q.Actions = append(q.Actions, audit.Action(x))
				}
			case "subtype":
				for _, x := range strings.Split(v, ",") {
					_, code, _ := strings.Cut(x, "|")
					if code == "" {
						code = x
					}
					q.Interactions = append(q.Interactions, code)
				}
			case "outcome":
				for _, x := range strings.Split(v, ",") {
					n, perr := strconv.Atoi(x)
					if perr != nil {
						return q, bad(name, "invalid outcome "+quote(x))
					}
					q.Outcomes = append(q.Outcomes, audit.Outcome(n))
				}
			case "_sort":
				for _, x := range strings.Split(v, ",") {
					desc := strings.HasPrefix(x, "-")
					k, ok := auditSorts[strings.TrimPrefix(x, "-")]
					if !ok {
						return q, bad(name, "cannot sort the audit trail by "+quote(x))
					}
					q.Sort = append(q.Sort, store.AuditSort{Key: k, Desc: desc})
				}
			case "_count":
				q.Count, err = a.parseCount(v)
			case pageOffset:
				q.Offset, err = strconv.Atoi(v)
				if err == nil && q.Offset < 0 {
					err = bad(name, "invalid paging offset")
				}
			default:
				return q, errs.E(errs.Invalid, "audit search", "unknown or unsupported audit search parameter "+quote(name),
					issue("error", "not-supported", "the audit trail is searched by date, agent, agent-name, altid, patient, action, outcome and subtype", name))
			}
			if err != nil {
				if errs.KindOf(err) == errs.Other {
					err = bad(name, "invalid "+name+" "+quote(v))
				}
				return q, err
			}
		}
	}
	if q.Count == 0 {
		q.Count = a.defCount
	}
	return q, nil
}

// auditDate applies one date parameter (https://hl7.org/fhir/R4/search.html#date):
// the recording time compared with the value's interval at its precision.
func auditDate(q *store.AuditQuery, v string) error {
	prefix, val := "eq", v
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, val = v[:2], v[2:]
	}
	low, high, err := search.DateRange(val)
	if err != nil {
		return errs.E(errs.Invalid, "audit search", err.Error(), issue("error", "value", err.Error(), "date"))
	}
	from, to := func(t time.Time) {
		if q.From.IsZero() || t.After(q.From) {
			q.From = t
		}
	}, func(t time.Time) {
		if q.To.IsZero() || t.Before(q.To) {
			q.To = t
		}
	}
	switch prefix {
	case "eq":
		from(low)
		to(high)
	case "ge":
		from(low)
	case "gt", "sa":
		from(high.Add(time.Microsecond))
	case "le":
		to(high)
	case "lt", "eb":
		to(low.Add(-time.Microsecond))
	default:
		return errs.E(errs.Invalid, "audit search", "unsupported date prefix "+quote(prefix), issue("error", "not-supported", "prefix "+prefix, "date"))
	}
	return nil
}
