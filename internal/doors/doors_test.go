package doors_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/doors"
	"github.com/openchart/openchart/internal/smart"
)

// TestAccessChangeRevokesTokens: a token carries its user's access as it
// was; when an administrator changes the account's roles or disables it,
// the token stops working at once.
func TestAccessChangeRevokesTokens(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(ctx, app.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d, err := doors.New(ctx, a, doors.Config{PublicURL: "http://ehr.test", Logger: quiet,
		Auth: auth.Options{Argon2: auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	op := access.With(ctx, &access.Principal{Kind: access.Operator, Username: "test"})
	u, err := d.Auth.CreateUser(op, auth.User{Username: "greg", DisplayName: "Greg House",
		Memberships: []auth.Membership{{Organization: "Organization/clinic", Roles: []string{auth.RolePhysician}}}}, "a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	issue := func() string {
		tok, _, err := d.SMART.IssueToken(op, smart.TokenSpec{Scopes: []string{"user/*.rs"}, Username: "greg"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	works := func(tok string) bool {
		r := httptest.NewRequest("GET", "http://ehr.test/fhir/Patient", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := d.SMART.Authenticate(r)
		return err == nil && p != nil
	}
	tok := issue()
	if !works(tok) {
		t.Fatal("a fresh token does not authenticate")
	}
	// A change that is not about access keeps the token.
	u.DisplayName = "Gregory House"
	if u, err = d.Auth.UpdateUser(op, *u); err != nil {
		t.Fatal(err)
	}
	if !works(tok) {
		t.Error("renaming the account revoked its token")
	}
	// New roles: the old token, issued under the old ones, is revoked.
	u.Memberships = []auth.Membership{{Organization: "Organization/clinic", Roles: []string{auth.RoleNurse}}}
	if u, err = d.Auth.UpdateUser(op, *u); err != nil {
		t.Fatal(err)
	}
	if works(tok) {
		t.Error("a token issued before a role change still works")
	}
	tok = issue()
	u.Disabled = true
	if _, err = d.Auth.UpdateUser(op, *u); err != nil {
		t.Fatal(err)
	}
	if works(tok) {
		t.Error("a disabled account's token still works")
	}
}
