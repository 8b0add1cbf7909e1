package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/metrics"
	"github.com/openchart/openchart/internal/server"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", envOr("OPENCHART_ADDR", "127.0.0.1:8080"), "address to listen on")
	withDemo := fs.Bool("demo", false, "load the demo clinic (idempotent) before serving")
	baseURL := fs.String("base-url", os.Getenv("OPENCHART_BASE_URL"), "public base URL of the FHIR API (default http://ADDR/fhir)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	log := newLogger(stderr)
	m := metrics.New()
	cfg := sf.config(log)
	cfg.Metrics = m
	cfg.BaseURL = *baseURL
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + *addr + "/fhir"
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	if *withDemo {
		n, err := loadDemo(ctx, a.API)
		if err != nil {
			return fmt.Errorf("loading the demo data: %w", err)
		}
		log.Info("demo data loaded", "resources", n)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	srv, err := server.New(server.Config{
		FHIR:    fhirhttp.New(a.API, fhirhttp.Options{}),
		Ready:   a.Store.Ping,
		Metrics: m,
		Logger:  log,
		Index:   indexPage(),
	})
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "OpenChart is running at %s/ (FHIR API at %s/fhir)\n", url, url)
	if *withDemo {
		fmt.Fprint(stdout, demoSummary(url))
	}
	return srv.Serve(ctx, ln)
}
