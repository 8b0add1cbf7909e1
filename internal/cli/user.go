package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
)

const userUsage = `Usage:
  openchart user add     --username U --name "Full Name" [--org Organization/ID --role physician,nurse]
                         [--fhir-user Practitioner/ID] [--patient Patient/ID ...] [--admin] [--valid 72h]
  openchart user list    [--org Organization/ID]
  openchart user reset   --username U [--valid 24h]
  openchart user disable --username U
  openchart user enable  --username U

Each takes --data DIR or --db URL, and acts as the operating-system user
(an operator), audited. Passwords are never given on the command line:
add and reset print a one-time code (and, with --base-url, the link) with
which the user chooses one.
`

// userCmd runs `openchart user ...`.
func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return usageError{errors.New("name a subcommand: add, list, reset, disable or enable")}
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("user "+sub, stderr)
	var sf storeFlags
	sf.register(fs)
	baseURL := fs.String("base-url", os.Getenv("OPENCHART_BASE_URL"), "the server's FHIR base URL, to print links to the web pages")
	var (
		username, name, org, roles, fhirUser string
		patients                             []string
		admin                                bool
		valid                                time.Duration
	)
	switch sub {
	case "add":
		fs.StringVar(&username, "username", "", "the new user's username")
		fs.StringVar(&name, "name", "", "the new user's full name")
		fs.StringVar(&org, "org", "", "the organization the user works for (Organization/ID)")
		fs.StringVar(&roles, "role", "", "the roles held there, comma-separated: "+strings.Join(auth.Roles, ", "))
		fs.StringVar(&fhirUser, "fhir-user", "", "the resource the user is (Practitioner/ID, Patient/ID, RelatedPerson/ID)")
		fs.Func("patient", "a patient the user may act for (Patient/ID; repeat for several)", func(s string) error {
			patients = append(patients, s)
			return nil
		})
		fs.BoolVar(&admin, "admin", false, "a system administrator (manages every organization's users)")
		fs.DurationVar(&valid, "valid", 72*time.Hour, "how long the code to set the password is valid")
	case "list":
		fs.StringVar(&org, "org", "", "only members of this organization (Organization/ID)")
	case "reset":
		fs.StringVar(&username, "username", "", "the user")
		fs.DurationVar(&valid, "valid", auth.DefaultResetTTL, "how long the reset code is valid")
	case "disable", "enable":
		fs.StringVar(&username, "username", "", "the user")
	default:
		fmt.Fprint(stderr, userUsage)
		return usageError{fmt.Errorf("unknown subcommand %q", sub)}
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if sub != "list" && username == "" {
		return usageError{errors.New("--username is required")}
	}
	if sub == "add" {
		if name == "" {
			return usageError{errors.New("--name is required")}
		}
		if (org == "") != (roles == "") {
			return usageError{errors.New("--org and --role go together")}
		}
	}
	if valid < 0 {
		return usageError{errors.New("--valid must be positive")}
	}

	st, err := app.OpenStore(ctx, sf.config(newLogger(stderr)))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := auth.New(st, auth.Options{})
	ctx = operator(ctx)
	links := linkBase(*baseURL)

	switch sub {
	case "add":
		u := auth.User{Username: username, DisplayName: name, FHIRUser: fhirUser, Patients: patients, SystemAdmin: admin}
		if org != "" {
			u.Memberships = []auth.Membership{{Organization: org, Roles: strings.Split(roles, ",")}}
		}
		created, err := svc.CreateUser(ctx, u, "")
		if err != nil {
			return err
		}
		code, err := svc.ResetLink(ctx, created.ID, valid)
		if err != nil {
			return fmt.Errorf("user %s created, but no code to set the password: %w", created.Username, err)
		}
		fmt.Fprintf(stdout, "Created user %s (id %s).\n", created.Username, created.ID)
		printCode(stdout, "The user sets a password with this one-time code", valid, links, "/reset", code)
	case "list":
		users, err := listAll(ctx, svc, org)
		if err != nil {
			return err
		}
		printUsers(stdout, users)
	case "reset":
		u, err := svc.UserByName(ctx, username)
		if err != nil {
			return fmt.Errorf("%s: %w", username, err)
		}
		code, err := svc.ResetLink(ctx, u.ID, valid)
		if err != nil {
			return err
		}
		printCode(stdout, "The user "+u.Username+" sets a new password with this one-time code", valid, links, "/reset", code)
	case "disable", "enable":
		u, err := svc.UserByName(ctx, username)
		if err != nil {
			return fmt.Errorf("%s: %w", username, err)
		}
		u.Disabled = sub == "disable"
		if _, err := svc.UpdateUser(ctx, *u); err != nil {
			return err
		}
		if u.Disabled {
			fmt.Fprintf(stdout, "User %s is disabled and signed out everywhere.\n", u.Username)
		} else {
			fmt.Fprintf(stdout, "User %s is enabled.\n", u.Username)
		}
	}
	return nil
}

// setupCodeCmd runs `openchart setup-code`: while no account exists, it
// prints a fresh first-start code (replacing any earlier one).
func setupCodeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup-code", stderr)
	var sf storeFlags
	sf.register(fs)
	baseURL := fs.String("base-url", os.Getenv("OPENCHART_BASE_URL"), "the server's FHIR base URL, to print the link to the setup page")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	st, err := app.OpenStore(ctx, sf.config(newLogger(stderr)))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := auth.New(st, auth.Options{})
	code, created, err := svc.SetupCode(operator(ctx))
	if err != nil {
		return err
	}
	if !created {
		return errors.New("OpenChart has accounts already: an administrator adds users (openchart user add)")
	}
	printCode(stdout, "Create the first administrator with this one-time code", svc.Options().SetupTTL, linkBase(*baseURL), "/setup", code)
	return nil
}

// linkBase is the site root of the web pages for a FHIR base URL
// ("https://ehr.example.org/fhir" -> "https://ehr.example.org"), or "".
func linkBase(fhirBase string) string {
	if fhirBase == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSuffix(fhirBase, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	u.Path = strings.TrimSuffix(u.Path, "/fhir")
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/")
}

// printCode prints a one-time code alone on the last line, for scripts.
func printCode(w io.Writer, what string, valid time.Duration, base, page, code string) {
	fmt.Fprintf(w, "%s (valid %s, usable once):\n", what, valid)
	if base != "" {
		fmt.Fprintf(w, "  %s%s?code=%s\n", base, page, url.QueryEscape(code))
	}
	fmt.Fprintln(w, code)
}

func listAll(ctx context.Context, svc *auth.Service, org string) ([]*auth.User, error) {
	var all []*auth.User
	after := ""
	for {
		page, err := svc.ListUsers(ctx, auth.UserQuery{Organization: org, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 500 {
			return all, nil
		}
		after = page[len(page)-1].Username
	}
}

func printUsers(w io.Writer, users []*auth.User) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tNAME\tACCESS\tFHIR USER\tSTATUS")
	for _, u := range users {
		var acc []string
		if u.SystemAdmin {
			acc = append(acc, "system admin")
		}
		for _, m := range u.Memberships {
			acc = append(acc, m.Organization+": "+strings.Join(m.Roles, ","))
		}
		if len(u.Patients) > 0 {
			acc = append(acc, "patients: "+strings.Join(u.Patients, ","))
		}
		var status []string
		if u.Disabled {
			status = append(status, "disabled")
		}
		if u.TOTPEnabled {
			status = append(status, "2fa")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, orDash(strings.Join(acc, "; ")),
			orDash(u.FHIRUser), orDash(strings.Join(status, ",")))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d users\n", len(users))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
