package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/postgres"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// codeLine is the last non-empty line of out: where the commands print a
// one-time code.
func codeLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// TestUserCommands runs the operator commands on both stores: the
// first-start code, adding a user whose code sets the password, listing,
// resetting and disabling, with their refusals.
func TestUserCommands(t *testing.T) {
	stores := []struct {
		name string
		flag func(t *testing.T) []string
		open func(t *testing.T, args []string) store.Store
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data", t.TempDir()} },
			func(t *testing.T, args []string) store.Store {
				st, err := sqlite.Open(context.Background(), args[1], sqlite.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}},
		{"postgres", func(t *testing.T) []string { return []string{"--db", pgtest.URL(t)} },
			func(t *testing.T, args []string) store.Store {
				st, err := postgres.Open(context.Background(), args[1], postgres.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			sf := s.flag(t)
			cmd := func(args ...string) (int, string, string) {
				t.Helper()
				return run(t, append(args, sf...)...)
			}
			// The first start: a code, a fresh one each time.
			code, out, errOut := cmd("setup-code", "--base-url", "https://ehr.example.org/fhir")
			if code != 0 {
				t.Fatalf("setup-code: exit %d: %s", code, errOut)
			}
			setup1 := codeLine(out)
			if !strings.Contains(out, "https://ehr.example.org/setup?code=") || len(setup1) < 40 {
				t.Errorf("setup-code printed %q", out)
			}
			_, out, _ = cmd("setup-code")
			if setup2 := codeLine(out); setup2 == setup1 {
				t.Error("setup-code printed the same code twice")
			}

			code, out, errOut = cmd("user", "add", "--username", "alice", "--name", "Alice Adams, MD",
				"--org", "Organization/o1", "--role", "physician,nurse", "--fhir-user", "Practitioner/p1")
			if code != 0 {
				t.Fatalf("user add: exit %d: %s", code, errOut)
			}
			aliceCode := codeLine(out)
			if !strings.Contains(out, "Created user alice") {
				t.Errorf("user add printed %q", out)
			}

			// Refusals: bad usage exits 2, bad input 1 with the reason.
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"user", "add", "--username", "ALICE", "--name", "Other"}, 1, "taken"},
				{[]string{"user", "add", "--username", "bob", "--name", "Bob", "--org", "Organization/o1", "--role", "surgeon"}, 1, "Unknown role"},
				{[]string{"user", "add", "--name", "Bob"}, 2, "--username is required"},
				{[]string{"user", "add", "--username", "bob", "--name", "Bob", "--org", "Organization/o1"}, 2, "go together"},
				{[]string{"user", "frobnicate"}, 2, "unknown subcommand"},
				{[]string{"user", "reset", "--username", "nobody"}, 1, "No such user"},
				{[]string{"setup-code"}, 1, "accounts already"},
			} {
				code, out, errOut := cmd(c.args...)
				if code != c.code || !strings.Contains(out+errOut, c.want) {
					t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, out+errOut, c.code, c.want)
				}
			}

			code, _, _ = cmd("user", "add", "--username", "lan", "--name", "Lan Tran", "--fhir-user", "RelatedPerson/r1",
				"--patient", "Patient/kid1", "--patient", "Patient/kid2")
			if code != 0 {
				t.Fatalf("user add of a proxy: exit %d", code)
			}
			code, out, _ = cmd("user", "list")
			if code != 0 || !strings.Contains(out, "Organization/o1: physician,nurse") || !strings.Contains(out, "patients: kid1,kid2") || !strings.Contains(out, "2 users") {
				t.Errorf("user list: exit %d\n%s", code, out)
			}
			_, out, _ = cmd("user", "reset", "--username", "lan", "--valid", "1h")
			lanCode := codeLine(out)
			if code, _, _ := cmd("user", "disable", "--username", "alice"); code != 0 {
				t.Fatalf("user disable: exit %d", code)
			}
			if _, out, _ = cmd("user", "list", "--org", "Organization/o1"); !strings.Contains(out, "disabled") || strings.Contains(out, "lan") {
				t.Errorf("user list --org after disable:\n%s", out)
			}

			// The printed codes work; the disabled account cannot sign in.
			st := s.open(t, sf)
			defer st.Close()
			svc := auth.New(st, auth.Options{})
			ctx := context.Background()
			const pw = "a long enough passphrase"
			if err := svc.UseResetLink(ctx, aliceCode, pw); err != nil {
				t.Fatalf("alice's code: %v", err)
			}
			if err := svc.UseResetLink(ctx, lanCode, pw); err != nil {
				t.Fatalf("lan's code: %v", err)
			}
			if _, err := svc.Login(ctx, "lan", pw, auth.Meta{}); err != nil {
				t.Errorf("lan cannot sign in: %v", err)
			}
			if _, err := svc.Login(ctx, "alice", pw, auth.Meta{}); errs.KindOf(err) != errs.Unauthenticated {
				t.Errorf("disabled alice signed in: %v", err)
			}
			// The commands are audited as the operator's.
			rows, err := st.AuditScan(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			changes := 0
			for _, r := range rows {
				e, err := audit.Decode(r.Data)
				if err != nil {
					t.Fatal(err)
				}
				if e.Interaction == audit.InteractionPermissionChange && e.Agent.Kind == "operator" {
					changes++
				}
			}
			// 2 setup codes, 2 accounts, 3 codes, 1 disable.
			if changes != 8 {
				t.Errorf("%d permission changes by the operator, want 8", changes)
			}
		})
	}
}

// TestUserAddWhileServing adds a user to a data directory a server has
// open.
func TestUserAddWhileServing(t *testing.T) {
	data := t.TempDir()
	_, stop := startServe(t, "--data", data)
	defer stop()
	code, out, errOut := run(t, "user", "add", "--data", data, "--username", "nurse1", "--name", "Nurse One",
		"--org", "Organization/o1", "--role", "nurse")
	if code != 0 || len(codeLine(out)) < 40 {
		t.Fatalf("user add while serving: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "nurse1") {
		t.Fatalf("user list while serving: exit %d\n%s", code, out)
	}
}
