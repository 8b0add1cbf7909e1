package fhirapi

import (
	"mime"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// mediaType returns the lower-case media type of a Content-Type value.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// isFHIRJSON reports whether a media type denotes FHIR JSON
// (https://hl7.org/fhir/R4/http.html#mime-type).
func isFHIRJSON(mt string) bool {
	switch mt {
	case "", "application/fhir+json", "application/json", "application/json+fhir", "text/json":
		return true
	}
	return false
}

// parseResource parses the request body as a resource of type typ ("" for
// any type). Errors are 400 (structure) or 415 for non-JSON bodies.
func parseResource(req *Request, typ string) (map[string]any, error) {
	if !isFHIRJSON(mediaType(req.ContentType)) {
		return nil, unsupportedMedia(req.ContentType)
	}
	if len(req.Body) == 0 {
		return nil, errs.E(errs.Invalid, "parse", "the request has no body; a resource is required",
			issue("error", "required", "missing resource body"))
	}
	res, err := fhir.Parse(req.Body, fhir.ParseOptions{})
	if err != nil {
		return nil, err
	}
	if typ != "" && fhir.TypeOf(res) != typ {
		return nil, errs.E(errs.Invalid, "parse",
			"the body is a "+fhir.TypeOf(res)+" but the URL names "+typ,
			issue("error", "invalid", "resourceType "+quote(fhir.TypeOf(res))+" does not match the URL's type "+quote(typ), "resourceType"))
	}
	return res, nil
}

// unsupportedMedia is the error for bodies that are not FHIR JSON: this
// server speaks JSON only (the CapabilityStatement lists format json).
func unsupportedMedia(ct string) error {
	return errs.E(errs.NotSupported, "parse", "unsupported media type "+quote(ct)+": this server accepts application/fhir+json only",
		errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: "Content-Type " + quote(ct) + " is not supported; use application/fhir+json"},
		errUnsupportedMedia)
}

// errUnsupportedMedia marks media-type errors so that the HTTP layer can
// answer 415 rather than 501.
var errUnsupportedMedia = errs.E(errs.NotSupported, "media type")
