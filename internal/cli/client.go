package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/openchart/openchart/internal/smart"
)

const clientUsage = `Usage:
  openchart client add    --name N --scopes "..." [--redirect-uri URI ...] [--launch-url URL]
                          (--public | --confidential [--jwks-file F])
  openchart client list
  openchart client remove CLIENT_ID

Each takes --data DIR or --db URL and acts as the operator, audited.
A public client (a browser or mobile app) authenticates with PKCE only. A
confidential client authenticates with a secret, printed once by add, or,
given --jwks-file (a JSON Web Key Set of its public keys), with signed JWT
assertions (SMART Backend Services). remove revokes every token of the
client.
`

// clientCmd is "openchart client".
func clientCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, clientUsage)
		if len(args) == 0 {
			return usageError{errors.New("name a subcommand: add, list or remove")}
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("client "+sub, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, clientUsage); fs.PrintDefaults() }
	var sf storeFlags
	sf.register(fs)
	baseURL := baseURLFlag(fs)
	var (
		name, scopes, launchURL, jwksFile string
		redirects                         []string
		public, confidential              bool
	)
	if sub == "add" {
		fs.StringVar(&name, "name", "", "the app's name, shown to users on the consent screen")
		fs.StringVar(&scopes, "scopes", "", "the scopes the client may be granted, space-separated")
		fs.Func("redirect-uri", "a redirect URI (repeat for several); compared exactly", func(s string) error {
			redirects = append(redirects, s)
			return nil
		})
		fs.StringVar(&launchURL, "launch-url", "", "the app's launch URL (EHR launch)")
		fs.BoolVar(&public, "public", false, "a public client (PKCE only, no secret)")
		fs.BoolVar(&confidential, "confidential", false, "a confidential client (a secret, or keys with --jwks-file)")
		fs.StringVar(&jwksFile, "jwks-file", "", "a JSON Web Key Set file of the client's public keys (private_key_jwt)")
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	var spec smart.ClientSpec
	switch sub {
	case "add":
		if fs.NArg() > 0 {
			return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
		}
		switch {
		case name == "":
			return usageError{errors.New("--name is required")}
		case strings.TrimSpace(scopes) == "":
			return usageError{errors.New("--scopes is required")}
		case public == confidential:
			return usageError{errors.New("give exactly one of --public and --confidential")}
		case public && jwksFile != "":
			return usageError{errors.New("--jwks-file is for confidential clients")}
		}
		spec = smart.ClientSpec{Name: name, RedirectURIs: redirects, Public: public, Scopes: strings.Fields(scopes), LaunchURL: launchURL}
		if jwksFile != "" {
			b, err := os.ReadFile(jwksFile)
			if err != nil {
				return fmt.Errorf("reading the JWKS: %w", err)
			}
			spec.JWKS = b
		}
	case "list":
		if fs.NArg() > 0 {
			return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
		}
	case "remove":
		if fs.NArg() != 1 {
			return usageError{errors.New("usage: openchart client remove CLIENT_ID")}
		}
	default:
		return usageError{fmt.Errorf("unknown subcommand %q: add, list or remove", sub)}
	}
	st, srv, err := openSmart(ctx, sf, *baseURL, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = operator(ctx)
	switch sub {
	case "add":
		c, secret, err := srv.RegisterClient(ctx, spec)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %q registered (%s)\n", c.Name, c.AuthMethod())
		if secret != "" {
			fmt.Fprintf(stdout, "client secret (shown once, store it now): %s\n", secret)
		}
		fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
	case "list":
		cs, err := srv.ListClients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tAUTH\tSCOPES\tREDIRECT URIS")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.AuthMethod(), strings.Join(c.Scopes, " "), strings.Join(c.RedirectURIs, " "))
		}
		return tw.Flush()
	case "remove":
		if err := srv.RemoveClient(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s removed; its tokens no longer work\n", fs.Arg(0))
	}
	return nil
}
