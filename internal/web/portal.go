package web

import "net/http"

// portalRoutes registers the patient portal under /portal.
func (s *server) portalRoutes(mux *http.ServeMux) {}
