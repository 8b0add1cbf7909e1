// Package cli implements the openchart commands. Each command parses its
// flags (with environment-variable defaults), assembles the application
// through package app, and reports errors in plain words with an exit
// status scripts can rely on: 0 success, 1 failure, 2 bad usage.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/openchart/openchart/internal/app"
)

const usage = `OpenChart, an electronic health record.

Usage:
  openchart serve   [--addr HOST:PORT] [--data DIR | --db URL] [--demo] [--base-url URL]
  openchart import  [--data DIR | --db URL] [--workers N] PATH...
  openchart audit   verify [--data DIR | --db URL]
  openchart user    add|list|reset|disable|enable [--data DIR | --db URL] ...
  openchart setup-code [--data DIR | --db URL]
  openchart token   --scope SCOPES [--user NAME] [--patient ID] [--client-id ID] [--ttl 1h] [--data DIR | --db URL]
  openchart client  add|list|remove [--data DIR | --db URL] ...
  openchart reindex [--data DIR | --db URL] [--type T,...] [--batch N] [--after KEY]
  openchart bench data --patients N --out DIR [--seed S] [--src DIR]
  openchart bench run  --target URL [--data DIR] [--db URL] [--clients 1,8,32] [--duration D]
  openchart version

Environment: OPENCHART_ADDR, OPENCHART_DATA, OPENCHART_DB and OPENCHART_BASE_URL
set the defaults of --addr, --data, --db and --base-url. Run
"openchart COMMAND -h" for a command's flags.
`

// Main runs the command line and returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "reindex":
		err = reindexCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		err = auditCmd(ctx, args[1:], stdout, stderr)
	case "user":
		err = userCmd(ctx, args[1:], stdout, stderr)
	case "setup-code":
		err = setupCodeCmd(ctx, args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(ctx, args[1:], stdout, stderr)
	case "client":
		err = clientCmd(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "openchart", app.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "openchart: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "openchart %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "openchart %s: %v\n", args[0], err)
		return 1
	}
}

type usageError struct{ error }

// storeFlags are the flags that choose the store.
type storeFlags struct {
	data, db string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", envOr("OPENCHART_DATA", "openchart-data"), "data directory of the embedded store")
	fs.StringVar(&s.db, "db", os.Getenv("OPENCHART_DB"), "PostgreSQL URL (postgres://...); when set, PostgreSQL is the store")
}

func (s *storeFlags) config(log *slog.Logger) app.Config {
	c := app.Config{DataDir: s.data, DB: s.db, Logger: log}
	if s.db != "" {
		c.DataDir = ""
	}
	return c
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger logs JSON, or text on a terminal.
func newLogger(w io.Writer) *slog.Logger {
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("openchart "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
