package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
)

// roleNames are the roles an administrator may give, in the order shown.
var roleNames = []string{auth.RolePhysician, auth.RoleNurse, auth.RoleFrontDesk, auth.RoleBiller, auth.RoleAdmin}

type usersView struct {
	Users []*auth.User
	Org   string // the organization listed ("" for all)
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	q := auth.UserQuery{Limit: 500}
	if !st.user.SystemAdmin {
		q.Organization = st.session.Organization
	}
	users, err := s.cfg.Auth.ListUsers(r.Context(), q)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "users", page{Title: "Users", Data: usersView{Users: users, Org: q.Organization}})
	return nil
}

// userForm is the data of the create and edit forms.
type userForm struct {
	User        *auth.User // nil when creating
	Memberships []membershipRow
	Roles       []string
	SystemAdmin bool // the editor is a system administrator
	ResetLink   string
}

// membershipRow is one organization of the form; Fixed rows (an
// organization administrator's own organization) cannot be renamed.
type membershipRow struct {
	Index        int
	Organization string
	Roles        []string
	Fixed        bool
	Error        string
}

// blankRows is how many empty organization rows a system administrator
// gets to add memberships.
const blankRows = 2

func (s *server) newUserPage(w http.ResponseWriter, r *http.Request) error {
	s.renderUserForm(w, r, http.StatusOK, nil, nil, page{})
	return nil
}

func (s *server) renderUserForm(w http.ResponseWriter, r *http.Request, status int, u *auth.User, rows []membershipRow, p page) {
	st := stateOf(r)
	if rows == nil {
		var ms []auth.Membership
		if u != nil {
			ms = u.Memberships
		}
		rows = s.membershipRows(st, ms)
	}
	if p.Form == nil && u != nil {
		p.Form = url.Values{"displayName": {u.DisplayName}, "fhirUser": {u.FHIRUser},
			"patients": {strings.Join(u.Patients, " ")}}
		if u.Disabled {
			p.Form.Set("disabled", "yes")
		}
		if u.SystemAdmin {
			p.Form.Set("systemAdmin", "yes")
		}
	}
	p.Title = "New user"
	if u != nil {
		p.Title = "User " + u.Username
	}
	p.Data = userForm{User: u, Memberships: rows, Roles: roleNames, SystemAdmin: st.user.SystemAdmin,
		ResetLink: p.Form.Get("resetLink")}
	s.render(w, r, status, "user", p)
}

// membershipRows lays out memberships for the form: a system administrator
// edits all of them and may add more; an organization administrator edits
// the roles in their own organization only.
func (s *server) membershipRows(st *state, ms []auth.Membership) []membershipRow {
	var rows []membershipRow
	if !st.user.SystemAdmin {
		row := membershipRow{Organization: st.session.Organization, Fixed: true}
		for _, m := range ms {
			if m.Organization == st.session.Organization {
				row.Roles = m.Roles
			}
		}
		return []membershipRow{row}
	}
	for i, m := range ms {
		rows = append(rows, membershipRow{Index: i, Organization: m.Organization, Roles: m.Roles})
	}
	for i := 0; i < blankRows; i++ {
		rows = append(rows, membershipRow{Index: len(rows)})
	}
	return rows
}

// readUserForm reads the form into u (memberships replace u's, except
// those an organization administrator cannot see).
func (s *server) readUserForm(r *http.Request, u *auth.User) ([]membershipRow, map[string]string) {
	st := stateOf(r)
	f := r.PostForm
	fe := map[string]string{}
	u.DisplayName = strings.TrimSpace(f.Get("displayName"))
	if u.DisplayName == "" {
		fe["displayName"] = "Enter the person's name."
	}
	u.FHIRUser = strings.TrimSpace(f.Get("fhirUser"))
	if u.FHIRUser != "" {
		typ, id, ok := strings.Cut(u.FHIRUser, "/")
		if !ok || !slices.Contains([]string{"Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person"}, typ) || !validID(id) {
			fe["fhirUser"] = "Write a reference such as Practitioner/123, Patient/9 or RelatedPerson/4."
		}
	}
	u.Patients = nil
	for _, p := range strings.FieldsFunc(f.Get("patients"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' }) {
		if !validID(strings.TrimPrefix(p, "Patient/")) {
			fe["patients"] = fmt.Sprintf("%q is not a patient: write Patient/<id>, separated by spaces.", p)
			break
		}
		u.Patients = append(u.Patients, p)
	}
	u.Disabled = f.Get("disabled") == "yes"
	if st.user.SystemAdmin {
		u.SystemAdmin = f.Get("systemAdmin") == "yes"
	}
	var rows []membershipRow
	var ms []auth.Membership
	if !st.user.SystemAdmin {
		// Keep the memberships of other organizations as they are.
		for _, m := range u.Memberships {
			if m.Organization != st.session.Organization {
				ms = append(ms, m)
			}
		}
		roles := validRoles(f["roles-0"])
		rows = []membershipRow{{Organization: st.session.Organization, Roles: roles, Fixed: true}}
		if len(roles) > 0 {
			ms = append(ms, auth.Membership{Organization: st.session.Organization, Roles: roles})
		} else if len(ms) == 0 {
			rows[0].Error = "Give at least one role."
			fe["memberships"] = rows[0].Error
		}
	} else {
		n, _ := strconv.Atoi(f.Get("rows"))
		n = min(max(n, 0), 100)
		for i := 0; i < n; i++ {
			org := strings.TrimSpace(f.Get(fmt.Sprintf("org-%d", i)))
			roles := validRoles(f[fmt.Sprintf("roles-%d", i)])
			row := membershipRow{Index: i, Organization: org, Roles: roles}
			switch {
			case org == "" && len(roles) == 0:
			case org == "":
				row.Error = "Name the organization (Organization/<id>) or clear its roles."
			case !validID(strings.TrimPrefix(org, "Organization/")):
				row.Error = "Write the organization as Organization/<id>."
			case len(roles) == 0:
				row.Error = "Give at least one role, or clear the organization."
			default:
				ms = append(ms, auth.Membership{Organization: org, Roles: roles})
			}
			if row.Error != "" {
				fe["memberships"] = row.Error
			}
			rows = append(rows, row)
		}
		rows = append(rows, membershipRow{Index: len(rows)})
	}
	u.Memberships = ms
	return rows, fe
}

func validRoles(in []string) []string {
	var out []string
	for _, r := range in {
		if slices.Contains(roleNames, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	u := &auth.User{Username: strings.TrimSpace(f.Get("username"))}
	rows, fe := s.readUserForm(r, u)
	if u.Username == "" {
		fe["username"] = "Choose a username."
	}
	if f.Get("password") != "" {
		passwordErrors(fe, u.Username, f.Get("password"), f.Get("confirm"))
	}
	form := url.Values{}
	for _, k := range []string{"username", "displayName", "fhirUser", "patients", "disabled", "systemAdmin"} {
		form.Set(k, f.Get(k))
	}
	p := page{Form: form, Errors: fe}
	if len(fe) == 0 {
		created, err := s.cfg.Auth.CreateUser(r.Context(), *u, f.Get("password"))
		if err == nil {
			s.flash(w, "User "+created.Username+" created.")
			http.Redirect(w, r, "/admin/users/"+url.PathEscape(created.ID), http.StatusSeeOther)
			return nil
		}
		if !formError(err, fe, map[errs.Kind]string{errs.Conflict: "username"}, "") {
			return err
		}
		if msg, ok := fe[""]; ok {
			delete(fe, "")
			p.Error = msg
		}
	}
	if p.Error == "" {
		p.Error = "The user was not created: see the messages below."
	}
	s.renderUserForm(w, r, http.StatusBadRequest, nil, rows, p)
	return nil
}

// managedUser loads the user of the path, refusing (as not found) users an
// organization administrator does not manage.
func (s *server) managedUser(r *http.Request) (*auth.User, error) {
	st := stateOf(r)
	u, err := s.cfg.Auth.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !st.user.SystemAdmin && !slices.ContainsFunc(u.Memberships, func(m auth.Membership) bool {
		return m.Organization == st.session.Organization
	}) {
		return nil, notFound
	}
	return u, nil
}

func (s *server) editUserPage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.managedUser(r)
	if err != nil {
		return err
	}
	s.renderUserForm(w, r, http.StatusOK, u, nil, page{})
	return nil
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.managedUser(r)
	if err != nil {
		return err
	}
	before := *u
	rows, fe := s.readUserForm(r, u)
	form := url.Values{}
	for _, k := range []string{"displayName", "fhirUser", "patients", "disabled", "systemAdmin"} {
		form.Set(k, r.PostForm.Get(k))
	}
	p := page{Form: form, Errors: fe}
	if len(fe) == 0 {
		_, err := s.cfg.Auth.UpdateUser(r.Context(), *u)
		if err == nil {
			s.flash(w, "User "+u.Username+" saved.")
			http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID), http.StatusSeeOther)
			return nil
		}
		if !formError(err, fe, nil, "") {
			return err
		}
		p.Error = fe[""]
		delete(fe, "")
	}
	if p.Error == "" {
		p.Error = "The user was not saved: see the messages below."
	}
	s.renderUserForm(w, r, http.StatusBadRequest, &before, rows, p)
	return nil
}

func (s *server) resetLink(w http.ResponseWriter, r *http.Request) error {
	u, err := s.managedUser(r)
	if err != nil {
		return err
	}
	code, err := s.cfg.Auth.ResetLink(r.Context(), u.ID, s.cfg.ResetLinkTTL)
	if err != nil {
		return err
	}
	link := s.origin(r) + "/reset?" + url.Values{"code": {code}}.Encode()
	s.render(w, r, http.StatusOK, "resetlink", page{Title: "Reset link for " + u.Username,
		Data: resetLinkView{User: u, Link: link, Hours: int(s.cfg.ResetLinkTTL.Hours())}})
	return nil
}

type resetLinkView struct {
	User  *auth.User
	Link  string
	Hours int
}

func (s *server) resetTOTP(w http.ResponseWriter, r *http.Request) error {
	u, err := s.managedUser(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Auth.DisableTOTP(r.Context(), u.ID); err != nil {
		return err
	}
	s.flash(w, "The second factor of "+u.Username+" is removed; they can set up a new one after signing in.")
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID), http.StatusSeeOther)
	return nil
}
