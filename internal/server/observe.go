package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/metrics"
)

// observe wraps h with panic recovery, one access-log line per request and
// the request metrics. The log line names the route pattern and the query
// parameter names, never their values: search values can be patient names.
func observe(log *slog.Logger, m *metrics.Metrics, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic serving request", "route", Route(r.URL.Path), "panic", p)
				if !rw.wrote {
					http.Error(rw, "internal server error", http.StatusInternalServerError)
				}
			}
			route := Route(r.URL.Path)
			d := time.Since(start)
			status := rw.status
			if status == 0 {
				status = http.StatusOK
			}
			m.Requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			m.Latency.WithLabelValues(route, r.Method).Observe(d.Seconds())
			if route == "/healthz" || route == "/readyz" || route == "/metrics" {
				return
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", route),
				slog.String("params", paramNames(r)), slog.Int("status", status), slog.Int("bytes", rw.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000))
		}()
		h.ServeHTTP(rw, r)
	})
}

// Route reduces a path to a low-cardinality pattern for metrics and logs:
// resource types stay, ids and versions become placeholders. Every part
// of a path is the client's to choose, so only names from fixed lists
// stay as they are (routeTops, routeFHIR): a metric label per distinct
// path would let anyone grow the server's memory one request at a time.
func Route(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if segs[0] != "fhir" {
		switch {
		case segs[0] == "":
			return "/"
		case routeTops[segs[0]]:
			return "/" + segs[0]
		}
		return "/{other}"
	}
	rest := segs[1:]
	if len(rest) > 4 { // type/id/_history/vid is the deepest FHIR path
		return "/fhir/{other}"
	}
	out := []string{"", "fhir"}
	for i, s := range rest {
		switch {
		case s == "":
		case routeFHIR[s]:
			out = append(out, s)
		case strings.HasPrefix(s, "$"):
			out = append(out, "{op}")
		case i > 0 && out[len(out)-1] == "_history":
			out = append(out, "{vid}")
		case s[0] >= 'A' && s[0] <= 'Z' && (i == 0 || i == 2):
			out = append(out, "{type}")
		default:
			out = append(out, "{id}")
		}
	}
	return strings.Join(out, "/")
}

// routeTops are the first segments outside /fhir that routes keep: the
// server's own endpoints and the sections of the web app and the OAuth
// server. Any other is "/{other}".
var routeTops = map[string]bool{
	"healthz": true, "readyz": true, "metrics": true, "oauth": true, ".well-known": true,
	"portal": true, "static": true, "admin": true, "patients": true, "login": true, "logout": true,
	"account": true, "session": true, "setup": true, "reset": true, "schedule": true, "inbox": true,
	"visits": true,
}

// routeFHIR are the segments of FHIR paths that routes keep: the
// operations the API serves, its special paths.
var routeFHIR = map[string]bool{
	"metadata": true, "_history": true, "_search": true, ".well-known": true,
	"$everything": true, "$validate": true, "$export": true,
}

func paramNames(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	var names []string
	for k := range r.URL.Query() {
		names = append(names, k)
	}
	return strings.Join(names, ",")
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status = http.StatusOK
		w.wrote = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
