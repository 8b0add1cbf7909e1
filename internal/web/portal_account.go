package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/notify"
)

// InviteTTL is how long an invitation code stays valid.
const InviteTTL = 14 * 24 * time.Hour

// invitePurpose is the one-time codes' purpose of portal invitations.
const invitePurpose = "invite"

type portalAccountView struct {
	Sessions []*auth.Session
	Current  string
	// Notify is the notifications form; nil when the server offers none.
	Notify *notifyView
}

// notifyView is the notifications form.
type notifyView struct {
	// EmailOff: the clinic has not set up sending email, so choices are
	// kept but nothing is sent yet.
	EmailOff bool
	// Active: the saved preferences send something.
	Active bool
	Events []notifyChoice
}

type notifyChoice struct {
	Value, Label string
	Checked      bool
}

// notifyLabels are the events in the form's words.
var notifyLabels = map[notify.Event]string{
	notify.EventMessage:     "A new message from my care team",
	notify.EventResult:      "A new test result",
	notify.EventAppointment: "An appointment booked, moved or cancelled",
	notify.EventReminder:    "A reminder the day before an appointment",
}

// portalAccount shows the account: the password and second factor are
// changed on the account page every user has (/account); the sessions
// and the notification preferences are here.
func (s *server) portalAccount(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	p := page{}
	var saved *notify.Prefs
	if s.cfg.Notify != nil {
		var err error
		if saved, err = s.cfg.Notify.Prefs(r.Context(), st.user.ID); err != nil {
			return err
		}
		p.Form = url.Values{"email": {saved.Email}}
		if saved.Consent {
			p.Form.Set("consent", "yes")
		}
		for _, e := range saved.Events {
			p.Form.Add("events", string(e))
		}
	}
	return s.renderPortalAccount(w, r, http.StatusOK, p, saved)
}

func (s *server) renderPortalAccount(w http.ResponseWriter, r *http.Request, status int, p page, saved *notify.Prefs) error {
	st := stateOf(r)
	sessions, err := s.cfg.Auth.ListSessions(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	v := portalAccountView{Sessions: sessions, Current: st.session.ID}
	if s.cfg.Notify != nil {
		nv := &notifyView{EmailOff: !s.cfg.Notify.EmailConfigured(), Active: saved != nil && saved.Active()}
		for _, e := range notify.Events {
			nv.Events = append(nv.Events, notifyChoice{Value: string(e), Label: notifyLabels[e],
				Checked: slices.Contains(p.Form["events"], string(e))})
		}
		v.Notify = nv
	}
	s.renderPortal(w, r, status, "portal/account", "My account", "account", p, v)
	return nil
}

// portalNotifications saves the notification preferences: an address, the
// agreement to emails and the events chosen. A bad address or events
// chosen without agreeing show the form again with the message by the
// field; nothing is saved then.
func (s *server) portalNotifications(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Notify == nil {
		return notFound
	}
	st := stateOf(r)
	in := notify.Prefs{Email: pForm(r, "email"), Consent: r.PostForm.Get("consent") == "yes"}
	form := url.Values{"email": {in.Email}}
	if in.Consent {
		form.Set("consent", "yes")
	}
	for _, e := range r.PostForm["events"] {
		in.Events = append(in.Events, notify.Event(e))
		form.Add("events", e)
	}
	saved, err := s.cfg.Notify.SavePrefs(r.Context(), st.user.ID, in)
	if err != nil {
		if errs.KindOf(err) != errs.Invalid {
			return err
		}
		field := "email"
		if is := errs.IssuesOf(err); len(is) > 0 && len(is[0].Expression) > 0 {
			field = is[0].Expression[0]
		}
		prev, perr := s.cfg.Notify.Prefs(r.Context(), st.user.ID)
		if perr != nil {
			return perr
		}
		return s.renderPortalAccount(w, r, http.StatusBadRequest, page{Form: form, Errors: map[string]string{field: messageOf(err)},
			Error: "Your notification choices were not saved: see the message below."}, prev)
	}
	switch {
	case saved.Active() && !s.cfg.Notify.EmailConfigured():
		s.flash(w, "Your notification choices are saved. The clinic has not set up email yet: you will get emails once it has.")
	case saved.Active():
		s.flash(w, "Your notification choices are saved. We will email "+saved.Email+".")
	default:
		s.flash(w, "Your notification choices are saved: you will get no emails.")
	}
	http.Redirect(w, r, "/portal/account#h-notif", http.StatusSeeOther)
	return nil
}

// inviter is what an invitation needs of the identity service beyond the
// Identity interface (an *auth.Service has it).
type inviter interface {
	OneTime(ctx context.Context, purpose, subject string, ttl time.Duration) (string, error)
	ConsumeOneTime(ctx context.Context, purpose, code string) (string, error)
	UserByName(ctx context.Context, username string) (*auth.User, error)
}

type inviteView struct {
	PatientID, Name, BirthDate string
	Code, Username             string
	Expires                    string
	Proxies                    []option
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9._@-]{3,64}$`)

// invitePage is the clinic's side of activation: a staff member who may
// see the patient creates the patient's (or a proxy's) portal account and
// prints its one-time invitation code.
func (s *server) invitePage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.inviteView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "portal/invite", page{Title: "Invite to the patient portal", Data: v,
		Form: url.Values{"username": {strings.ToLower(strings.ReplaceAll(v.Name, " ", "."))}}})
	return nil
}

func (s *server) inviteView(r *http.Request) (*inviteView, error) {
	st := stateOf(r)
	if isPortalUser(st.user) || len(currentRoles(st)) == 0 {
		return nil, errs.E(errs.Permission, "Only the clinic's staff can invite patients to the portal.")
	}
	id := r.PathValue("id")
	if !validID(id) {
		return nil, notFound
	}
	rec, err := s.cfg.Repo.Read(r.Context(), "Patient", id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Gone || k == errs.Permission {
			return nil, notFound
		}
		return nil, err
	}
	row := patientRowOf(rec)
	v := &inviteView{PatientID: id, Name: row.Name, BirthDate: row.BirthDate}
	rps, err := s.portalSearch(r.Context(), "RelatedPerson", url.Values{"patient": {"Patient/" + id}, "_count": {"20"}})
	if err == nil {
		v.Proxies = append(v.Proxies, option{Value: "", Label: "The patient themselves"})
		for _, rp := range rps {
			v.Proxies = append(v.Proxies, option{Value: rp.ID, Label: "A proxy: " + patientRowOf(rp).Name})
		}
	}
	return v, nil
}

func (s *server) inviteSubmit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.inviteView(r)
	if err != nil {
		return err
	}
	inv, ok := s.cfg.Auth.(inviter)
	if !ok {
		return notFound
	}
	username, proxy := pForm(r, "username"), pForm(r, "proxy")
	form := url.Values{"username": {username}, "proxy": {proxy}}
	fe := map[string]string{}
	if !usernameRE.MatchString(username) {
		fe["username"] = "Enter a username of 3 to 64 letters, digits, dots, dashes or @."
	}
	fhirUser, display := "Patient/"+v.PatientID, v.Name
	if proxy != "" {
		if !slices.ContainsFunc(v.Proxies, func(o option) bool { return o.Value == proxy }) {
			fe["proxy"] = "Choose who the account is for from the list."
		} else {
			fhirUser = "RelatedPerson/" + proxy
			for _, o := range v.Proxies {
				if o.Value == proxy {
					display = strings.TrimPrefix(o.Label, "A proxy: ")
				}
			}
		}
	}
	if len(fe) == 0 {
		// Patient accounts are created by OpenChart for the staff member
		// (who has shown above that they may see the patient): the
		// identity service lets only system administrators manage them.
		ctx := portalSystem(r.Context(), "portal invitation")
		u, err := s.cfg.Auth.CreateUser(ctx, auth.User{Username: username, DisplayName: display,
			FHIRUser: fhirUser, Patients: []string{v.PatientID}}, "")
		if err == nil {
			code, err := inv.OneTime(ctx, invitePurpose, u.ID, InviteTTL)
			if err != nil {
				return err
			}
			v.Code, v.Username = code, u.Username
			v.Expires = time.Now().Add(InviteTTL).UTC().Format("2 January 2006")
			s.render(w, r, http.StatusOK, "portal/invited", page{Title: "Invitation created", Data: v})
			return nil
		}
		switch errs.KindOf(err) {
		case errs.Conflict:
			fe["username"] = "This username is taken: choose another."
		case errs.Invalid:
			fe["username"] = messageOf(err)
		default:
			return err
		}
	}
	s.render(w, r, http.StatusBadRequest, "portal/invite", page{Title: "Invite to the patient portal", Data: v,
		Form: form, Errors: fe, Error: "No invitation was created: see the messages below."})
	return nil
}

// activatePage is where an invited patient sets up their account.
func (s *server) activatePage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "portal/activate", page{Title: "Activate your portal account",
		Form: url.Values{"username": {r.URL.Query().Get("username")}}})
	return nil
}

// activateSubmit checks the invitation: the username, the birth date of
// the patient (from the Patient resource) and the code; then spends the
// code and sets the password. A wrong birth date leaves the code unspent.
func (s *server) activateSubmit(w http.ResponseWriter, r *http.Request) error {
	inv, ok := s.cfg.Auth.(inviter)
	if !ok {
		return notFound
	}
	username, code, birth := pForm(r, "username"), pForm(r, "code"), pForm(r, "birthdate")
	pw, pw2 := r.PostForm.Get("password"), r.PostForm.Get("confirm")
	form := url.Values{"username": {username}, "code": {code}, "birthdate": {birth}}
	fe := map[string]string{}
	if username == "" {
		fe["username"] = "Enter the username on your invitation."
	}
	if code == "" {
		fe["code"] = "Enter the invitation code."
	}
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(birth) {
		fe["birthdate"] = "Enter the birth date as YYYY-MM-DD, for example 1984-03-27."
	}
	if pw == "" {
		fe["password"] = "Choose a password."
	} else if err := auth.CheckPassword(username, pw); err != nil {
		// Checked before the invitation, so that the answer never tells
		// whether the birth date was right.
		fe["password"] = messageOf(err)
	} else if pw != pw2 {
		fe["confirm"] = "The two passwords differ."
	}
	const wrong = "The username, code or birth date does not match our records. Check your invitation."
	sys := portalSystem(r.Context(), "portal activation")
	var u *auth.User
	if len(fe) == 0 {
		var err error
		u, err = inv.UserByName(sys, username)
		if err != nil || !isPortalUser(u) || s.birthDate(sys, u.Patients[0]) != birth {
			if err != nil && errs.KindOf(err) != errs.NotFound {
				return err
			}
			return s.activateFail(w, r, form, fe, wrong)
		}
	}
	if len(fe) > 0 {
		return s.activateFail(w, r, form, fe, "Your account was not activated: see the messages below.")
	}
	subject, err := inv.ConsumeOneTime(sys, invitePurpose, code)
	if err != nil || subject != u.ID {
		if err != nil && errs.KindOf(err) != errs.Invalid {
			return err
		}
		return s.activateFail(w, r, form, fe, wrong)
	}
	if err := s.cfg.Auth.SetPassword(sys, u.ID, pw); err != nil {
		return err
	}
	s.flash(w, "Your account is active. Sign in with your username and new password.")
	http.Redirect(w, r, "/login?"+url.Values{"next": {"/portal"}}.Encode(), http.StatusSeeOther)
	return nil
}

func (s *server) activateFail(w http.ResponseWriter, r *http.Request, form url.Values, fe map[string]string, msg string) error {
	s.render(w, r, http.StatusBadRequest, "portal/activate", page{Title: "Activate your portal account",
		Form: form, Errors: fe, Error: msg})
	return nil
}

// birthDate is a patient's recorded birth date ("" when unknown).
func (s *server) birthDate(ctx context.Context, id string) string {
	rec, err := s.cfg.Repo.Read(ctx, "Patient", id)
	if err != nil {
		return ""
	}
	var p struct {
		BirthDate string `json:"birthDate"`
	}
	if json.Unmarshal(rec.JSON, &p) != nil {
		return ""
	}
	return p.BirthDate
}
