package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeProfilesRefusesNonLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.org:6060", "nonsense"} {
		err := ServeProfiles(context.Background(), addr, log)
		if err == nil {
			t.Errorf("ServeProfiles(%q) accepted a non-loopback address", addr)
		}
	}
}

func TestServeProfilesServesIndexUntilCancelled(t *testing.T) {
	// Find a free loopback port, then serve the profiles on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeProfiles(ctx, addr, slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/debug/pprof/"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("profile index: %d %q", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeProfiles after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeProfiles did not stop when its context was cancelled")
	}
}
