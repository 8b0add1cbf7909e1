package web

import "net/http"

// visitRoutes registers the visit's pages.
func (s *server) visitRoutes(mux *http.ServeMux) {}
