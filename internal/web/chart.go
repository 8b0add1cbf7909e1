package web

import "net/http"

// chartRoutes registers the chart's pages.
func (s *server) chartRoutes(mux *http.ServeMux) {}
