package auth

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// userRecord is a user item's document: the account and its secrets. The
// secrets never leave this package.
type userRecord struct {
	User
	// Password is the argon2id PHC string ("" until a password is set).
	Password string `json:"password,omitempty"`
	// TOTPSecret is the enrolled second factor's key (base32). A TOTP
	// verifier needs the key itself, so it is kept as it is; TOTPPending
	// is the key of an enrolment not yet confirmed.
	TOTPSecret  string `json:"totpSecret,omitempty"`
	TOTPPending string `json:"totpPending,omitempty"`
	// TOTPStep is the last 30-second step whose code was accepted: a code
	// is good once.
	TOTPStep int64 `json:"totpStep,omitempty"`
	// Recovery holds the hex SHA-256 of each unused recovery code.
	Recovery []string `json:"recovery,omitempty"`
}

// Roles lists the role names a membership may hold.
var Roles = []string{RolePhysician, RoleNurse, RoleFrontDesk, RoleBiller, RoleAdmin}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$`)

// userKey is the store key of a username: usernames are unique
// case-insensitively.
func userKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

// normalize checks and cleans a user's editable fields.
func normalize(u *User) error {
	const op = "user"
	u.Username = strings.TrimSpace(u.Username)
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.FHIRUser = strings.TrimSpace(u.FHIRUser)
	if !usernameRE.MatchString(u.Username) {
		return errs.E(op, errs.Invalid, "The username must be 2 to 64 letters, digits or . _ @ -, starting with a letter or digit.")
	}
	if u.DisplayName == "" {
		return errs.E(op, errs.Invalid, "The name is required.")
	}
	if len(u.DisplayName) > 200 {
		return errs.E(op, errs.Invalid, "The name must have at most 200 characters.")
	}
	if u.FHIRUser != "" {
		typ, id, ok := strings.Cut(u.FHIRUser, "/")
		if !ok || !slices.Contains([]string{"Practitioner", "Patient", "RelatedPerson", "PractitionerRole", "Person"}, typ) || !validID(id) {
			return errs.E(op, errs.Invalid, "The FHIR user must be a reference such as Practitioner/123, Patient/9 or RelatedPerson/4.")
		}
	}
	seen := map[string]bool{}
	for i := range u.Memberships {
		m := &u.Memberships[i]
		org, err := orgRef(m.Organization)
		if err != nil {
			return err
		}
		if seen[org] {
			return errs.E(op, errs.Invalid, fmt.Sprintf("The organization %s is listed twice.", org))
		}
		seen[org] = true
		m.Organization = org
		var roles []string
		for _, r := range m.Roles {
			r = strings.ToLower(strings.TrimSpace(r))
			if !slices.Contains(Roles, r) {
				return errs.E(op, errs.Invalid, fmt.Sprintf("Unknown role %q: the roles are %s.", r, strings.Join(Roles, ", ")))
			}
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		if len(roles) == 0 {
			return errs.E(op, errs.Invalid, fmt.Sprintf("Give at least one role in %s.", org))
		}
		m.Roles = roles
	}
	var pats []string
	for _, p := range u.Patients {
		id, err := patientID(p)
		if err != nil {
			return err
		}
		if !slices.Contains(pats, id) {
			pats = append(pats, id)
		}
	}
	u.Patients = pats
	return nil
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func validID(id string) bool { return idRE.MatchString(id) }

// orgRef normalises an organization to "Organization/<id>".
func orgRef(s string) (string, error) {
	s = strings.TrimSpace(s)
	id := strings.TrimPrefix(s, "Organization/")
	if !validID(id) {
		return "", errs.E("user", errs.Invalid, fmt.Sprintf("%q is not an organization: write Organization/<id>.", s))
	}
	return "Organization/" + id, nil
}

// patientID normalises a patient to its id ("Patient/9" and "9" are both
// "9"), as the audit trail and SMART's patient context name patients.
func patientID(s string) (string, error) {
	s = strings.TrimSpace(s)
	id := strings.TrimPrefix(s, "Patient/")
	if !validID(id) {
		return "", errs.E("user", errs.Invalid, fmt.Sprintf("%q is not a patient: write Patient/<id>.", s))
	}
	return id, nil
}

// CreateUser creates an account. password may be empty: the account cannot
// sign in until a password is set (SetPassword, or a ResetLink). Only an
// operator, the system or an administrator may create accounts (see
// mayManage); the creation is audited as a permission change.
func (s *Service) CreateUser(ctx context.Context, u User, password string) (*User, error) {
	const op = "create user"
	if err := normalize(&u); err != nil {
		return nil, err
	}
	if password != "" {
		if err := CheckPassword(u.Username, password); err != nil {
			return nil, err
		}
	}
	u.TOTPEnabled = false
	rec := &userRecord{User: u}
	if password != "" {
		rec.Password = hashPassword(password, s.opts.Argon2)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	rec.ID = id.String()
	err = s.inTx(ctx, func(tx store.Tx) error {
		if err := s.mayManage(ctx, tx, nil, &rec.User); err != nil {
			return err
		}
		rec.Created, rec.Updated = s.now(), s.now()
		if err := s.insertUser(ctx, tx, rec); err != nil {
			return err
		}
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "created account " + rec.Username + describeAccess(&rec.User)
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	out := rec.User
	return &out, nil
}

func (s *Service) insertUser(ctx context.Context, tx store.Tx, rec *userRecord) error {
	it := &store.Item{Kind: kindUser, Key: userKey(rec.Username), Owner: rec.ID}
	if err := putJSON(ctx, tx, it, rec); err != nil {
		if errs.KindOf(err) == errs.Conflict {
			return conflict("create user", fmt.Sprintf("The username %q is taken.", rec.Username))
		}
		return err
	}
	return tx.PutItem(ctx, &store.Item{Kind: kindUserID, Key: rec.ID, Owner: rec.ID, Value: []byte(`"` + it.Key + `"`)})
}

// describeAccess summarises what an account may do, for the audit trail.
func describeAccess(u *User) string {
	var b strings.Builder
	for _, m := range u.Memberships {
		fmt.Fprintf(&b, "; %s: %s", m.Organization, strings.Join(m.Roles, ","))
	}
	if len(u.Patients) > 0 {
		fmt.Fprintf(&b, "; patients: %s", strings.Join(u.Patients, ","))
	}
	if u.FHIRUser != "" {
		fmt.Fprintf(&b, "; fhirUser %s", u.FHIRUser)
	}
	if u.SystemAdmin {
		b.WriteString("; system administrator")
	}
	if u.Disabled {
		b.WriteString("; disabled")
	}
	return b.String()
}

// UpdateUser changes an account's name, FHIR user, memberships, patients,
// system-administrator flag and disabled flag (the username, password and
// second factor change through their own methods). Audited as a
// permission change. Disabling an account signs it out everywhere.
func (s *Service) UpdateUser(ctx context.Context, u User) (*User, error) {
	const op = "update user"
	if err := normalize(&u); err != nil {
		return nil, err
	}
	var out User
	var accessChanged bool
	err := s.inTx(ctx, func(tx store.Tx) error {
		rec, it, err := s.userByID(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if userKey(u.Username) != userKey(rec.Username) {
			return errs.E(op, errs.Invalid, "The username cannot be changed.")
		}
		if err := s.mayManage(ctx, tx, &rec.User, &u); err != nil {
			return err
		}
		before := describeAccess(&rec.User)
		wasDisabled := rec.Disabled
		rec.DisplayName, rec.FHIRUser, rec.Memberships, rec.Patients = u.DisplayName, u.FHIRUser, u.Memberships, u.Patients
		rec.SystemAdmin, rec.Disabled = u.SystemAdmin, u.Disabled
		rec.Updated = s.now()
		if err := putJSON(ctx, tx, it, rec); err != nil {
			return err
		}
		if rec.Disabled {
			if _, err := tx.DeleteOwned(ctx, kindSession, rec.ID); err != nil {
				return err
			}
		}
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "updated account " + rec.Username + "; before" + orNone(before) + "; after" + orNone(describeAccess(&rec.User))
		out = rec.User
		accessChanged = before != describeAccess(&rec.User) || wasDisabled != rec.Disabled
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	if accessChanged && s.opts.OnAccessChange != nil {
		s.opts.OnAccessChange(ctx, out.ID)
	}
	return &out, nil
}

func orNone(s string) string {
	if s == "" {
		return ": no access"
	}
	return s
}

// mayManage checks that the principal of ctx may change account before
// (nil for a new one) into after. Operators and the system may do
// anything; a system administrator too. An organization administrator may
// manage accounts whose memberships, before and after, are all in
// organizations where they hold the admin role, without patients and
// without the system-administrator flag. Nobody else may.
func (s *Service) mayManage(ctx context.Context, r store.ItemReader, before, after *User) error {
	p := access.From(ctx)
	if p == nil {
		return errs.E("manage users", errs.Permission, "Signing in is needed to manage accounts.")
	}
	switch p.Kind {
	case access.Operator, access.System:
		return nil
	case access.User:
	default:
		return errs.E("manage users", errs.Permission, "Only administrators may manage accounts.")
	}
	admin, _, err := s.userByID(ctx, r, p.UserID)
	if err != nil {
		return errs.E("manage users", errs.Permission, "Only administrators may manage accounts.")
	}
	if admin.Disabled {
		return errs.E("manage users", errs.Permission, "This account is disabled.")
	}
	if admin.SystemAdmin {
		return nil
	}
	adminOf := map[string]bool{}
	for _, m := range admin.Memberships {
		if slices.Contains(m.Roles, RoleAdmin) {
			adminOf[m.Organization] = true
		}
	}
	for _, u := range []*User{before, after} {
		if u == nil {
			continue
		}
		if u.SystemAdmin || len(u.Patients) > 0 || len(u.Memberships) == 0 {
			return errs.E("manage users", errs.Permission, "Only a system administrator may manage this account.")
		}
		for _, m := range u.Memberships {
			if !adminOf[m.Organization] {
				return errs.E("manage users", errs.Permission, fmt.Sprintf("You are not an administrator of %s.", m.Organization))
			}
		}
	}
	return nil
}

// GetUser returns an account by id (errs.NotFound when there is none).
func (s *Service) GetUser(ctx context.Context, id string) (*User, error) {
	rec, _, err := s.userByID(ctx, s.st, id)
	if err != nil {
		return nil, err
	}
	return &rec.User, nil
}

// UserByName returns an account by username, in any case.
func (s *Service) UserByName(ctx context.Context, username string) (*User, error) {
	rec, _, err := s.userByKey(ctx, s.st, userKey(username))
	if err != nil {
		return nil, err
	}
	return &rec.User, nil
}

func (s *Service) userByKey(ctx context.Context, r store.ItemReader, key string) (*userRecord, *store.Item, error) {
	rec := &userRecord{}
	it, err := getJSON(ctx, r, kindUser, key, rec)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, errs.E("user", errs.NotFound, "No such user.")
	}
	return rec, it, err
}

func (s *Service) userByID(ctx context.Context, r store.ItemReader, id string) (*userRecord, *store.Item, error) {
	var key string
	if _, err := getJSON(ctx, r, kindUserID, id, &key); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, nil, errs.E("user", errs.NotFound, "No such user.")
		}
		return nil, nil, err
	}
	return s.userByKey(ctx, r, key)
}

// ListUsers lists accounts in username order, a page at a time: the next
// page starts after the last username of this one.
func (s *Service) ListUsers(ctx context.Context, q UserQuery) ([]*User, error) {
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	org := ""
	if q.Organization != "" {
		var err error
		if org, err = orgRef(q.Organization); err != nil {
			return nil, err
		}
	}
	var out []*User
	after := userKey(q.After)
	for len(out) < limit {
		items, err := s.st.ListItems(ctx, store.ItemQuery{Kind: kindUser, After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			rec := &userRecord{}
			if _, err := decodeItem(it, rec); err != nil {
				return nil, err
			}
			if org == "" || slices.ContainsFunc(rec.Memberships, func(m Membership) bool { return m.Organization == org }) {
				u := rec.User
				out = append(out, &u)
				if len(out) == limit {
					break
				}
			}
		}
		if len(items) < 200 {
			break
		}
		after = items[len(items)-1].Key
	}
	return out, nil
}

// SetPassword sets an account's password (a user changing their own, an
// administrator setting one). Weak passwords are refused with a message
// for the user. Audited as a permission change; the lockout is lifted.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	err := s.inTx(ctx, func(tx store.Tx) error {
		rec, it, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.maySelfOrManage(ctx, tx, rec); err != nil {
			return err
		}
		return s.setPassword(ctx, tx, rec, it, password, actor(ctx), "password set")
	})
	return err
}

func (s *Service) setPassword(ctx context.Context, tx store.Tx, rec *userRecord, it *store.Item, password string, agent audit.Agent, what string) error {
	if err := CheckPassword(rec.Username, password); err != nil {
		return err
	}
	rec.Password = hashPassword(password, s.opts.Argon2)
	rec.Updated = s.now()
	if err := putJSON(ctx, tx, it, rec); err != nil {
		return err
	}
	if err := tx.DeleteItem(ctx, kindThrottle, "user:"+rec.ID); err != nil {
		return err
	}
	e := entry(audit.InteractionPermissionChange, agent)
	e.Entities = []audit.Entity{userEntity(rec.ID)}
	e.OutcomeDesc = what + " for " + rec.Username
	return appendAudit(ctx, tx, e)
}

// maySelfOrManage lets users change their own account, and those who may
// manage it (mayManage) anyone's.
func (s *Service) maySelfOrManage(ctx context.Context, r store.ItemReader, rec *userRecord) error {
	if p := access.From(ctx); p != nil && p.Kind == access.User && p.UserID == rec.ID {
		return nil
	}
	return s.mayManage(ctx, r, &rec.User, &rec.User)
}
