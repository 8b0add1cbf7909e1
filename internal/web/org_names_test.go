package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
)

// TestSwitchOrganizationNames: the header names the organizations the user
// acts for (the switch's options, the current one, the flash after a
// switch), and shows the reference of one that cannot be read.
func TestSwitchOrganizationNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.store(`{"resourceType":"Organization","id":"north","name":"Northside Clinic"}`)
	e.store(`{"resourceType":"Organization","id":"east","name":"Eastside Surgery & Care"}`)
	u, err := e.auth.CreateUser(operator(), auth.User{Username: "kim", DisplayName: "Kim",
		Memberships: []auth.Membership{{Organization: "Organization/north", Roles: []string{auth.RoleNurse}},
			{Organization: "Organization/east", Roles: []string{auth.RolePhysician}},
			{Organization: "Organization/gone", Roles: []string{auth.RoleFrontDesk}}}}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(u.Username)
	r := b.get("/")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<option value="Organization/north" selected>Northside Clinic (nurse)</option>`,
		`<option value="Organization/east">Eastside Surgery &amp; Care (physician)</option>`,
		`<option value="Organization/gone">Organization/gone (frontdesk)</option>`)

	r = b.post("/session/organization", url.Values{"organization": {"Organization/east"}, "next": {"/account"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = b.get(r.location())
	wantStatus(t, r, http.StatusOK)
	wantText(t, r, "You now act for Eastside Surgery & Care.")
	wantBody(t, r, `<option value="Organization/east" selected>Eastside Surgery &amp; Care (physician)</option>`)

	// A member of one organization sees its name, not its reference.
	e.store(`{"resourceType":"Organization","id":"clinic","name":"Lakeside Family Practice"}`)
	e.user("lee", auth.RoleNurse)
	lee := e.browser()
	lee.login("lee")
	r = lee.get("/")
	wantBody(t, r, `<p class="org-now">Lakeside Family Practice · nurse</p>`)
	if strings.Contains(r.body, `class="org-now">Organization/`) {
		t.Error("the header shows the organization's reference")
	}
}
