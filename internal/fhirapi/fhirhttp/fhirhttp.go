package fhirhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/clientip"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
)

// DefaultMaxBody is the default request body limit: 16 MiB.
const DefaultMaxBody = 16 << 20

// Options configure the handler.
type Options struct {
	// BasePath is the path the handler is mounted under ("/fhir"). Request
	// paths starting with it have it removed (so the handler works with or
	// without http.StripPrefix), and it is part of the base URL of links.
	BasePath string
	// MaxBody bounds request bodies after decompression (default 16 MiB);
	// larger bodies are 413.
	MaxBody int64
	// Proxies is the number of reverse proxies in front of the server
	// (0: none, the peer is the client). Each appends the address it
	// received the request from to X-Forwarded-For, and the outermost sets
	// X-Forwarded-Proto and X-Forwarded-Host. The client's address is then
	// the Proxies-th from the end of X-Forwarded-For (clientip.Of), never
	// one the client wrote itself.
	// The base URL then honours X-Forwarded-Proto and X-Forwarded-Host.
	Proxies int
	// Logger receives panics and internal errors.
	Logger *slog.Logger
	// MaxBundles bounds how many batch or transaction Bundles are read and
	// processed at once (default twice the number of CPUs); more wait their
	// turn. A parsed Bundle of thousands of entries takes tens of megabytes,
	// so this keeps the server's memory bounded under many importing clients.
	MaxBundles int
	// MaxBundleBytes bounds the bytes (after decompression) of the Bundles
	// processed at once (default DefaultMaxBundleBytes, at least MaxBody).
	// See inflight.go.
	MaxBundleBytes int64
	// MaxEverything bounds how many $everything operations run at once
	// (default twice the number of CPUs); more wait their turn. Each one
	// holds a patient's whole record as it builds its Bundle, so many at
	// once set the server's peak memory: 32 at once on the 1,000-patient
	// benchmark set took the embedded server to 361 MB (docs/PERFORMANCE.md).
	MaxEverything int
	// Authenticate finds who makes a request (a bearer token, a session).
	// It returns nil and no error for a request without credentials, and
	// an error for credentials that are invalid or expired: the request is
	// refused with 401 and a WWW-Authenticate challenge. Requests without
	// credentials are refused the same way except for the capability
	// statement (GET /metadata), which anyone may read. When Authenticate
	// is nil, every request acts as an anonymous client, which the access
	// policy lets read nothing: only tests and embedders that set the
	// principal in front leave it nil.
	Authenticate func(r *http.Request) (*access.Principal, error)
}

type handler struct {
	api     *fhirapi.API
	opts    Options
	log     *slog.Logger
	bundles chan struct{} // one token per Bundle being processed
	bytes   *bundleBytes  // the Bundle bytes in flight
	heavy   chan struct{} // one token per $everything operation running
}

// New returns the HTTP handler of the FHIR API. Mount it for both the base
// and everything under it, with or without http.StripPrefix:
//
//	h := fhirhttp.New(api, fhirhttp.Options{BasePath: "/fhir"})
//	mux.Handle("/fhir/", h)
//	mux.Handle("/fhir", h) // POST of Bundles to the base itself
//
// Without BasePath, the handler infers the prefix that http.StripPrefix
// removed from the original request URI, so links stay correct.
func New(api *fhirapi.API, opts Options) http.Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	opts.BasePath = "/" + strings.Trim(opts.BasePath, "/")
	if opts.BasePath == "/" {
		opts.BasePath = ""
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.MaxBundles <= 0 {
		opts.MaxBundles = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.MaxEverything <= 0 {
		opts.MaxEverything = 2 * runtime.GOMAXPROCS(0)
	}
	return &handler{api: api, opts: opts, log: log, bundles: make(chan struct{}, opts.MaxBundles),
		bytes: newBundleBytes(opts.MaxBundleBytes, opts.MaxBody), heavy: make(chan struct{}, opts.MaxEverything)}
}

// isEverything reports whether r asks for $everything (of one patient or
// of all of a type), by GET or POST.
func isEverything(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		return false
	}
	return strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/$everything")
}

// isBundlePost reports whether r posts a batch or transaction Bundle: a
// POST to the base itself.
func (h *handler) isBundlePost(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := strings.TrimSuffix(r.URL.EscapedPath(), "/")
	return p == "" || p == h.opts.BasePath
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.LogAttrs(r.Context(), slog.LevelError, "panic in FHIR handler",
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			h.writeError(w, r, errs.E(errs.Internal, "panic"))
		}
	}()
	if h.isBundlePost(r) {
		select {
		case h.bundles <- struct{}{}:
			defer func() { <-h.bundles }()
		case <-r.Context().Done():
			return // the client went away while waiting
		}
	}
	if isEverything(r) {
		select {
		case h.heavy <- struct{}{}:
			defer func() { <-h.heavy }()
		case <-r.Context().Done():
			return // the client went away while waiting
		}
	}
	ctx, err := h.principal(r)
	if err != nil {
		h.challenge(w, r, err)
		return
	}
	req, err := h.request(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if h.isBundlePost(r) {
		release, err := h.bytes.acquire(r.Context(), int64(len(req.Body)))
		if err != nil {
			return // the client went away while waiting
		}
		defer release()
	}
	resp := h.api.Handle(ctx, req)
	h.write(w, r, resp)
}

// principal returns the request's context with the actor the access
// policy decides for and the audit trail records: the one an
// authenticating layer in front already set, the one Authenticate finds,
// or an anonymous client known by its address. With Authenticate set, a
// request without valid credentials is an errs.Unauthenticated error, except
// a read of the capability statement.
func (h *handler) principal(r *http.Request) (context.Context, error) {
	ctx := r.Context()
	if access.From(ctx) != nil {
		return ctx, nil
	}
	anon := &access.Principal{Kind: access.Anonymous, Source: h.clientAddr(r)}
	if h.opts.Authenticate == nil {
		return access.With(ctx, anon), nil
	}
	p, err := h.opts.Authenticate(r)
	switch {
	case err != nil:
		return nil, errs.E("authenticate", errs.Unauthenticated, err)
	case p == nil && h.isMetadata(r):
		return access.With(ctx, anon), nil
	case p == nil:
		return nil, errs.E("authenticate", errs.Unauthenticated, "this request needs an access token (Authorization: Bearer ...)")
	}
	if p.Source == "" {
		p.Source = anon.Source
	}
	return access.With(ctx, p), nil
}

// isMetadata reports whether r reads the capability statement.
func (h *handler) isMetadata(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	return p == "/metadata" || p == h.opts.BasePath+"/metadata"
}

// challenge refuses a request without valid credentials: 401 with an
// OperationOutcome and a Bearer challenge (RFC 6750).
func (h *handler) challenge(w http.ResponseWriter, r *http.Request, err error) {
	v := `Bearer realm="OpenChart FHIR API"`
	if r.Header.Get("Authorization") != "" {
		v += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", v)
	h.writeError(w, r, err)
}

// clientAddr is the client's IP address (clientip.Of).
func (h *handler) clientAddr(r *http.Request) string { return clientip.Of(r, h.opts.Proxies) }

// request translates an HTTP request into a fhirapi.Request.
func (h *handler) request(w http.ResponseWriter, r *http.Request) (*fhirapi.Request, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, errs.E(errs.MethodNotAllowed, "route", r.Method+" is not a FHIR method",
			errs.Issue{Severity: "error", Code: "not-supported", Diagnostics: "method " + r.Method + " is not supported"})
	}
	if err := negotiate(r); err != nil {
		return nil, err
	}
	path := r.URL.EscapedPath()
	if h.opts.BasePath != "" && (path == h.opts.BasePath || strings.HasPrefix(path, h.opts.BasePath+"/")) {
		path = path[len(h.opts.BasePath):]
	}
	req, err := fhirapi.ParseURL(r.Method, path+"?"+r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	req.Base = h.baseURL(r)
	req.ContentType = r.Header.Get("Content-Type")
	req.IfMatch = r.Header.Get("If-Match")
	req.IfNoneMatch = r.Header.Get("If-None-Match")
	req.IfNoneExist = r.Header.Get("If-None-Exist")
	req.Prefer = fhirapi.ParsePrefer(strings.Join(r.Header.Values("Prefer"), ","))
	if s := r.Header.Get("If-Modified-Since"); s != "" {
		if t, err := http.ParseTime(s); err == nil {
			req.IfModifiedSince = t
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if req.Body, err = readBody(w, r, h.opts.MaxBody); err != nil {
			return nil, err
		}
	}
	if req.SearchPost {
		if err := formParams(req); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// baseURL is the service base of this request: scheme, host and BasePath.
func (h *handler) baseURL(r *http.Request) string {
	scheme, host := clientip.Origin(r, h.opts.Proxies, false)
	return scheme + "://" + host + h.basePath(r)
}

// basePath is Options.BasePath or, when the handler sits behind
// http.StripPrefix without one, the prefix that was stripped (the original
// RequestURI's path minus the path the handler sees).
func (h *handler) basePath(r *http.Request) string {
	if h.opts.BasePath != "" {
		return h.opts.BasePath
	}
	orig, _, _ := strings.Cut(r.RequestURI, "?")
	if i := strings.Index(orig, "://"); i >= 0 { // absolute-form request target
		if j := strings.IndexByte(orig[i+3:], '/'); j >= 0 {
			orig = orig[i+3+j:]
		} else {
			orig = ""
		}
	}
	seen := r.URL.EscapedPath()
	if strings.HasSuffix(orig, seen) {
		return strings.TrimSuffix(orig[:len(orig)-len(seen)], "/")
	}
	return ""
}

// writeError answers with the OperationOutcome of err.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := fhirapi.Status(err)
	if errors.Is(err, errNotAcceptable) {
		status = http.StatusNotAcceptable
	}
	if status >= 500 && status != http.StatusNotImplemented {
		h.log.LogAttrs(r.Context(), slog.LevelError, "fhir request failed", slog.String("error", err.Error()))
	}
	h.write(w, r, &fhirapi.Response{Status: status, Body: fhir.Marshal(fhirapi.Outcome(err))})
}

// write sends a Response: the FHIR content type on every answer, the
// Location, ETag and Last-Modified headers, _pretty indentation and gzip
// when the client accepts it.
func (h *handler) write(w http.ResponseWriter, r *http.Request, resp *fhirapi.Response) {
	hd := w.Header()
	hd.Set("Content-Type", fhirapi.ContentType)
	if resp.Location != "" {
		hd.Set("Location", resp.Location)
		if resp.Status == http.StatusCreated {
			hd.Set("Content-Location", resp.Location)
		}
	}
	if resp.ETag != "" {
		hd.Set("ETag", resp.ETag)
	}
	if !resp.LastModified.IsZero() {
		hd.Set("Last-Modified", resp.LastModified.UTC().Format(http.TimeFormat))
	}
	body := resp.Body
	if resp.Status == http.StatusNoContent || resp.Status == http.StatusNotModified {
		body = nil
	}
	if len(body) > 0 && r.URL.Query().Get("_pretty") == "true" {
		// Indent the bytes as they are: the property order stays the
		// canonical one, and strings are copied without re-escaping.
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err == nil {
			body = buf.Bytes()
		}
	}
	if r.Method == http.MethodHead {
		hd.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(resp.Status)
		return
	}
	writeBody(w, r, resp.Status, body)
}

// isTooLarge reports whether err comes from http.MaxBytesReader.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
