package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
)

// page is what every template receives.
type page struct {
	Title  string
	Data   any
	Form   url.Values        // the submitted values, shown again after an error
	Errors map[string]string // field name -> message shown next to the field
	Error  string            // a message for the whole form

	// Filled by render:
	User        *auth.User
	Session     *auth.Session
	CSRF        string
	Flash       string
	Admin       bool
	Roles       []string
	IdleSeconds int
	Path        string
	// Nav holds what the navigation shows beside its links (the inbox's
	// counts); filled by navCounts (desk.go) for signed-in users.
	Nav any
	// OrgNames names the organizations of the user's memberships for the
	// header (see OrgName, home.go).
	OrgNames map[string]string
}

// Value returns a submitted form value.
func (p page) Value(name string) string { return p.Form.Get(name) }

// errorView is the data of the error page.
type errorView struct {
	Heading string
	Message string
}

type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"add": func(a, b int) int { return a + b },
	"field": func(p page, name, label, typ, autocomplete string, required bool) fieldView {
		return fieldView{Name: name, ID: name, Label: label, Type: typ, Autocomplete: autocomplete,
			Required: required, Value: p.Form.Get(name), Error: p.Errors[name]}
	},
	"dict": func(p page, name, label string, opts []option) selectView {
		return selectView{Name: name, Label: label, Options: opts, Value: p.Form.Get(name), Error: p.Errors[name]}
	},
	"hint": func(f fieldView, hint string) fieldView { f.Hint = hint; return f },
}

// selectView is one labelled select list.
type selectView struct {
	Name, Label, Value, Error string
	Options                   []option
}

// fieldView is one labelled input with its error message, rendered by the
// layout's "field" template.
type fieldView struct {
	Name, ID, Label, Type, Autocomplete, Value, Error, Hint string
	Required                                                bool
}

// loadPages parses every page under templates/ (a page's name is its path
// there without ".html": "home", "portal/home"), each inside layout.html
// with the shared pieces of templates/partials/ (the chart banner, ...).
func loadPages() (map[string]*pageTemplate, error) {
	partials, err := fs.Glob(templateFS, "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	err = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") ||
			path == "templates/layout.html" || strings.HasPrefix(path, "templates/partials/") {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".html")
		files := append([]string{"templates/layout.html"}, partials...)
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append(files, path)...)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t: t}
		return nil
	})
	return out, err
}

// render writes a page in the layout.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	st := stateOf(r)
	p.User, p.Session, p.Path = st.user, st.session, r.URL.Path
	if st.session != nil {
		p.CSRF = st.session.CSRF
		p.Roles = currentRoles(st)
		p.Admin = isAdmin(st)
		p.Nav = s.navCounts(r)
		p.OrgNames = s.orgNames(r.Context(), st.user)
		if s.cfg.IdleTimeout > 0 {
			p.IdleSeconds = int(s.cfg.IdleTimeout / time.Second)
			if p.IdleSeconds < 1 {
				p.IdleSeconds = 1
			}
		}
	} else {
		p.CSRF = s.preToken(w, r)
	}
	if c, err := r.Cookie(flashCookie); err == nil && c.Value != "" {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			p.Flash = v
		}
		s.clearCookie(w, flashCookie, "/")
	}
	t := s.pages[name]
	var buf bytes.Buffer
	if err := t.t.Execute(&buf, p); err != nil {
		s.log.Error("web: rendering", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if st.user != nil || h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flash sets a message for the next page.
func (s *server) flash(w http.ResponseWriter, msg string) {
	s.setCookie(w, flashCookie, url.QueryEscape(msg), "/", 60)
}

var notFound = errs.E(errs.NotFound, "There is no page at this address.")

// fail renders an error page: the message of the error kind, never a
// cause or a stack; internal errors are logged.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, heading := http.StatusInternalServerError, "Something went wrong"
	msg := "The server could not complete this request. Try again; if it keeps happening, tell your administrator."
	var e *errs.Error
	switch k := errs.KindOf(err); k {
	case errs.NotFound, errs.Gone:
		status, heading, msg = http.StatusNotFound, "Not found", "There is no page at this address."
	case errs.Permission:
		status, heading, msg = http.StatusForbidden, "Not allowed", "You are not allowed to do this."
	case errs.Unauthenticated:
		status, heading, msg = http.StatusUnauthorized, "Signed out", "Your session has ended. Sign in again."
	case errs.Invalid, errs.Conflict, errs.Precondition, errs.TooLarge:
		status, heading, msg = http.StatusBadRequest, "The request could not be accepted", "The request could not be accepted."
	case errs.Transient:
		status, heading, msg = http.StatusServiceUnavailable, "Try again", "The service is busy or unavailable. Try again in a moment."
	default:
		s.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	}
	if k := errs.KindOf(err); k != errs.Internal && k != errs.Other && k != errs.Transient && errors.As(err, &e) && userMessage(e) != "" {
		msg = userMessage(e)
	}
	s.render(w, r, status, "error", page{Title: heading, Data: errorView{Heading: heading, Message: msg}})
}

// userMessage is the message of the outermost error that has one.
func userMessage(e *errs.Error) string {
	for e != nil {
		if e.Msg != "" {
			return e.Msg
		}
		if e.Op != "" && e.Err == nil {
			return e.Op // errs.E(kind, "message") puts a lone string in Op
		}
		var next *errs.Error
		if !errors.As(e.Err, &next) {
			return ""
		}
		e = next
	}
	return ""
}

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }
