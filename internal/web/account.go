package web

import (
	"context"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
)

type accountView struct {
	Sessions []*auth.Session
	Current  string // the id of this session
}

func (s *server) accountPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccount(w, r, http.StatusOK, page{})
}

func (s *server) renderAccount(w http.ResponseWriter, r *http.Request, status int, p page) error {
	st := stateOf(r)
	sessions, err := s.cfg.Auth.ListSessions(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	p.Title = "Account and security"
	p.Data = accountView{Sessions: sessions, Current: st.session.ID}
	s.render(w, r, status, "account", p)
	return nil
}

// passwordChecker is implemented by an identity service that can check a
// password without signing in.
type passwordChecker interface {
	CheckPassword(ctx context.Context, userID, password string) error
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	f := r.PostForm
	fe := map[string]string{}
	if f.Get("current") == "" {
		fe["current"] = "Enter your current password."
	}
	passwordErrors(fe, st.user.Username, f.Get("password"), f.Get("confirm"))
	if len(fe) == 0 {
		if err := s.checkPassword(r, st.user, f.Get("current")); err != nil {
			if msg, ok := loginError(err); ok {
				if msg == msgWrongLogin {
					msg = "This is not your current password."
				}
				fe["current"] = msg
			} else {
				return err
			}
		}
	}
	if len(fe) == 0 {
		err := s.cfg.Auth.SetPassword(r.Context(), st.user.ID, f.Get("password"))
		if err == nil {
			s.flash(w, "Your password is changed.")
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return nil
		}
		if !formError(err, fe, nil, "password") {
			return err
		}
	}
	return s.renderAccount(w, r, http.StatusBadRequest, page{Errors: fe,
		Error: "Your password was not changed: see the messages below."})
}

// checkPassword verifies the signed-in user's current password: through
// the service's own check when it has one, else by a sign-in attempt
// (counted against the lockout like any other) whose session is ended at
// once.
func (s *server) checkPassword(r *http.Request, u *auth.User, password string) error {
	if pc, ok := s.cfg.Auth.(passwordChecker); ok {
		return pc.CheckPassword(r.Context(), u.ID, password)
	}
	step, err := s.cfg.Auth.Login(r.Context(), u.Username, password, s.meta(r))
	if err != nil {
		return err
	}
	if step.Token != "" {
		return s.cfg.Auth.Logout(r.Context(), step.Token)
	}
	return nil
}

type totpView struct {
	Secret string
	URL    string
	QR     template.URL // data: URL of the QR code's PNG
}

func (s *server) beginTOTP(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	secret, otpURL, err := s.cfg.Auth.BeginTOTP(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	return s.renderTOTP(w, r, http.StatusOK, secret, otpURL, nil)
}

func (s *server) renderTOTP(w http.ResponseWriter, r *http.Request, status int, secret, otpURL string, fe map[string]string) error {
	if !strings.HasPrefix(otpURL, "otpauth://") {
		return errs.E(errs.Invalid, "The enrolment has expired. Start again from your account page.")
	}
	png, err := qrcode.Encode(otpURL, qrcode.Medium, 256)
	if err != nil {
		return errs.E("web: QR code", errs.Internal, err)
	}
	v := totpView{Secret: secret, URL: otpURL, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}
	p := page{Title: "Set up a second factor", Data: v, Errors: fe}
	if len(fe) > 0 {
		p.Error = "The code was not accepted: see the message below."
	}
	s.render(w, r, status, "totp", p)
	return nil
}

func (s *server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	f := r.PostForm
	code := strings.ReplaceAll(strings.TrimSpace(f.Get("code")), " ", "")
	if code == "" {
		return s.renderTOTP(w, r, http.StatusBadRequest, f.Get("secret"), f.Get("url"),
			map[string]string{"code": "Enter the 6-digit code your app shows."})
	}
	codes, err := s.cfg.Auth.ConfirmTOTP(r.Context(), st.user.ID, code)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Unauthenticated:
			return s.renderTOTP(w, r, http.StatusBadRequest, f.Get("secret"), f.Get("url"),
				map[string]string{"code": "This code is not right. Check the time on your phone and enter the current code."})
		case errs.NotFound, errs.Gone:
			return errs.E(errs.Invalid, "The enrolment has expired. Start again from your account page.")
		}
		return err
	}
	s.render(w, r, http.StatusOK, "recovery", page{Title: "Recovery codes", Data: codes})
	return nil
}

func (s *server) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	n, err := s.cfg.Auth.LogoutEverywhere(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	s.clearCookie(w, auth.SessionCookie, "/")
	s.flash(w, "You are signed out everywhere ("+plural(n, "session")+" ended).")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// revokeSession signs out one of the user's other sessions (another
// computer or browser).
func (s *server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	id := r.PathValue("id")
	if id == st.session.ID {
		return errs.E(errs.Invalid, "To end this session, sign out.")
	}
	if err := s.cfg.Auth.RevokeSession(r.Context(), st.user.ID, id); err != nil {
		return err
	}
	s.flash(w, "That session is signed out.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}
