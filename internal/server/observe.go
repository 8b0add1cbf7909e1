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
// resource types stay, ids and versions become placeholders.
func Route(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) == 0 || segs[0] != "fhir" {
		if len(segs) > 0 && segs[0] != "" {
			return "/" + segs[0]
		}
		return "/"
	}
	out := []string{"", "fhir"}
	for i, s := range segs[1:] {
		switch {
		case s == "":
		case strings.HasPrefix(s, "$") || strings.HasPrefix(s, "_"):
			out = append(out, s)
		case s == "metadata" && i == 0:
			out = append(out, s)
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
