package fhirapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// ContentType is the media type of every response body.
const ContentType = "application/fhir+json; charset=utf-8"

// Response is the result of an interaction.
type Response struct {
	Status       int
	Location     string    // create, update-as-create: [base]/Type/id/_history/vid
	ETag         string    // W/"n"
	LastModified time.Time // zero when not applicable
	// Body is canonical JSON: a resource, Bundle or OperationOutcome; empty
	// for 204/304 and return=minimal.
	Body []byte

	res map[string]any // Body parsed, when the API built it from a map
}

// Resource returns the body as a parsed resource (nil for an empty body).
// In a Bundle the API built, entry resources may be fhir.Raw (the stored
// bytes, embedded as they are); parse Body instead to walk them as maps.
func (r *Response) Resource() (map[string]any, error) {
	if r.res != nil || len(r.Body) == 0 {
		return r.res, nil
	}
	res, err := fhir.Parse(r.Body, fhir.ParseOptions{})
	if err != nil {
		return nil, err
	}
	r.res = res
	return res, nil
}

// versionURL is [base]/Type/id/_history/vid.
func versionURL(base string, rec *store.Record) string {
	return base + "/" + rec.Type + "/" + rec.ID + "/_history/" + strconv.FormatInt(rec.Version, 10)
}

// recordResponse answers with a stored version: its ETag and Last-Modified,
// and a body chosen by Prefer return (https://hl7.org/fhir/R4/http.html#ops):
// representation (the default), minimal (no body) or OperationOutcome.
func recordResponse(status int, rec *store.Record, prefer string, info string) *Response {
	r := &Response{Status: status, ETag: etag(rec.Version), LastModified: rec.LastUpdated}
	switch prefer {
	case "minimal":
	case "OperationOutcome":
		oo := infoOutcome(info)
		r.Body, r.res = fhir.MarshalResource(oo, defs.Default()), oo
	default:
		r.Body = rec.JSON
	}
	return r
}

// writeResponse answers a create or update.
func writeResponse(req *Request, rec *store.Record, created bool, info string) *Response {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	r := recordResponse(status, rec, req.Prefer.Return, info)
	if created {
		r.Location = versionURL(req.Base, rec)
	}
	return r
}
