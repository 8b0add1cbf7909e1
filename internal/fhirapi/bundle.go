package fhirapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// bundle is POST [base] with a batch or transaction Bundle
// (https://hl7.org/fhir/R4/http.html#transaction).
func (a *API) bundle(ctx context.Context, req *Request) (*Response, error) {
	b, err := parseResource(req, "Bundle")
	if err != nil {
		return nil, err
	}
	// The raw body is not needed once parsed: let it go before the
	// transaction stages a stored copy of every entry.
	req.Body = nil
	out, err := a.processBundle(ctx, b, req.Base, req.Prefer)
	if err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, out), nil
}

// ProcessBundle processes a batch or transaction Bundle given as parsed
// JSON (as the importer reads it) against the service base URL base, and
// returns the batch-response or transaction-response Bundle. A failed
// transaction writes nothing and returns an error naming the failing entry
// (Status and Outcome turn it into the HTTP answer). Response entries carry
// no resources (Prefer: return=minimal), except for GET entries.
func (a *API) ProcessBundle(ctx context.Context, bundle map[string]any, base string) (map[string]any, error) {
	return a.processBundle(ctx, bundle, base, Prefer{Return: "minimal"})
}

func (a *API) processBundle(ctx context.Context, b map[string]any, base string, prefer Prefer) (map[string]any, error) {
	if fhir.TypeOf(b) != "Bundle" {
		return nil, errs.E(errs.Invalid, "bundle", "the body must be a Bundle",
			issue("error", "invalid", "expected a Bundle", "resourceType"))
	}
	raw, _ := b["entry"].([]any)
	if len(raw) > a.maxEntries {
		return nil, errs.E(errs.TooLarge, "bundle", fmt.Sprintf("the Bundle has %d entries; the limit is %d", len(raw), a.maxEntries),
			issue("error", "too-costly", fmt.Sprintf("more than %d entries", a.maxEntries), "Bundle.entry"))
	}
	typ, _ := b["type"].(string)
	switch typ {
	case "transaction":
		return a.transaction(ctx, raw, base, prefer)
	case "batch":
		return a.batch(ctx, raw, base, prefer), nil
	}
	return nil, errs.E(errs.Invalid, "bundle", "only batch and transaction Bundles can be processed; this one is "+quote(typ),
		issue("error", "value", "Bundle.type must be batch or transaction", "Bundle.type"))
}

// entry is one Bundle entry to process.
type entry struct {
	idx      int
	fullURL  string
	req      *Request
	res      map[string]any // the resource (POST, PUT) or patch body (PATCH)
	id       string         // resolved target id (transactions)
	existing *store.Record  // the match of a conditional create (transactions)
}

// parseEntry reads entry i's request (https://hl7.org/fhir/R4/bundle.html#transaction).
func (a *API) parseEntry(i int, raw any, base string, prefer Prefer) (*entry, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, errs.E(errs.Invalid, "entry", "the entry is not an object")
	}
	rq, _ := m["request"].(map[string]any)
	method, _ := rq["method"].(string)
	u, _ := rq["url"].(string)
	if method == "" || u == "" {
		return nil, errs.E(errs.Invalid, "entry", "the entry has no request method and url",
			issue("error", "required", "entry.request.method and entry.request.url are required", fmt.Sprintf("Bundle.entry[%d].request", i)))
	}
	req, err := ParseURL(method, strings.TrimPrefix(strings.TrimPrefix(u, base), "/"))
	if err != nil {
		return nil, err
	}
	if req.Type != "" && !a.types[req.Type] {
		return nil, errs.E(errs.NotFound, "entry", "unknown resource type "+quote(req.Type),
			issue("error", "not-supported", quote(req.Type)+" is not a FHIR R4 resource type", fmt.Sprintf("Bundle.entry[%d].request.url", i)))
	}
	req.Base, req.Prefer = base, prefer
	req.IfMatch, _ = rq["ifMatch"].(string)
	req.IfNoneMatch, _ = rq["ifNoneMatch"].(string)
	req.IfNoneExist, _ = rq["ifNoneExist"].(string)
	if s, _ := rq["ifModifiedSince"].(string); s != "" {
		if req.IfModifiedSince, err = parseInstant("ifModifiedSince", s); err != nil {
			return nil, err
		}
	}
	e := &entry{idx: i, req: req}
	e.fullURL, _ = m["fullUrl"].(string)
	e.res, _ = m["resource"].(map[string]any)
	switch req.Method {
	case "POST", "PUT", "PATCH":
		if e.res == nil && req.Operation == "" && !req.SearchPost {
			return nil, errs.E(errs.Invalid, "entry", req.Method+" needs a resource",
				issue("error", "required", "entry.resource is required for "+req.Method, fmt.Sprintf("Bundle.entry[%d].resource", i)))
		}
		if (req.Method == "POST" || req.Method == "PUT") && e.res != nil && req.Type != "" && req.Operation == "" && fhir.TypeOf(e.res) != req.Type {
			return nil, errs.E(errs.Invalid, "entry", "the resource is a "+fhir.TypeOf(e.res)+" but the url names "+req.Type,
				issue("error", "invalid", "resourceType does not match request.url", fmt.Sprintf("Bundle.entry[%d].resource.resourceType", i)))
		}
	case "GET", "HEAD", "DELETE":
	default:
		return nil, errs.E(errs.Invalid, "entry", "unknown method "+quote(method),
			issue("error", "value", "invalid request.method", fmt.Sprintf("Bundle.entry[%d].request.method", i)))
	}
	return e, nil
}

// entryError names the failing entry in an error.
func entryError(i int, err error) error {
	where := fmt.Sprintf("Bundle.entry[%d]", i)
	msg := errs.Message(err)
	if k := errs.KindOf(err); !hasMsg(err) && k != errs.Internal && k != errs.Other {
		// Name the first finding rather than the generic text of the kind.
		if issues := errs.IssuesOf(err); len(issues) > 0 {
			msg = issues[0].Diagnostics
			if len(issues[0].Expression) > 0 {
				msg = issues[0].Expression[0] + ": " + msg
			}
		}
	}
	return errs.E(err, where, where+": "+msg, issue("error", issueCode(errs.KindOf(err)), where+": "+msg, where))
}

// responseEntry renders a Response as a response Bundle entry
// (https://hl7.org/fhir/R4/bundle.html#transaction-response).
func responseEntry(resp *Response) map[string]any {
	r := map[string]any{"status": strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status)}
	if resp.Location != "" {
		r["location"] = resp.Location
	}
	if resp.ETag != "" {
		r["etag"] = resp.ETag
	}
	if !resp.LastModified.IsZero() {
		r["lastModified"] = resp.LastModified.UTC().Format(time.RFC3339Nano)
	}
	e := map[string]any{"response": r}
	res, err := resp.Resource()
	if err != nil || res == nil {
		return e
	}
	switch {
	case resp.Status >= 400:
		r["outcome"] = res
	case fhir.TypeOf(res) == "OperationOutcome" && resp.ETag != "":
		r["outcome"] = res
	default:
		e["resource"] = res
	}
	return e
}

// batch processes each entry independently, each in its own transaction
// (https://hl7.org/fhir/R4/http.html#brules); failures become error entries.
func (a *API) batch(ctx context.Context, raw []any, base string, prefer Prefer) map[string]any {
	out := make([]any, len(raw))
	for i, x := range raw {
		resp := a.batchEntry(ctx, i, x, base, prefer)
		out[i] = responseEntry(resp)
	}
	return map[string]any{"resourceType": "Bundle", "id": newBundleID(), "type": "batch-response", "entry": out}
}

func (a *API) batchEntry(ctx context.Context, i int, raw any, base string, prefer Prefer) *Response {
	e, err := a.parseEntry(i, raw, base, prefer)
	if err != nil {
		return a.errorResponse(ctx, err)
	}
	resp, err := a.execStandalone(ctx, e)
	if err != nil {
		return a.errorResponse(ctx, err)
	}
	return resp
}
