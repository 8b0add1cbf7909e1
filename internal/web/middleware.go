package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/clientip"
	"github.com/openchart/openchart/internal/errs"
)

// Cookies besides the session cookie (auth.SessionCookie).
const (
	// preCookie holds the CSRF secret of forms shown before sign-in
	// (sign-in, second factor, setup, reset): a double-submit token.
	preCookie = "oc_pre"
	// challengeCookie carries the second-factor challenge between
	// /login and /login/verify.
	challengeCookie = "oc_challenge"
	// flashCookie carries a one-time message to the next page.
	flashCookie = "oc_flash"
)

// csp allows only the server's own scripts, styles and images (plus data:
// images, for the TOTP QR code); no inline script, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// state is what the middleware learnt about a request.
type state struct {
	token   string // session cookie value, when it names a live session
	session *auth.Session
	user    *auth.User
	expired bool // a session cookie came but named no live session
	pre     string
}

type stateKey struct{}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(stateKey{}).(*state)
	if st == nil {
		return &state{}
	}
	return st
}

// middleware sets the security headers, recovers from panics, loads the
// session and checks CSRF on every state-changing request.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("web: panic", "path", r.URL.Path, "panic", v)
				s.fail(w, r, errs.E(errs.Internal, "panic"))
			}
		}()
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		st := &state{}
		if c, err := r.Cookie(auth.SessionCookie); err == nil && c.Value != "" {
			sess, u, err := s.cfg.Auth.Session(r.Context(), c.Value)
			switch {
			case err == nil:
				st.token, st.session, st.user = c.Value, sess, u
			case errs.KindOf(err) == errs.Transient || errs.KindOf(err) == errs.Internal || errs.KindOf(err) == errs.Other:
				s.fail(w, r, err)
				return
			default:
				st.expired = true
				s.clearCookie(w, auth.SessionCookie, "/")
			}
		}
		if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 {
			st.pre = c.Value
		}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		if st.user != nil {
			grants, err := s.cfg.Auth.Grants(ctx, st.user.ID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			p := s.cfg.Auth.Principal(st.session, st.user, grants, s.clientIP(r))
			ctx = access.With(ctx, p)
		}
		r = r.WithContext(ctx)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			if reason := s.checkCSRF(r, st); reason != "" {
				s.log.Warn("web: CSRF check failed", "path", r.URL.Path, "reason", reason,
					"user", userName(st.user), "source", s.clientIP(r))
				s.render(w, r, http.StatusForbidden, "error", page{Title: "Request refused",
					Data: errorView{Heading: "Request refused",
						Message: "This form could not be accepted: it did not come from an OpenChart page of this server, or it has expired. Nothing was changed. Go back, reload the page and try again."}})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// maxMultipart bounds a form with files.
const maxMultipart = 32 << 20

// checkCSRF returns why a state-changing request is refused, or "". The
// form's token must equal the session's CSRF secret (signed in) or the
// pre-sign-in cookie (signed out), compared in constant time, and the
// request must come from a page of this server (Origin, else Referer).
func (s *server) checkCSRF(r *http.Request, st *state) string {
	if !s.sameOrigin(r) {
		return "origin"
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// A form with files (a message's attachments): its token is one of
		// its fields.
		r.Body = http.MaxBytesReader(nil, r.Body, maxMultipart)
		if err := r.ParseMultipartForm(maxMultipart); err != nil {
			return "form"
		}
	}
	if err := r.ParseForm(); err != nil {
		return "form"
	}
	if r.URL.Path == "/logout" && st.session == nil {
		return "" // nobody to sign out: nothing to protect
	}
	got := r.PostForm.Get(auth.CSRFField)
	want := st.pre
	if st.session != nil {
		want = st.session.CSRF
	}
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return "token"
	}
	return ""
}

// sameOrigin reports whether the request's Origin (or, without one, its
// Referer) is this server.
func (s *server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return false
		}
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" {
			return false
		}
		origin = u.Scheme + "://" + u.Host
	}
	if strings.EqualFold(origin, s.origin(r)) {
		return true
	}
	return slices.ContainsFunc(s.cfg.Origins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// preToken returns the pre-sign-in CSRF secret, setting its cookie when
// the browser has none.
func (s *server) preToken(w http.ResponseWriter, r *http.Request) string {
	st := stateOf(r)
	if st.pre == "" {
		st.pre = randomToken()
		http.SetCookie(w, &http.Cookie{Name: preCookie, Value: st.pre, Path: "/", HttpOnly: true,
			Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
	}
	return st.pre
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

func (s *server) clearCookie(w http.ResponseWriter, name, path string) {
	s.setCookie(w, name, "", path, -1)
}

// handler is a page handler: it writes the response or returns an error,
// which fail renders.
type handler func(http.ResponseWriter, *http.Request) error

// h adapts a handler.
func (s *server) h(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// user wraps a page that needs a signed-in user: others go to the sign-in
// page, which brings them back here.
func (s *server) user(fn handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		st := stateOf(r)
		if st.user == nil {
			if r.Method != http.MethodGet {
				return errs.E(errs.Unauthenticated, "Your session has ended. Sign in again.")
			}
			q := url.Values{"next": {r.URL.RequestURI()}}
			if st.expired {
				q.Set("reason", "expired")
			}
			http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
			return nil
		}
		w.Header().Set("Cache-Control", "no-store")
		return fn(w, r)
	})
}

// admin wraps a page for system administrators and organization
// administrators.
func (s *server) admin(fn handler) http.Handler {
	return s.user(func(w http.ResponseWriter, r *http.Request) error {
		if !isAdmin(stateOf(r)) {
			return errs.E(errs.Permission, "This page is for administrators.")
		}
		return fn(w, r)
	})
}

// isAdmin reports whether the user administers the system or the
// organization acted for now.
func isAdmin(st *state) bool {
	if st.user == nil {
		return false
	}
	return st.user.SystemAdmin || slices.Contains(currentRoles(st), auth.RoleAdmin)
}

// currentRoles are the roles of the membership the session acts under.
func currentRoles(st *state) []string {
	if st.user == nil || st.session == nil {
		return nil
	}
	for _, m := range st.user.Memberships {
		if m.Organization == st.session.Organization {
			return m.Roles
		}
	}
	return nil
}

// localPath accepts only a path of this server as a redirect target
// ("/x?y"), never "//host", "/\host" or an absolute URL.
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// origin is this server as the browser sees it: scheme://host[:port],
// from the request, or from X-Forwarded-Proto and X-Forwarded-Host when a
// trusted proxy sets them.
func (s *server) origin(r *http.Request) string {
	scheme, host := clientip.Origin(r, s.cfg.Proxies, s.cfg.Secure)
	return scheme + "://" + host
}

// clientIP is the client's address (clientip.Of). It keys the identity
// service's per-address sign-in limit and the audit trail.
func (s *server) clientIP(r *http.Request) string { return clientip.Of(r, s.cfg.Proxies) }

func userName(u *auth.User) string {
	if u == nil {
		return ""
	}
	return u.Username
}

func (s *server) meta(r *http.Request) auth.Meta {
	return auth.Meta{Source: s.clientIP(r), UserAgent: r.UserAgent()}
}
