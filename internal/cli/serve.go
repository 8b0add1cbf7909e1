package cli

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/doors"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/notify"
	"github.com/openchart/openchart/internal/server"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", envOr("OPENCHART_ADDR", "127.0.0.1:8080"), "address to listen on")
	withDemo := fs.Bool("demo", false, "load the demo clinic (idempotent) before serving")
	baseURL := fs.String("base-url", os.Getenv("OPENCHART_BASE_URL"), "public base URL of the FHIR API (default http[s]://ADDR/fhir)")
	tlsCert := fs.String("tls-cert", os.Getenv("OPENCHART_TLS_CERT"), "serve HTTPS with this certificate (PEM; with --tls-key)")
	tlsKey := fs.String("tls-key", os.Getenv("OPENCHART_TLS_KEY"), "the private key of --tls-cert (PEM)")
	consent := fs.String("consent", envOr("OPENCHART_CONSENT", "opt-in"), "how other organizations' staff reach a patient: opt-in (after the patient's Consent) or opt-out (after treating her, unless a Consent denies it)")
	smtpURL := fs.String("smtp-url", os.Getenv("OPENCHART_SMTP_URL"), "send the portal's notification emails through this SMTP server: smtp://user:password@host:port (STARTTLS when offered) or smtps://... (TLS)")
	smtpFrom := fs.String("smtp-from", os.Getenv("OPENCHART_SMTP_FROM"), "the From address of notification emails (with --smtp-url)")
	selfSigned := fs.Bool("self-signed", false, "serve HTTPS with a self-signed certificate for local use (made once, kept in the data directory)")
	pprofAddr := fs.String("pprof", "", "serve Go runtime profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	memLimit := fs.String("memory-limit", envOr("OPENCHART_MEMORY_LIMIT", defaultMemoryLimit), "soft limit of the memory the Go runtime uses (runtime/debug.SetMemoryLimit), e.g. 192MiB or 1GiB; 0 or off for none; GOMEMLIMIT in the environment wins")
	proxies := fs.String("trusted-proxies", envOr("OPENCHART_TRUSTED_PROXIES", "0"), "number of reverse proxies in front of the server, each appending the client's address to X-Forwarded-For (0: clients connect directly); the client's address, for sign-in limits and the audit trail, is then read from that header")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	nProxies, err := strconv.Atoi(*proxies)
	if err != nil || nProxies < 0 {
		return usageError{fmt.Errorf("--trusted-proxies must be a number of proxies (0 or more), not %q", *proxies)}
	}
	consentModel, ok := access.ParseConsentModel(*consent)
	if !ok {
		return usageError{fmt.Errorf("--consent must be opt-in or opt-out, not %q", *consent)}
	}
	if *pprofAddr != "" {
		if err := server.CheckProfilesAddr(*pprofAddr); err != nil {
			return usageError{fmt.Errorf("--pprof: %w", err)}
		}
	}
	// The limit is the process's; serve restores the one it found when it
	// returns (which matters to tests that serve in-process).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	limit, limitFrom, err := applyMemoryLimit(*memLimit, os.Getenv)
	if err != nil {
		return usageError{err}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	}
	if *selfSigned && *tlsCert != "" {
		return usageError{fmt.Errorf("--self-signed and --tls-cert exclude each other")}
	}
	var mailer notify.Sender
	switch {
	case *smtpURL != "":
		if *smtpFrom == "" {
			return usageError{fmt.Errorf("--smtp-url needs --smtp-from, the address notification emails come from")}
		}
		m, err := notify.NewSMTP(*smtpURL, *smtpFrom)
		if err != nil {
			return usageError{fmt.Errorf("--smtp-url: %w", err)}
		}
		mailer = m
	case *smtpFrom != "":
		return usageError{fmt.Errorf("--smtp-from goes with --smtp-url")}
	}
	log := newLogger(stderr)
	log.Info("memory limit", "limit", formatMemoryLimit(limit), "from", limitFrom)
	tlsConf, err := serveTLS(*tlsCert, *tlsKey, *selfSigned, sf, *addr, log)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	defer ln.Close()
	// The public URL: the FHIR base given, less its /fhir, or the address
	// actually listened on (a port of 0 picks one).
	public := strings.TrimSuffix(strings.TrimSuffix(*baseURL, "/"), "/fhir")
	if public == "" {
		public = scheme + "://" + ln.Addr().String()
	}
	m := metrics.New()
	cfg := sf.config(log)
	cfg.Metrics = m
	cfg.BaseURL = public + "/fhir"
	cfg.OAuth = doors.OAuthURLs(public)
	cfg.Consent = consentModel
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := doors.New(ctx, a, doors.Config{PublicURL: public, Secure: tlsConf != nil || strings.HasPrefix(public, "https://"),
		Proxies: nProxies, Logger: log, Mail: mailer})
	if err != nil {
		return err
	}

	// OpenChart itself makes the demo accounts and the setup code.
	sysCtx := access.With(ctx, &access.Principal{Kind: access.System})
	var demoUsers []auth.DemoUser
	if *withDemo {
		n, err := loadDemo(ctx, a.API)
		if err != nil {
			return fmt.Errorf("loading the demo data: %w", err)
		}
		log.Info("demo data loaded", "resources", n)
		if demoUsers, err = auth.EnsureDemoUsers(sysCtx, d.Auth); err != nil {
			return fmt.Errorf("creating the demo users: %w", err)
		}
		slots, err := demoCalendars(sysCtx, a, d.Schedule)
		if err != nil {
			return fmt.Errorf("opening the demo calendars: %w", err)
		}
		log.Info("demo calendars open", "new slots", slots)
	}
	// The first start has no accounts and no default password: a one-time
	// code, printed here, creates the administrator at /setup.
	setupCode, _, err := d.Auth.SetupCode(sysCtx)
	if err != nil {
		return fmt.Errorf("first-start setup: %w", err)
	}

	go purgeExpired(ctx, d.Auth, log)
	go returnFreeMemory(ctx)
	go d.Notify.Run(ctx)
	if *pprofAddr != "" {
		go func() {
			if err := server.ServeProfiles(ctx, *pprofAddr, log); err != nil {
				log.Error("profiles not served", "err", err)
			}
		}()
	}

	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv, err := server.New(server.Config{
		FHIR:    d.FHIR,
		Web:     d.Web,
		OAuth:   d.OAuth,
		Ready:   a.Store.Ping,
		Metrics: m,
		Logger:  log,
	})
	if err != nil {
		return err
	}
	url := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(stdout, "OpenChart is running at %s/ (FHIR API at %s/fhir)\n", url, url)
	if setupCode != "" {
		fmt.Fprintf(stdout, "First start: create the administrator at %s/setup with the one-time code %s (valid 24 hours)\n", url, setupCode)
	}
	if mailer == nil {
		fmt.Fprintln(stdout, "Email notifications are off (no --smtp-url): portal users' notifications wait in the outbox until email is set up")
	}
	if *withDemo {
		fmt.Fprint(stdout, demoSummary(url))
		fmt.Fprint(stdout, demoUsersSummary(url, demoUsers))
	}
	return srv.Serve(ctx, ln)
}

// serveTLS is the TLS configuration of serve: the given pair, a self-signed
// one kept in the data directory (or in the user's configuration directory
// with PostgreSQL), or none.
func serveTLS(certFile, keyFile string, selfSigned bool, sf storeFlags, addr string, log *slog.Logger) (*tls.Config, error) {
	if selfSigned {
		dir := filepath.Join(sf.data, "tls")
		if sf.db != "" {
			base, err := os.UserConfigDir()
			if err != nil {
				return nil, fmt.Errorf("no directory to keep the self-signed certificate in: %w", err)
			}
			dir = filepath.Join(base, "openchart", "tls")
		}
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if h, _, err := net.SplitHostPort(addr); err == nil && h != "" && h != "localhost" && h != "127.0.0.1" && h != "::1" && h != "0.0.0.0" && h != "::" {
			hosts = append(hosts, h)
		}
		var created bool
		var err error
		certFile, keyFile, created, err = server.SelfSigned(dir, hosts, time.Now())
		if err != nil {
			return nil, fmt.Errorf("making a self-signed certificate: %w", err)
		}
		if created {
			log.Info("made a self-signed certificate for local use; browsers will warn about it", "cert", certFile)
		}
	}
	if certFile == "" {
		return nil, nil
	}
	return server.TLSConfig(certFile, keyFile)
}

// purgeExpired deletes lapsed server state (sessions, codes, tokens) now
// and then: reads ignore it already, this reclaims the space.
func purgeExpired(ctx context.Context, svc *auth.Service, log *slog.Logger) {
	t := time.NewTicker(15 * time.Minute)
	defer t.Stop()
	for {
		if n, err := svc.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purging expired sessions and tokens", "err", err)
		} else if n > 0 {
			log.Info("purged expired sessions and tokens", "items", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
