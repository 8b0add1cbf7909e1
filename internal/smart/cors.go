package smart

import (
	"net/http"
	"strings"
)

// CORS lets browser apps on other origins call h (the FHIR API, the token
// endpoint): SMART apps run in the browser and authenticate with bearer
// tokens, never cookies, so any origin may call, credentials are not
// allowed, and preflight requests are answered here.
func CORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist, If-Modified-Since")
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		hd.Set("Access-Control-Expose-Headers", "Location, Content-Location, ETag, Last-Modified, WWW-Authenticate")
		h.ServeHTTP(w, r)
	})
}

// corsPath reports whether a path of Handler is called by app code in the
// browser (fetch), as opposed to pages the browser navigates to.
func corsPath(p string) bool {
	switch p {
	case "/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/userinfo", "/oauth/jwks":
		return true
	}
	return strings.HasSuffix(p, "/.well-known/smart-configuration") || p == "/.well-known/openid-configuration"
}
