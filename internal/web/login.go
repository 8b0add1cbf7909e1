package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
)

// Messages of the sign-in page. A wrong password and an unknown user get
// the same one; a locked account says so without telling whether the
// password was right.
const (
	msgWrongLogin = "Wrong username or password."
	msgLocked     = "This account is locked for a while after too many failed sign-ins. Try again later, or ask an administrator."
)

type loginView struct {
	Next   string
	Notice string
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	next := localPath(r.URL.Query().Get("next"))
	if st.user != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	v := loginView{Next: next}
	switch r.URL.Query().Get("reason") {
	case "idle":
		v.Notice = "You were signed out after " + idleText(s.cfg.IdleTimeout) + " of inactivity."
	case "expired":
		v.Notice = "Your session has ended. Sign in again."
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: v})
	return nil
}

// idleText says a duration the way the sign-in page tells it.
func idleText(d time.Duration) string {
	switch {
	case d <= 0:
		return "a period"
	case d < time.Minute:
		n := int(d.Round(time.Second) / time.Second)
		return plural(n, "second")
	default:
		return plural(int(d.Round(time.Minute)/time.Minute), "minute")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func (s *server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.PostForm.Get("next"))
	form := url.Values{"username": {strings.TrimSpace(r.PostForm.Get("username"))}}
	username, password := form.Get("username"), r.PostForm.Get("password")
	fe := map[string]string{}
	if username == "" {
		fe["username"] = "Enter your username."
	}
	if password == "" {
		fe["password"] = "Enter your password."
	}
	if len(fe) > 0 {
		s.render(w, r, http.StatusBadRequest, "login", page{Title: "Sign in", Form: form, Errors: fe,
			Error: "Enter your username and password.", Data: loginView{Next: next}})
		return nil
	}
	step, err := s.cfg.Auth.Login(r.Context(), username, password, s.meta(r))
	if err != nil {
		msg, ok := loginError(err)
		if !ok {
			return err
		}
		if msg == msgWrongLogin {
			msg = s.wrongLogin
		}
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Form: form, Error: msg,
			Data: loginView{Next: next}})
		return nil
	}
	return s.signedIn(w, r, step, next)
}

// loginError is what the sign-in page says about a refused attempt (ok is
// false for failures of the server).
func loginError(err error) (string, bool) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated, errs.Invalid, errs.NotFound:
		return msgWrongLogin, true
	case errs.Permission, errs.TooLarge:
		return msgLocked, true
	}
	return "", false
}

// signedIn finishes a sign-in step: a session sets the cookie and goes on;
// a challenge asks for the second factor.
func (s *server) signedIn(w http.ResponseWriter, r *http.Request, step *auth.LoginStep, next string) error {
	switch {
	case step.Token != "":
		s.clearCookie(w, challengeCookie, "/login")
		s.setCookie(w, auth.SessionCookie, step.Token, "/", 0)
		http.Redirect(w, r, next, http.StatusSeeOther)
	case step.Challenge != "":
		s.setCookie(w, challengeCookie, step.Challenge, "/login", 300)
		http.Redirect(w, r, "/login/verify?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
	default:
		return errs.E(errs.Internal, "sign-in step without a session or a challenge")
	}
	return nil
}

func (s *server) verifyPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if c, err := r.Cookie(challengeCookie); err != nil || c.Value == "" {
		http.Redirect(w, r, "/login?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "verify", page{Title: "Second factor", Data: loginView{Next: next}})
	return nil
}

func (s *server) verifySubmit(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.PostForm.Get("next"))
	c, err := r.Cookie(challengeCookie)
	if err != nil || c.Value == "" {
		s.flash(w, "The sign-in took too long. Sign in again.")
		http.Redirect(w, r, "/login?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
		return nil
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	view := page{Title: "Second factor", Data: loginView{Next: next}}
	if code == "" {
		view.Errors = map[string]string{"code": "Enter the code from your authenticator app or a recovery code."}
		s.render(w, r, http.StatusBadRequest, "verify", view)
		return nil
	}
	step, err := s.cfg.Auth.SecondFactor(r.Context(), c.Value, code, s.meta(r))
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Unauthenticated:
			if strings.Contains(errs.Message(err), "expired") {
				s.clearCookie(w, challengeCookie, "/login")
				s.flash(w, "The sign-in took too long, or too many codes were wrong. Sign in again.")
				http.Redirect(w, r, "/login?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
				return nil
			}
			view.Errors = map[string]string{"code": "This code is not right. Codes change every 30 seconds: try the current one."}
			s.render(w, r, http.StatusUnauthorized, "verify", view)
			return nil
		case errs.NotFound, errs.Gone:
			s.clearCookie(w, challengeCookie, "/login")
			s.flash(w, "The sign-in took too long. Sign in again.")
			http.Redirect(w, r, "/login?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
			return nil
		case errs.Permission, errs.TooLarge:
			s.clearCookie(w, challengeCookie, "/login")
			s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: msgLocked, Data: loginView{Next: next}})
			return nil
		}
		return err
	}
	return s.signedIn(w, r, step, next)
}

// logout ends the session. It is a POST with the CSRF token (the user
// menu's button, and the idle script, which submits the same form): a GET
// that signs out could be triggered by any other site's image tag.
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	if st.token != "" {
		if err := s.cfg.Auth.Logout(r.Context(), st.token); err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
	}
	s.clearCookie(w, auth.SessionCookie, "/")
	target := "/login"
	if r.PostForm.Get("reason") == "idle" {
		target = "/login?reason=idle"
	} else {
		s.flash(w, "You are signed out.")
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

func (s *server) setupPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "setup", page{Title: "Set up OpenChart",
		Form: url.Values{"code": {r.URL.Query().Get("code")}}})
	return nil
}

func (s *server) setupSubmit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	form := url.Values{"code": {strings.TrimSpace(f.Get("code"))}, "username": {strings.TrimSpace(f.Get("username"))},
		"displayName": {strings.TrimSpace(f.Get("displayName"))}}
	fe := map[string]string{}
	if form.Get("code") == "" {
		fe["code"] = "Enter the setup code."
	}
	if form.Get("username") == "" {
		fe["username"] = "Choose a username."
	}
	passwordErrors(fe, form.Get("username"), f.Get("password"), f.Get("confirm"))
	view := page{Title: "Set up OpenChart", Form: form, Errors: fe}
	if len(fe) == 0 {
		admin := auth.User{Username: form.Get("username"), DisplayName: form.Get("displayName"), SystemAdmin: true}
		_, err := s.cfg.Auth.UseSetupCode(r.Context(), form.Get("code"), admin, f.Get("password"))
		if err == nil {
			s.flash(w, "The administrator account is ready. Sign in with it.")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		if !formError(err, fe, map[errs.Kind]string{errs.NotFound: "code", errs.Unauthenticated: "code", errs.Gone: "code", errs.Conflict: "username"}, "password") {
			return err
		}
	}
	view.Error = "The administrator could not be created: see the messages below."
	s.render(w, r, http.StatusBadRequest, "setup", view)
	return nil
}

func (s *server) resetPage(w http.ResponseWriter, r *http.Request) error {
	code := r.URL.Query().Get("code")
	if code == "" {
		return errs.E(errs.NotFound, "This reset link is incomplete. Ask an administrator for a new one.")
	}
	s.render(w, r, http.StatusOK, "reset", page{Title: "Choose a new password", Form: url.Values{"code": {code}}})
	return nil
}

func (s *server) resetSubmit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	form := url.Values{"code": {f.Get("code")}}
	fe := map[string]string{}
	passwordErrors(fe, "", f.Get("password"), f.Get("confirm"))
	view := page{Title: "Choose a new password", Form: form, Errors: fe}
	if len(fe) == 0 {
		err := s.cfg.Auth.UseResetLink(r.Context(), form.Get("code"), f.Get("password"))
		if err == nil {
			s.flash(w, "Your password is changed. Sign in with it.")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		switch errs.KindOf(err) {
		case errs.NotFound, errs.Gone, errs.Unauthenticated, errs.Invalid:
			// The password passed the rules above: the link is at fault.
			view.Error = "This reset link is not valid any more (it was used, or it expired). Ask an administrator for a new one."
		default:
			return err
		}
	} else {
		view.Error = "The password could not be set: see the messages below."
	}
	s.render(w, r, http.StatusBadRequest, "reset", view)
	return nil
}

// passwordErrors checks a new password and its confirmation, with the
// identity service's rules (auth.CheckPassword) so that a weak password
// is named next to its field.
func passwordErrors(fe map[string]string, username, password, confirm string) {
	switch {
	case password == "":
		fe["password"] = "Choose a password."
	case auth.CheckPassword(username, password) != nil:
		fe["password"] = messageOf(auth.CheckPassword(username, password))
	case confirm != password:
		fe["confirm"] = "The two passwords are not the same."
	}
}

// formError puts a refusal of the identity service next to the field it
// concerns: byKind maps error kinds to fields, Invalid goes to field
// invalidField. It reports false for errors that are not the user's.
func formError(err error, fe map[string]string, byKind map[errs.Kind]string, invalidField string) bool {
	k := errs.KindOf(err)
	if f, ok := byKind[k]; ok {
		fe[f] = messageOf(err)
		return true
	}
	if k == errs.Invalid {
		fe[invalidField] = messageOf(err)
		return true
	}
	return false
}

// messageOf is an error's message for the user.
func messageOf(err error) string {
	var e *errs.Error
	if ok := asErr(err, &e); ok {
		if m := userMessage(e); m != "" {
			return upperFirst(m)
		}
	}
	return "This value is not accepted."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
