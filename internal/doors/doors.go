// Package doors assembles the ways into a running OpenChart on top of the
// core that package app builds: the identity service, the authorization
// server, the token-protected FHIR API and the browser pages with the
// clinical services behind them. It sits above app so that the clinical
// services' own tests can build the core without it.
package doors

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/notify"
	"github.com/openchart/openchart/internal/schedule"
	"github.com/openchart/openchart/internal/smart"
	"github.com/openchart/openchart/internal/visit"
	"github.com/openchart/openchart/internal/web"
)

// Config configures the front doors of a server.
type Config struct {
	// PublicURL is the server's public base URL without the FHIR path
	// ("https://ehr.example.org"): the OAuth issuer; the FHIR base is
	// PublicURL + "/fhir".
	PublicURL string
	// Secure: the server speaks TLS (or sits behind a proxy that does);
	// cookies are marked Secure.
	Secure bool
	// Proxies is the number of reverse proxies in front of the server
	// (web.Config.Proxies): the client's address is read from the
	// X-Forwarded-For they append, the public origin from
	// X-Forwarded-Proto and X-Forwarded-Host.
	Proxies int
	// Auth configures sign-in (lockout, timeouts); zero values take the
	// identity service's defaults.
	Auth   auth.Options
	Logger *slog.Logger
	// VirtualVisitBase is the https URL under which virtual visits get
	// their meeting rooms; without it virtual visits cannot be booked.
	VirtualVisitBase string
	// Mail sends the portal users' notification emails (a notify.SMTP
	// from serve --smtp-url); nil: email is not set up, and notifications
	// wait in the outbox.
	Mail notify.Sender
}

// Doors are the ways into a running OpenChart: the identity service, the
// authorization server, the browser pages and the FHIR API protected by
// access tokens. All of them reach data only through the Repository.
type Doors struct {
	Auth     *auth.Service
	SMART    *smart.Server
	Schedule *schedule.Service
	// Notify finds what portal users asked to be told about and emails
	// them; the server runs it (Notify.Run) in the background.
	Notify *notify.Service
	// Web serves the browser pages at "/"; OAuth the authorization server
	// (/oauth/..., /.well-known/..., /fhir/.well-known/...); FHIR the API
	// (mount at /fhir).
	Web, OAuth, FHIR http.Handler
}

// OAuthURLs are the authorization server's endpoints under publicURL, for
// the CapabilityStatement (Config.OAuth).
func OAuthURLs(publicURL string) *fhirapi.OAuthURLs {
	b := strings.TrimSuffix(publicURL, "/")
	return &fhirapi.OAuthURLs{Authorize: b + "/oauth/authorize", Token: b + "/oauth/token",
		Revoke: b + "/oauth/revoke", Introspect: b + "/oauth/introspect"}
}

// New builds the front doors on the core a.
func New(ctx context.Context, a *app.App, cfg Config) (*Doors, error) {
	if cfg.PublicURL == "" {
		return nil, errors.New("doors: no public URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Tokens carry a snapshot of their user's access: when an
	// administrator changes or disables the account, they are revoked.
	var sm *smart.Server
	authOpts := cfg.Auth
	authOpts.OnAccessChange = func(ctx context.Context, userID string) {
		if _, err := sm.RevokeUser(ctx, userID); err != nil {
			cfg.Logger.Warn("revoking the tokens of a changed account", "user", userID, "err", err)
		}
	}
	svc := auth.New(a.Store, authOpts)
	sm, err := smart.New(smart.Config{
		Store:    a.Store,
		Auth:     svc,
		Patients: smart.RepoPatients(a.Repo, a.Compiler),
		BaseURL:  strings.TrimSuffix(cfg.PublicURL, "/"),
		Proxies:  cfg.Proxies,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	ch, err := chart.New(chart.Config{Repo: a.Repo, Compiler: a.Compiler})
	if err != nil {
		return nil, err
	}
	vs, err := visit.New(visit.Config{Repo: a.Repo, Compiler: a.Compiler})
	if err != nil {
		return nil, err
	}
	sc, err := schedule.New(schedule.Config{Repo: a.Repo, Compiler: a.Compiler, VirtualBase: cfg.VirtualVisitBase})
	if err != nil {
		return nil, err
	}
	ib, err := inbox.New(inbox.Config{Repo: a.Repo, Compiler: a.Compiler})
	if err != nil {
		return nil, err
	}
	nt, err := notify.New(notify.Config{Repo: a.Repo, Store: a.Store, Compiler: a.Compiler, Users: svc,
		PortalURL: strings.TrimSuffix(cfg.PublicURL, "/"), Sender: cfg.Mail, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	w, err := web.New(web.Config{
		Chart:       ch,
		Visit:       vs,
		Schedule:    sc,
		Inbox:       ib,
		Notify:      nt,
		Launch:      sm.NewLaunch,
		Clients:     sm,
		Grants:      sm,
		FHIRBase:    strings.TrimSuffix(cfg.PublicURL, "/") + "/fhir",
		FHIR:        a.API,
		Auth:        svc,
		Repo:        a.Repo,
		Search:      a.Compiler,
		Logger:      cfg.Logger,
		Secure:      cfg.Secure,
		IdleTimeout: svc.Options().IdleTimeout,
		Proxies:     cfg.Proxies,
	})
	if err != nil {
		return nil, err
	}
	api := fhirhttp.New(a.API, fhirhttp.Options{
		BasePath:     "/fhir",
		Proxies:      cfg.Proxies,
		Logger:       cfg.Logger,
		Authenticate: sm.Authenticate,
	})
	// Browser-based SMART apps call the API from their own origin: CORS
	// (the credentials are bearer tokens, never cookies).
	return &Doors{Auth: svc, SMART: sm, Schedule: sc, Notify: nt, Web: w, OAuth: sm.Handler(), FHIR: smart.CORS(api)}, nil
}
