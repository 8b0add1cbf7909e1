package fhirhttp

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhirapi"
)

// readBody reads a request body of at most max bytes, both as sent and
// after gzip decompression (Content-Encoding: gzip); more is 413.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, max)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if isTooLarge(err) {
				return nil, tooLarge(max)
			}
			return nil, errs.E(errs.Invalid, "read body", "the gzip body is corrupt",
				errs.Issue{Severity: "error", Code: "structure", Diagnostics: "invalid gzip data"})
		}
		defer zr.Close()
		src = zr
	default:
		return nil, errs.E(errs.NotSupported, "read body", "unsupported Content-Encoding "+enc,
			errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: "Content-Encoding " + enc + " is not supported; use gzip"})
	}
	body, err := io.ReadAll(io.LimitReader(src, max+1))
	switch {
	case isTooLarge(err) || int64(len(body)) > max:
		return nil, tooLarge(max)
	case err != nil:
		return nil, errs.E(errs.Invalid, "read body", "the request body could not be read",
			errs.Issue{Severity: "error", Code: "structure", Diagnostics: "unreadable body"})
	}
	return body, nil
}

func tooLarge(max int64) error {
	return errs.E(errs.TooLarge, "read body", fmt.Sprintf("the request body exceeds the limit of %d bytes", max),
		errs.Issue{Severity: "error", Code: "too-costly", Diagnostics: fmt.Sprintf("body larger than %d bytes", max)})
}

// formParams merges an application/x-www-form-urlencoded body of
// POST [type]/_search into the query (https://hl7.org/fhir/R4/http.html#search).
func formParams(req *fhirapi.Request) error {
	mt, _, _ := mime.ParseMediaType(req.ContentType)
	if len(req.Body) == 0 {
		return nil
	}
	if mt != "application/x-www-form-urlencoded" {
		return errs.E(errs.Invalid, "search", "POST _search takes an application/x-www-form-urlencoded body",
			errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: "Content-Type must be application/x-www-form-urlencoded"})
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return errs.E(errs.Invalid, "search", "the form body is malformed",
			errs.Issue{Severity: "error", Code: "structure", Diagnostics: "malformed form body"})
	}
	for k, v := range form {
		req.Query[k] = append(req.Query[k], v...)
	}
	req.Body = nil
	return nil
}

// negotiate checks _format and Accept: this server produces FHIR JSON only
// (https://hl7.org/fhir/R4/http.html#mime-type); asking for anything else
// is 406.
func negotiate(r *http.Request) error {
	if f := r.URL.Query().Get("_format"); f != "" {
		// An unescaped "+" in the query arrives as a space.
		switch strings.ToLower(strings.ReplaceAll(f, " ", "+")) {
		case "json", "application/json", "application/fhir+json", "application/json+fhir", "text/json":
			return nil
		}
		return notAcceptable("_format " + f)
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case mt == "*/*", mt == "application/*", strings.Contains(mt, "json"):
			return nil
		}
	}
	return notAcceptable("Accept " + accept)
}

// errNotAcceptable is the cause of 406 answers.
var errNotAcceptable = errs.E(errs.NotSupported, "negotiate")

func notAcceptable(what string) error {
	return errs.E(errs.NotSupported, "negotiate", "this server only produces FHIR JSON (application/fhir+json); "+what+" cannot be served",
		errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: what + " is not supported: JSON only"}, errNotAcceptable)
}

// writeBody writes the status and body, gzip-compressed when the client
// accepts it and the body is worth compressing.
func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if len(body) < 1024 || !acceptsGzip(r) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	var buf bytes.Buffer
	buf.Grow(len(body) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(body)
	zw.Close()
	gzipWriters.Put(zw)
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// gzipWriters keeps compressors between responses: a new one allocates
// its tables (hundreds of kilobytes), which made garbage collection a large
// part of the CPU of serving small resources to clients that accept gzip.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(params), "q="))
		return q == "" || strings.Trim(q, "0.") != ""
	}
	return false
}
