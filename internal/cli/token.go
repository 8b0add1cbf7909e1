package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/smart"
	"github.com/openchart/openchart/internal/store"
)

const tokenUsage = `Usage:
  openchart token --scope SCOPES [--user NAME] [--patient ID] [--client-id ID] [--ttl 1h] [--data DIR | --db URL]

Issues an access token for the FHIR API directly into the store, as the
operator (audited), and prints it alone on the last line. With --user the
token acts for that user (patient/ and user/ scopes, bounded by the user's
roles); without, it acts as a client of its own (system/ scopes, or patient/
scopes with --patient). It works while the server runs on the same data.
`

// tokenCmd is "openchart token".
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage); fs.PrintDefaults() }
	var sf storeFlags
	sf.register(fs)
	scopes := fs.String("scope", "", `the scopes, space-separated ("system/*.rs", "patient/*.rs", "user/Observation.rs")`)
	username := fs.String("user", "", "the user the token acts for")
	patient := fs.String("patient", "", "the patient context (a Patient id)")
	clientID := fs.String("client-id", "", "a registered client to issue the token to (default "+smart.OperatorClient+")")
	ttl := fs.Duration("ttl", time.Hour, "the token's lifetime")
	baseURL := baseURLFlag(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	case strings.TrimSpace(*scopes) == "":
		return usageError{errors.New("--scope is required")}
	case *ttl <= 0 || *ttl > 24*time.Hour:
		return usageError{errors.New("--ttl must be between 1s and 24h")}
	}
	log := newLogger(stderr)
	st, srv, err := openSmart(ctx, sf, *baseURL, log)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, exp, err := srv.IssueToken(operator(ctx), smart.TokenSpec{Scopes: strings.Fields(*scopes), Username: *username,
		Patient: strings.TrimPrefix(*patient, "Patient/"), ClientID: *clientID, TTL: *ttl})
	if err != nil {
		return err
	}
	who := "client " + *clientID
	switch {
	case *username != "":
		who = "user " + *username
	case *clientID == "":
		who = "client " + smart.OperatorClient
	}
	fmt.Fprintf(stdout, "access token for %s, scopes %q, expires %s\n", who, strings.Join(strings.Fields(*scopes), " "), exp.UTC().Format(time.RFC3339))
	fmt.Fprintln(stdout, tok)
	return nil
}

// baseURLFlag registers --base-url: the server's public base URL, from
// which the authorization server's own URLs are made. OPENCHART_BASE_URL
// names the FHIR base (serve --base-url), so its /fhir is taken off.
func baseURLFlag(fs *flag.FlagSet) *string {
	def := strings.TrimSuffix(strings.TrimSuffix(os.Getenv("OPENCHART_BASE_URL"), "/"), "/fhir")
	if def == "" {
		def = "http://" + envOr("OPENCHART_ADDR", "127.0.0.1:8080")
	}
	return fs.String("base-url", def, "the server's public base URL (the FHIR API is under /fhir)")
}

// openSmart opens the store and the authorization server over it.
func openSmart(ctx context.Context, sf storeFlags, baseURL string, log *slog.Logger) (store.Store, *smart.Server, error) {
	st, err := app.OpenStore(ctx, sf.config(log))
	if err != nil {
		return nil, nil, err
	}
	srv, err := smart.New(smart.Config{Store: st, Auth: auth.New(st, auth.Options{}), BaseURL: strings.TrimSuffix(baseURL, "/fhir"), Logger: log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, srv, nil
}
