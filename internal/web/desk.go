package web

import "net/http"

// deskRoutes registers registration, scheduling and the inbox.
func (s *server) deskRoutes(mux *http.ServeMux) {}
