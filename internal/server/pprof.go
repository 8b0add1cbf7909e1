package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ServeProfiles serves the Go runtime's profiles (net/http/pprof: CPU,
// heap, goroutines, mutex and block profiles, execution traces) on addr
// until ctx is cancelled. The profiles show the program's internals and
// cost CPU while they are taken, so addr must be a loopback address: they
// are for an operator on the machine itself (or through an SSH tunnel),
// never on the network. The listener is separate from the server's, so no
// route of the application can reach them.
func ServeProfiles(ctx context.Context, addr string, log *slog.Logger) error {
	if err := CheckProfilesAddr(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for profiles on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("serving profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// CheckProfilesAddr reports whether addr may serve profiles: host:port
// with a loopback host.
func CheckProfilesAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("profiles address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("profiles address %q: only a loopback address (127.0.0.1, [::1], localhost) is allowed", addr)
	}
	return nil
}
