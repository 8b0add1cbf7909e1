package smart

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/store"
)

// pageData is what the templates render.
type pageData struct {
	Title     string
	Message   string
	Error     string
	Request   string
	CSRFField string
	CSRF      string
	Client    string
	Query     string
	Patients  []PatientSummary
	Patient   *PatientSummary
	Scopes    []string
	Searched  bool
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, d); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY") // no clickjacking of the consent buttons
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	// No form-action: the consent form's answer redirects to the app,
	// another origin, and browsers apply form-action to that redirect too.
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send Origin: null with the forms
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error.html", pageData{Title: "Authorization failed", Message: msg})
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("authorization request failed", "path", r.URL.Path, "err", err)
	s.errorPage(w, http.StatusInternalServerError, "Something went wrong on our side. Try again later.")
}

// pickerPage shows the patient picker: a patient or proxy user chooses
// among the patients they act for; a clinician searches by name.
func (s *Server) pickerPage(w http.ResponseWriter, r *http.Request) {
	pd, _, sess, user, ok := s.pending(w, r)
	if !ok {
		return
	}
	d, err := s.pickerData(r, pd, sess, user, r.URL.Query().Get("name"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "patient.html", d)
}

func (s *Server) pickerData(r *http.Request, pd *pendingDoc, sess *auth.Session, user *auth.User, name string) (pageData, error) {
	c, err := s.GetClient(r.Context(), pd.ClientID)
	if err != nil {
		return pageData{}, err
	}
	d := pageData{Title: "Choose a patient", Request: pd.ID, CSRFField: auth.CSRFField, CSRF: sess.CSRF, Client: c.Name, Query: name}
	ctx := s.withUser(r, sess, user)
	if isPatientUser(user) {
		for _, id := range user.Patients {
			ps := PatientSummary{ID: id, Name: "Patient " + id}
			if s.cfg.Patients != nil {
				if got, err := s.cfg.Patients.Get(ctx, id); err == nil {
					ps = *got
				}
			}
			d.Patients = append(d.Patients, ps)
		}
		return d, nil
	}
	if name = strings.TrimSpace(name); name != "" && s.cfg.Patients != nil {
		d.Searched = true
		if d.Patients, err = s.cfg.Patients.Find(ctx, name); err != nil {
			return pageData{}, err
		}
	}
	return d, nil
}

// pickPatient records the patient chosen in the picker.
func (s *Server) pickPatient(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	pd, it, sess, user, ok := s.pending(w, r)
	if !ok {
		return
	}
	if !s.checkPost(r, sess) {
		s.errorPage(w, http.StatusForbidden, "This form has expired or did not come from OpenChart. Start again from the app.")
		return
	}
	id := r.PostFormValue("patient")
	allowed := false
	switch {
	case id == "":
	case isPatientUser(user):
		allowed = slices.Contains(user.Patients, id)
	case s.cfg.Patients != nil:
		_, err := s.cfg.Patients.Get(s.withUser(r, sess, user), id)
		allowed = err == nil
	}
	if !allowed {
		d, err := s.pickerData(r, pd, sess, user, r.PostFormValue("name"))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.Error = "Choose one of the patients listed."
		s.render(w, http.StatusBadRequest, "patient.html", d)
		return
	}
	pd.Patient, pd.NeedPatient = id, false
	err := s.cfg.Store.InTx(r.Context(), func(tx store.Tx) error {
		return putDoc(r.Context(), tx, kindRequest, it.Key, it.Owner, it.Version, it.Expires, pd)
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/oauth/consent?request="+url.QueryEscape(pd.ID), http.StatusSeeOther)
}

// consentPage lists what the app asks for, in plain language.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request) {
	pd, _, sess, user, ok := s.pending(w, r)
	if !ok {
		return
	}
	if pd.NeedPatient {
		http.Redirect(w, r, "/oauth/patient?request="+url.QueryEscape(pd.ID), http.StatusSeeOther)
		return
	}
	c, err := s.GetClient(r.Context(), pd.ClientID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := pageData{Title: "Allow " + c.Name + "?", Request: pd.ID, CSRFField: auth.CSRFField, CSRF: sess.CSRF,
		Client: c.Name, Scopes: pd.Scopes}
	if pd.Patient != "" {
		d.Patient = &PatientSummary{ID: pd.Patient, Name: "Patient " + pd.Patient}
		if s.cfg.Patients != nil {
			if got, err := s.cfg.Patients.Get(s.withUser(r, sess, user), pd.Patient); err == nil {
				d.Patient = got
			}
		}
	}
	s.render(w, http.StatusOK, "consent.html", d)
}

// consent takes the user's decision: deny sends access_denied to the app;
// approve records the grant and sends an authorization code.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	pd, it, sess, user, ok := s.pending(w, r)
	if !ok {
		return
	}
	if !s.checkPost(r, sess) {
		s.errorPage(w, http.StatusForbidden, "This form has expired or did not come from OpenChart. Start again from the app.")
		return
	}
	if pd.NeedPatient {
		http.Redirect(w, r, "/oauth/patient?request="+url.QueryEscape(pd.ID), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	approve := r.PostFormValue("decision") == "approve"
	code := randomToken()
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		// The request is answered once, whatever the answer.
		if err := tx.DeleteItem(ctx, kindRequest, it.Key); err != nil {
			return err
		}
		if !approve {
			return nil
		}
		now := s.now().UTC()
		p := s.cfg.Auth.Principal(sess, user, nil, "")
		p.BreakGlass = nil
		g := &grantDoc{ID: randomID(), ClientID: pd.ClientID, UserID: user.ID, SessionID: sess.ID,
			Principal: *p, Scopes: pd.Scopes, Patient: pd.Patient, Encounter: pd.Encounter,
			NeedBanner: !pd.EHRLaunch, Nonce: pd.Nonce, AuthTime: sess.Created, Created: now}
		// The grant lives as long as its code until the code is exchanged.
		if err := putDoc(ctx, tx, kindGrant, g.ID, user.ID, 0, now.Add(codeTTL), g); err != nil {
			return err
		}
		cd := codeDoc{GrantID: g.ID, ClientID: pd.ClientID, RedirectURI: pd.RedirectURI, Challenge: pd.Challenge}
		return putDoc(ctx, tx, kindCode, hashToken(code), g.ID, 0, now.Add(codeTTL), cd)
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !approve {
		redirectError(w, r, pd.RedirectURI, pd.State, "access_denied", "the user denied the request")
		return
	}
	v := url.Values{"code": {code}}
	if pd.State != "" {
		v.Set("state", pd.State)
	}
	http.Redirect(w, r, withQuery(pd.RedirectURI, v), http.StatusFound)
}
