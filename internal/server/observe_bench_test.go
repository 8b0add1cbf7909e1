package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openchart/openchart/internal/metrics"
)

// BenchmarkObserve measures the middleware alone around a read by id:
// the access-log line (JSON, discarded) and the request metrics.
func BenchmarkObserve(b *testing.B) {
	h := observe(slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics.New(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	req := httptest.NewRequest("GET", "/fhir/Patient/0148ab70-35fc-589e-8ba9-d2c32d816e05", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
