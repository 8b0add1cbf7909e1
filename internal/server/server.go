package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openchart/openchart/internal/metrics"
)

// Config holds what the server mounts.
type Config struct {
	// FHIR serves the FHIR API; it is mounted at /fhir and sees paths
	// relative to it.
	FHIR http.Handler
	// Ready reports whether the server can serve (the store is reachable).
	Ready   func(context.Context) error
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Web serves the browser pages: everything under "/" that no other
	// door claims (the clinician app, the portal, sign-in). When nil,
	// Index alone is served at "/".
	Web http.Handler
	// OAuth serves the authorization server: /oauth/..., /.well-known/...
	// and the SMART discovery document under the FHIR base
	// (/fhir/.well-known/smart-configuration).
	OAuth http.Handler
	// Index is served at "/" when Web is nil.
	Index http.Handler
}

// Server is the HTTP server.
type Server struct {
	cfg     Config
	handler http.Handler
}

// New checks the configuration and builds the routing.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.FHIR == nil:
		return nil, errors.New("server: no FHIR handler")
	case cfg.Ready == nil:
		return nil, errors.New("server: no readiness check")
	case cfg.Metrics == nil:
		return nil, errors.New("server: no metrics")
	case cfg.Logger == nil:
		return nil, errors.New("server: no logger")
	}
	mux := http.NewServeMux()
	mux.Handle("/fhir/", http.StripPrefix("/fhir", cfg.FHIR))
	mux.Handle("/fhir", http.StripPrefix("/fhir", cfg.FHIR))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := cfg.Ready(ctx); err != nil {
			cfg.Logger.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "store unreachable")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{}))
	if cfg.OAuth != nil {
		mux.Handle("/oauth/", cfg.OAuth)
		mux.Handle("/.well-known/", cfg.OAuth)
		mux.Handle("/fhir/.well-known/", cfg.OAuth)
	}
	switch {
	case cfg.Web != nil:
		mux.Handle("/", cfg.Web)
	case cfg.Index != nil:
		mux.Handle("GET /{$}", cfg.Index)
	}
	return &Server{cfg: cfg, handler: observe(cfg.Logger, cfg.Metrics, mux)}, nil
}

// Handler returns the server's root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish for up to 10 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
