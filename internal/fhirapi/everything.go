package fhirapi

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// everythingOp declares Patient/$everything in the CapabilityStatement.
var everythingOp = map[string]any{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}

// everythingRefTypes are the types outside the Patient compartment that
// $everything adds when a resource of the record references them: the spec
// asks for "any resource referenced from those, including binaries and
// attachments" that a client needs to make sense of the record
// (https://hl7.org/fhir/R4/patient-operation-everything.html). The people,
// places and products of care are followed, one level deep.
var everythingRefTypes = map[string]bool{
	"Practitioner": true, "PractitionerRole": true, "Organization": true,
	"Location": true, "Medication": true,
}

// everythingQuery holds the inputs of one $everything call.
type everythingQuery struct {
	since  time.Time       // _since: only resources with lastUpdated >= since
	types  map[string]bool // _type: nil means every type
	count  int
	offset int
	self   url.Values // the inputs as applied, for the Bundle's links
	notes  []errs.Issue
}

func (q *everythingQuery) wants(typ string) bool { return q.types == nil || q.types[typ] }

// everything is GET/POST [base]/Patient/[id]/$everything
// (https://hl7.org/fhir/R4/patient-operation-everything.html): a searchset
// Bundle holding the Patient, every resource in its Patient compartment and
// the practitioners, organizations, locations and medications those
// reference. Every resource is read through the Repository, so the access
// policy applies to each. Entries come in a stable order (the Patient, then
// by type and id) and pages are addressed by _offset like search pages.
func (a *API) everything(ctx context.Context, req *Request) (*Response, error) {
	if req.Type != "Patient" || req.Compartment != "" || req.History || req.VersionID != "" {
		return nil, errs.E(errs.NotSupported, "everything", "$everything is only supported as Patient/[id]/$everything",
			issue("error", "not-supported", "$everything is not defined on "+req.path()))
	}
	if req.Method != "GET" && req.Method != "HEAD" && req.Method != "POST" {
		return nil, notAllowed(req)
	}
	if req.ID == "" {
		// The type-level form returns every patient's record; it is refused
		// rather than left to run unbounded.
		return nil, errs.E(errs.Invalid, "everything", "Patient/$everything needs a patient: use Patient/[id]/$everything",
			issue("error", "not-supported", "the type-level Patient/$everything (all patients) is not supported; call Patient/[id]/$everything"))
	}
	q, err := a.everythingQuery(req)
	if err != nil {
		return nil, err
	}
	patient, err := a.repo.Read(ctx, "Patient", req.ID)
	if err != nil {
		return nil, err
	}
	list, err := a.everythingRecords(ctx, req, q, patient)
	if err != nil {
		return nil, err
	}
	total := len(list)
	from, to := min(q.offset, total), min(q.offset+q.count, total)
	entries := make([]any, 0, to-from+1)
	for _, r := range list[from:to] {
		entries = append(entries, map[string]any{
			"fullUrl":  req.Base + "/" + r.rec.Type + "/" + r.rec.ID,
			"resource": fhir.Raw(r.rec.JSON), // the stored canonical bytes, as search embeds them
			"search":   map[string]any{"mode": r.mode},
		})
	}
	if len(q.notes) > 0 {
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + repo.NewID(),
			"resource": outcome(q.notes...),
			"search":   map[string]any{"mode": "outcome"},
		})
	}
	b := map[string]any{"resourceType": "Bundle", "id": newBundleID(), "type": "searchset",
		"meta":  map[string]any{"lastUpdated": formatInstant(a.now())},
		"total": total, "link": a.everythingLinks(req, q, to < total)}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return jsonResponse(http.StatusOK, b), nil
}

// everythingRecord is one resource of the result with its search mode:
// match for the Patient and its compartment, include for what they reference.
type everythingRecord struct {
	rec  *store.Record
	mode string
}

// everythingRecords collects the whole result, filtered by _type and
// _since, in its stable order.
func (a *API) everythingRecords(ctx context.Context, req *Request, q *everythingQuery, patient *store.Record) ([]everythingRecord, error) {
	follow := false
	for t := range everythingRefTypes {
		follow = follow || q.wants(t)
	}
	// References are followed from the whole compartment, whatever _type
	// keeps: "the practitioners of this record" is a meaningful question.
	var types []string
	c := a.defs.Compartment("Patient")
	for _, t := range a.defs.ResourceTypes() {
		if c.Params(t) != nil && (follow || q.wants(t)) {
			types = append(types, t)
		}
	}
	members := []*store.Record{patient}
	if len(types) > 0 {
		res, err := a.repo.Search(ctx, &store.Query{Types: types, Where: []store.Clause{search.CompartmentClause("Patient", patient.ID)}})
		if err != nil {
			return nil, err
		}
		members = append(members, res.Records...)
	}
	seen := make(map[store.Ref]bool, len(members))
	keep := func(rec *store.Record) bool {
		return q.wants(rec.Type) && !rec.LastUpdated.Before(q.since)
	}
	out := make([]everythingRecord, 0, len(members))
	for _, rec := range members {
		k := store.Ref{Type: rec.Type, ID: rec.ID}
		if seen[k] {
			continue
		}
		seen[k] = true
		if keep(rec) {
			out = append(out, everythingRecord{rec, "match"})
		}
	}
	if follow {
		refs, err := a.everythingRefs(ctx, req.Base, members, seen)
		if err != nil {
			return nil, err
		}
		for _, rec := range refs {
			if keep(rec) {
				out = append(out, everythingRecord{rec, "include"})
			}
		}
	}
	slices.SortFunc(out, func(x, y everythingRecord) int {
		// The Patient first, then by type and id: an order both stores
		// reproduce exactly, so pages neither skip nor repeat.
		xp, yp := x.rec.Type == "Patient" && x.rec.ID == patient.ID, y.rec.Type == "Patient" && y.rec.ID == patient.ID
		switch {
		case xp != yp:
			if xp {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(x.rec.Type, y.rec.Type), strings.Compare(x.rec.ID, y.rec.ID))
	})
	return out, nil
}

// everythingRefs reads, through the Repository, the resources of
// everythingRefTypes that the records reference and that are not in seen
// (which it updates): one search by _id per type. Dangling references and
// resources the Repository does not show are left out. The references are
// read from the stored bytes (fhir.EachReference), without parsing them.
func (a *API) everythingRefs(ctx context.Context, base string, recs []*store.Record, seen map[store.Ref]bool) ([]*store.Record, error) {
	ids := map[string][]store.Predicate{}
	follow := func(ref []byte) {
		if !everythingRefType(base, ref) {
			return
		}
		typ, id, ok := localReference(base, string(ref))
		if !ok || !everythingRefTypes[typ] || seen[store.Ref{Type: typ, ID: id}] {
			return
		}
		seen[store.Ref{Type: typ, ID: id}] = true
		ids[typ] = append(ids[typ], store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: id})
	}
	for _, rec := range recs {
		if err := fhir.EachReference(rec.JSON, follow); err != nil {
			return nil, errs.E(errs.Internal, "everything", err)
		}
	}
	types := make([]string, 0, len(ids))
	for t := range ids {
		types = append(types, t)
	}
	slices.Sort(types)
	var out []*store.Record
	for _, t := range types {
		res, err := a.repo.Search(ctx, &store.Query{Types: []string{t}, Where: []store.Clause{{Or: ids[t]}}})
		switch {
		case errs.Is(err, errs.Permission):
			continue // a type the caller may not read is left out, like a dangling reference
		case err != nil:
			return nil, err
		}
		out = append(out, res.Records...)
	}
	return out, nil
}

// everythingRefType tells, without allocating, whether ref can be a local
// reference to one of everythingRefTypes: what comes before its first "/"
// (after base and "/", when ref starts with them) is one of them. Most
// references of a record (to the Patient, its Encounters) stop here.
func everythingRefType(base string, ref []byte) bool {
	if base != "" && len(ref) > len(base) && ref[len(base)] == '/' && string(ref[:len(base)]) == base {
		ref = ref[len(base)+1:]
	}
	i := bytes.IndexByte(ref, '/')
	return i > 0 && everythingRefTypes[string(ref[:i])]
}

// localReference reads a literal reference to a resource on this server:
// Type/id, Type/id/_history/v, or either under base. Contained ("#x"),
// conditional and foreign references are not local.
func localReference(base, ref string) (typ, id string, ok bool) {
	if base != "" && strings.HasPrefix(ref, base+"/") {
		ref = ref[len(base)+1:]
	}
	parts := strings.Split(ref, "/")
	if len(parts) != 2 && !(len(parts) == 4 && parts[2] == "_history") {
		return "", "", false
	}
	if !isTypeName(parts[0]) || !fhir.ValidID(parts[1]) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// everythingQuery reads the operation's inputs: URL parameters, and for
// POST the parameters of a Parameters body
// (https://hl7.org/fhir/R4/operations.html#request). start and end (care
// dates) are accepted but not applied; the Bundle says so.
func (a *API) everythingQuery(req *Request) (*everythingQuery, error) {
	in := url.Values{}
	for k, v := range req.Query {
		in[k] = append(in[k], v...)
	}
	if req.Method == "POST" && len(req.Body) > 0 {
		body, err := parseResource(req, "Parameters")
		if err != nil {
			return nil, err
		}
		for _, x := range asSlice(body["parameter"]) {
			p, _ := x.(map[string]any)
			name, _ := p["name"].(string)
			for k, v := range p {
				if s, ok := v.(string); ok && strings.HasPrefix(k, "value") {
					in.Add(name, s)
				} else if n, ok := v.(interface{ String() string }); ok && strings.HasPrefix(k, "value") {
					in.Add(name, n.String()) // valueInteger is a json.Number
				}
			}
		}
	}
	q := &everythingQuery{count: a.defCount, self: url.Values{}}
	bad := func(name, v, want string) error {
		return errs.E(errs.Invalid, "everything", "invalid "+name+" "+quote(v)+": "+want,
			issue("error", "value", "invalid "+name+" "+quote(v)+": "+want, name))
	}
	for name, vals := range in {
		for _, v := range vals {
			switch name {
			case "_since":
				t, err := parseInstant(name, v)
				if err != nil {
					return nil, bad(name, v, "an instant such as 2024-01-31T12:00:00Z is expected")
				}
				if t.After(q.since) {
					q.since = t
				}
				q.self.Add(name, v)
			case "_type":
				if q.types == nil {
					q.types = map[string]bool{}
				}
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t == "" {
						continue
					}
					if !a.types[t] {
						return nil, bad(name, t, "not a FHIR R4 resource type")
					}
					q.types[t] = true
				}
				q.self.Add(name, v)
			case "_count":
				n, err := a.parseCount(v)
				if err != nil {
					return nil, err
				}
				q.count = n
				q.self.Set(name, strconv.Itoa(n))
			case pageOffset:
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, bad(name, v, "a paging offset is a non-negative integer")
				}
				q.offset = n
			case "start", "end":
				q.self.Add(name, v)
				q.notes = append(q.notes, issue("information", "informational",
					"the "+name+" care date is not applied: the whole record is returned", name))
			case "_format", "_pretty":
			default:
				if req.Prefer.Handling == "strict" {
					return nil, errs.E(errs.Invalid, "everything", "unknown $everything parameter "+quote(name),
						issue("error", "not-supported", "unknown parameter "+quote(name), name))
				}
				q.notes = append(q.notes, issue("warning", "not-supported", "unknown parameter "+quote(name)+" was ignored", name))
			}
		}
	}
	slices.SortFunc(q.notes, func(x, y errs.Issue) int { return strings.Compare(x.Diagnostics, y.Diagnostics) })
	return q, nil
}

// everythingLinks writes the self, first, previous and next links
// (https://hl7.org/fhir/R4/http.html#paging); they are GET URLs even when
// the operation was POSTed.
func (a *API) everythingLinks(req *Request, q *everythingQuery, more bool) []any {
	base := req.Base + req.path()
	at := func(offset int) url.Values {
		v := url.Values{}
		for k, vals := range q.self {
			v[k] = vals
		}
		if offset > 0 {
			v.Set(pageOffset, strconv.Itoa(offset))
		}
		return v
	}
	links := []any{link("self", base, at(q.offset)), link("first", base, at(0))}
	if q.offset > 0 && q.count > 0 {
		links = append(links, link("previous", base, at(max(0, q.offset-q.count))))
	}
	if more && q.count > 0 {
		links = append(links, link("next", base, at(q.offset+q.count)))
	}
	return links
}

func asSlice(v any) []any {
	l, _ := v.([]any)
	return l
}
