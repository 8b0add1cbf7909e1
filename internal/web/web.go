package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/notify"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/schedule"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/visit"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Compiler turns search parameters into a store query (a *search.Compiler).
type Compiler interface {
	Compile(typ string, params url.Values, strict bool) (*search.Compiled, error)
}

// Config is what the pages need.
type Config struct {
	// The clinical services the clinician app and the portal call (each
	// optional: its pages answer 404 when it is absent).
	Chart    *chart.Chart
	Visit    *visit.Service
	Schedule *schedule.Service
	Inbox    *inbox.Inbox
	// Notify keeps the portal users' notification preferences; optional:
	// without it the portal's account page offers none.
	Notify *notify.Service
	// Launch starts a SMART app in the EHR launch (the authorization
	// server's NewLaunch); optional.
	Launch func(ctx context.Context, userID, patient, encounter string) (string, error)
	// Clients are the registered SMART apps, managed at /admin/apps (the
	// authorization server); optional.
	Clients Clients
	// Grants are the SMART apps users authorized (the authorization
	// server), listed in the portal; optional.
	Grants Grants
	// FHIRBase is the FHIR API's public base URL, the iss of an EHR
	// launch; empty derives it from the request (origin + "/fhir").
	FHIRBase string
	// FHIR is the FHIR API, called in-process (the portal's record
	// download runs its Patient/$everything); optional.
	FHIR *fhirapi.API

	// Auth is the identity service (an *auth.Service).
	Auth Identity
	// Repo is the Repository; every read goes through it with the
	// signed-in user's principal.
	Repo *repo.Repo
	// Search compiles the patient search (search.NewCompilerFrom(app.Registry)).
	Search Compiler
	Logger *slog.Logger
	// Secure marks cookies Secure: set it when the server speaks TLS (or
	// sits behind a proxy that does).
	Secure bool
	// IdleTimeout is the identity service's idle timeout: pages sign out
	// by themselves after this long without activity. Zero takes the
	// service's own (auth.Options.IdleTimeout); negative disables the
	// client-side sign-out (the server-side limit still applies).
	IdleTimeout time.Duration
	// Origins are further origins ("https://ehr.example.org") accepted on
	// state-changing requests, beside the request's own host: set it when
	// a proxy rewrites the Host header.
	Origins []string
	// Proxies is the number of reverse proxies in front of the server
	// (0: none, the peer is the client). Each appends the address it
	// received the request from to X-Forwarded-For, and the outermost sets
	// X-Forwarded-Proto and X-Forwarded-Host. The client's address is then
	// the Proxies-th from the end of X-Forwarded-For (clientip.Of), never
	// one the client wrote itself.
	// The client's address keys the sign-in and activation limits and is
	// the audit trail's source; the forwarded scheme and host are this
	// server's origin (the CSRF check, reset links).
	Proxies int
	// ResetLinkTTL is how long an administrator's reset link stays valid
	// (default 24 hours).
	ResetLinkTTL time.Duration
}

type server struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*pageTemplate
	// wrongLogin is the sign-in page's answer to a refused attempt.
	wrongLogin string
	// orgs caches the organization names the header shows.
	orgs orgNameCache
}

// New builds the web front door, to be mounted at "/".
func New(cfg Config) (http.Handler, error) {
	if cfg.Auth == nil {
		return nil, errors.New("web: no identity service")
	}
	if cfg.Repo == nil {
		return nil, errors.New("web: no repository")
	}
	if cfg.Search == nil {
		return nil, errors.New("web: no search compiler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	wrongLogin := msgWrongLogin
	if o, ok := cfg.Auth.(interface{ Options() auth.Options }); ok {
		opts := o.Options()
		if cfg.IdleTimeout == 0 {
			cfg.IdleTimeout = opts.IdleTimeout
		}
		if opts.MaxFailures > 0 && opts.LockoutDuration > 0 {
			// The service answers a locked account like a wrong password
			// (so that neither reveals anything); the page says what
			// happens after repeated failures.
			wrongLogin = fmt.Sprintf("%s After %d failed sign-ins in a row the account is locked for %s.",
				msgWrongLogin, opts.MaxFailures, idleText(opts.LockoutDuration))
		}
	}
	if cfg.ResetLinkTTL <= 0 {
		cfg.ResetLinkTTL = 24 * time.Hour
	}
	for _, o := range cfg.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("web: origin %q is not scheme://host[:port]", o)
		}
	}
	s := &server{cfg: cfg, log: cfg.Logger, wrongLogin: wrongLogin}
	var err error
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	return s.routes(), nil
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))

	mux.Handle("GET /login", s.h(s.loginPage))
	mux.Handle("POST /login", s.h(s.loginSubmit))
	mux.Handle("GET /login/verify", s.h(s.verifyPage))
	mux.Handle("POST /login/verify", s.h(s.verifySubmit))
	mux.Handle("POST /logout", s.h(s.logout))
	mux.Handle("GET /setup", s.h(s.setupPage))
	mux.Handle("POST /setup", s.h(s.setupSubmit))
	mux.Handle("GET /reset", s.h(s.resetPage))
	mux.Handle("POST /reset", s.h(s.resetSubmit))

	mux.Handle("GET /{$}", s.user(s.home))
	mux.Handle("GET /session/alive", s.user(s.alive))
	mux.Handle("POST /session/organization", s.user(s.switchOrganization))
	mux.Handle("GET /account", s.user(s.accountPage))
	mux.Handle("POST /account/password", s.user(s.changePassword))
	mux.Handle("POST /account/totp", s.user(s.beginTOTP))
	mux.Handle("POST /account/totp/confirm", s.user(s.confirmTOTP))
	mux.Handle("POST /account/logout-everywhere", s.user(s.logoutEverywhere))
	mux.Handle("POST /account/sessions/{id}/revoke", s.user(s.revokeSession))

	mux.Handle("GET /admin/users", s.admin(s.usersPage))
	mux.Handle("GET /admin/users/new", s.admin(s.newUserPage))
	mux.Handle("POST /admin/users", s.admin(s.createUser))
	mux.Handle("GET /admin/users/{id}", s.admin(s.editUserPage))
	mux.Handle("POST /admin/users/{id}", s.admin(s.updateUser))
	mux.Handle("POST /admin/users/{id}/reset-link", s.admin(s.resetLink))
	mux.Handle("POST /admin/users/{id}/reset-totp", s.admin(s.resetTOTP))
	mux.Handle("GET /admin/audit", s.admin(s.auditPage))

	mux.Handle("GET /patients/{id}/break-glass", s.user(s.breakGlassPage))
	mux.Handle("POST /patients/{id}/break-glass", s.user(s.breakGlassSubmit))

	// The clinician app and the portal, each area in its own files.
	s.chartRoutes(mux)  // chart.go: the chart (summary, lists, results, trends, documents)
	s.visitRoutes(mux)  // visit.go: the visit (vitals, note, diagnoses, orders, prescribing, signing)
	s.deskRoutes(mux)   // desk.go: registration, scheduling, the inbox
	s.portalRoutes(mux) // portal.go: the patient portal under /portal
	s.clientRoutes(mux) // clients.go: SMART apps (/admin/apps) and EHR launch from the chart

	mux.Handle("/", s.h(func(w http.ResponseWriter, r *http.Request) error {
		return notFound
	}))
	return s.middleware(mux)
}

// staticFiles serves the embedded assets; they change only with the
// binary, so browsers may keep them for an hour.
func staticFiles(fsys fs.FS) http.Handler {
	fsrv := http.FileServer(http.FS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
