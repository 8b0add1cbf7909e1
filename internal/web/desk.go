package web

import "net/http"

// deskRoutes registers registration, scheduling and the inbox.
func (s *server) deskRoutes(mux *http.ServeMux) {}

// navCounts is what the navigation shows beside its links for the
// signed-in user (nil: nothing).
func (s *server) navCounts(r *http.Request) any { return nil }
