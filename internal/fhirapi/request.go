package fhirapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// Request is one FHIR interaction, independent of HTTP. Build it with
// ParseURL (or by hand) and fill the header fields.
type Request struct {
	Method string // GET, HEAD, POST, PUT, PATCH, DELETE

	// The path, parsed: [Type[/ID[/_history[/VersionID] | /Compartment]]] or
	// an $operation at any level.
	Type        string
	ID          string
	VersionID   string
	Compartment string // Patient/123/Observation: the type searched in the compartment ("*": all)
	Operation   string // "validate" for $validate
	History     bool   // the path ends in _history
	Metadata    bool   // GET [base]/metadata
	SearchPost  bool   // POST [base]/[type]/_search (form parameters in Query)

	Query url.Values

	IfMatch         string    // W/"n"
	IfNoneMatch     string    // W/"n" or *
	IfNoneExist     string    // search parameters, "identifier=x|y"
	IfModifiedSince time.Time // zero when absent
	Prefer          Prefer

	ContentType string // of Body; "" means application/fhir+json
	Body        []byte

	// Base is the service base URL without a trailing slash
	// ("https://ehr.example.org/fhir"); fullUrls, Locations and links use it.
	Base string
}

// Prefer holds the Prefer header's values
// (https://hl7.org/fhir/R4/http.html#ops, #search strictness).
type Prefer struct {
	Return   string // minimal | representation | OperationOutcome
	Handling string // strict | lenient
}

// ParsePrefer reads a Prefer header value ("return=minimal, handling=strict").
func ParsePrefer(h string) Prefer {
	var p Prefer
	for _, part := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "return":
			p.Return = v
		case "handling":
			p.Handling = v
		}
	}
	return p
}

// ParseURL parses a path relative to the service base, with its query
// ("Patient/123/_history/2", "Observation?code=x", "$validate"), as found in
// HTTP requests and in Bundle entry.request.url.
func ParseURL(method, raw string) (*Request, error) {
	req := &Request{Method: strings.ToUpper(method)}
	path, rawQuery, _ := strings.Cut(raw, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errs.E(errs.Invalid, "parse url", "the query string is malformed",
			issue("error", "invalid", "malformed query string: "+err.Error()))
	}
	req.Query = q
	var segs []string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if s != "" {
			u, err := url.PathUnescape(s)
			if err != nil {
				return nil, errs.E(errs.Invalid, "parse url", "the path is malformed")
			}
			segs = append(segs, u)
		}
	}
	if err := req.setPath(segs); err != nil {
		return nil, err
	}
	return req, nil
}

func (r *Request) setPath(segs []string) error {
	if n := len(segs); n > 0 && strings.HasPrefix(segs[n-1], "$") {
		r.Operation = segs[n-1][1:]
		segs = segs[:n-1]
	}
	bad := func() error {
		return errs.E(errs.NotFound, "route", "no FHIR interaction at /"+strings.Join(segs, "/"),
			issue("error", "not-found", "unknown path /"+strings.Join(segs, "/")))
	}
	switch {
	case len(segs) == 0:
		return nil
	case segs[0] == "metadata" && len(segs) == 1 && r.Operation == "":
		r.Metadata = true
		return nil
	case segs[0] == "_history" && len(segs) == 1:
		r.History = true
		return nil
	case segs[0] == "_search" && len(segs) == 1:
		r.SearchPost = true
		return nil
	case !isTypeName(segs[0]):
		return bad()
	}
	r.Type = segs[0]
	rest := segs[1:]
	switch {
	case len(rest) == 0:
	case rest[0] == "_history" && len(rest) == 1:
		r.History = true
	case rest[0] == "_search" && len(rest) == 1:
		r.SearchPost = true
	case len(rest) == 1:
		r.ID = rest[0]
	case len(rest) == 2 && rest[1] == "_history":
		r.ID, r.History = rest[0], true
	case len(rest) == 3 && rest[1] == "_history":
		r.ID, r.VersionID = rest[0], rest[2]
	case len(rest) == 2 && (isTypeName(rest[1]) || rest[1] == "*"):
		r.ID, r.Compartment = rest[0], rest[1]
	default:
		return bad()
	}
	if r.ID != "" && !fhir.ValidID(r.ID) {
		return errs.E(errs.Invalid, "route", quote(r.ID)+" is not a valid resource id",
			issue("error", "value", "invalid id "+quote(r.ID)+" (https://hl7.org/fhir/R4/datatypes.html#id)"))
	}
	return nil
}

func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// path renders the request path for messages and links.
func (r *Request) path() string {
	var parts []string
	if r.Type != "" {
		parts = append(parts, r.Type)
	}
	if r.ID != "" {
		parts = append(parts, r.ID)
	}
	if r.Compartment != "" {
		parts = append(parts, r.Compartment)
	}
	if r.History {
		parts = append(parts, "_history")
	}
	if r.VersionID != "" {
		parts = append(parts, "_history", r.VersionID)
	}
	if r.Operation != "" {
		parts = append(parts, "$"+r.Operation)
	}
	if r.Metadata {
		parts = append(parts, "metadata")
	}
	return "/" + strings.Join(parts, "/")
}

// parseETag reads a weak or strong ETag W/"3" (or a bare 3) as a version.
func parseETag(h string) (int64, error) {
	s := strings.TrimSpace(h)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, errs.E(errs.Invalid, "precondition", "the ETag "+quote(h)+" is not a version (W/\"n\")",
			issue("error", "value", "malformed ETag "+quote(h)))
	}
	return v, nil
}

// etag formats a version as a weak ETag (https://hl7.org/fhir/R4/http.html#versioning).
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// criteria parses a conditional operation's search string, refusing an empty one.
func criteria(q url.Values, raw string) (url.Values, error) {
	if raw != "" {
		// Some senders write the whole "Type?criteria" form (the R4 XDS
		// example does); the criteria are what follows the "?".
		if i, j := strings.IndexByte(raw, '?'), strings.IndexByte(raw, '='); i >= 0 && (j < 0 || i < j) {
			raw = raw[i+1:]
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return nil, errs.E(errs.Invalid, "conditional", "the criteria are malformed")
		}
		q = v
	}
	out := url.Values{}
	for k, v := range q {
		if k != "_format" && k != "_pretty" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, "conditional", "a conditional interaction needs search criteria",
			issue("error", "required", "no search criteria given"))
	}
	return out, nil
}
