package notify

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// Users looks up portal accounts (an *auth.Service).
type Users interface {
	GetUser(ctx context.Context, id string) (*auth.User, error)
}

// Config holds the notification service's dependencies and settings.
type Config struct {
	// Repo is the Repository the events are read through (required).
	Repo *repo.Repo
	// Store keeps the preferences, checkpoint, markers and outbox as
	// server state (required): the store the Repository uses.
	Store store.Store
	// Compiler compiles the reminders' appointment search (required).
	Compiler *search.Compiler
	// Users finds the accounts preferences belong to (required).
	Users Users
	// PortalURL is the server's public base URL ("https://ehr.example.org");
	// the emails link to PortalURL + "/portal" (required).
	PortalURL string
	// Sender delivers the emails; nil means email is not set up: nothing
	// is sent and the outbox keeps what was queued.
	Sender Sender
	// Location is the time zone appointment times are written in
	// (default time.Local).
	Location *time.Location
	// PollInterval is how often history is polled and the outbox
	// delivered (default one minute).
	PollInterval time.Duration
	// Overlap is how far before the last checkpoint each poll starts
	// again, for transactions that committed after a poll with an earlier
	// timestamp (default ten minutes). Events seen twice are recognised by
	// their markers.
	Overlap time.Duration
	// MaxAttempts bounds the delivery attempts of one email (default 10).
	MaxAttempts int
	Logger      *slog.Logger
	Now         func() time.Time
}

// Defaults of Config.
const (
	DefaultPollInterval = time.Minute
	DefaultOverlap      = 10 * time.Minute
	DefaultMaxAttempts  = 10
)

// Service finds events, queues the emails and delivers them. It is safe
// for concurrent use, and several servers may run it on one database.
type Service struct {
	repo        *repo.Repo
	store       store.Store
	compiler    *search.Compiler
	users       Users
	portal      string
	sender      Sender
	loc         *time.Location
	interval    time.Duration
	overlap     time.Duration
	maxAttempts int
	log         *slog.Logger
	now         func() time.Time
}

// New checks the configuration and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errors.New("notify: no repository")
	case cfg.Store == nil:
		return nil, errors.New("notify: no store")
	case cfg.Compiler == nil:
		return nil, errors.New("notify: no search compiler")
	case cfg.Users == nil:
		return nil, errors.New("notify: no identity service")
	case cfg.PortalURL == "":
		return nil, errors.New("notify: no public URL")
	case cfg.PollInterval < 0, cfg.Overlap < 0, cfg.MaxAttempts < 0:
		return nil, errors.New("notify: intervals and limits cannot be negative")
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{repo: cfg.Repo, store: cfg.Store, compiler: cfg.Compiler, users: cfg.Users,
		portal: strings.TrimSuffix(cfg.PortalURL, "/"), sender: cfg.Sender, loc: cfg.Location,
		interval: cfg.PollInterval, overlap: cfg.Overlap, maxAttempts: cfg.MaxAttempts,
		log: cfg.Logger, now: cfg.Now}, nil
}

// EmailConfigured reports whether the clinic has set up sending email.
func (s *Service) EmailConfigured() bool { return s.sender != nil }

// system is the context the service reads and writes in: OpenChart
// itself, named in the audit trail.
func system(ctx context.Context) context.Context {
	return access.With(ctx, &access.Principal{Kind: access.System, Username: "notifications"})
}

// Run polls and delivers every PollInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("notifications: looking for new events", "err", err)
		}
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("notifications: delivering email", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
