package smart

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/clientip"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// pendingDoc is an authorization request waiting for the user (patient
// picker, consent): oauth-request/<id>, owned by the user, tied to the
// session it started in, living ten minutes.
type pendingDoc struct {
	ID          string    `json:"id"`
	ClientID    string    `json:"clientId"`
	RedirectURI string    `json:"redirectUri"`
	State       string    `json:"state,omitempty"`
	Challenge   string    `json:"challenge"`
	Nonce       string    `json:"nonce,omitempty"`
	Scopes      []string  `json:"scopes"` // what may be granted (requested ∩ registered ∩ the user's)
	Patient     string    `json:"patient,omitempty"`
	Encounter   string    `json:"encounter,omitempty"`
	EHRLaunch   bool      `json:"ehrLaunch,omitempty"`
	NeedPatient bool      `json:"needPatient,omitempty"` // the picker must run
	UserID      string    `json:"userId"`
	SessionID   string    `json:"sessionId"`
	Created     time.Time `json:"created"`
}

// launchDoc is an EHR launch context: oauth-launch/<id>, made by the EHR
// for the signed-in user (NewLaunch) and passed to the app as launch=<id>.
type launchDoc struct {
	UserID    string `json:"userId"`
	Patient   string `json:"patient,omitempty"`
	Encounter string `json:"encounter,omitempty"`
}

// NewLaunch records the context of an EHR launch (SMART App Launch 2.0,
// "EHR launch"): the user who launches, and the patient and encounter open
// in the EHR. The returned id goes to the app's launch URL as the launch
// parameter; it works for that user only, for five minutes.
func (s *Server) NewLaunch(ctx context.Context, userID, patient, encounter string) (string, error) {
	if userID == "" {
		return "", errs.E("new launch", errs.Invalid, "a launch needs a user")
	}
	id := randomToken()
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return putDoc(ctx, tx, kindLaunch, id, userID, 0, s.now().Add(launchTTL), launchDoc{UserID: userID, Patient: patient, Encounter: encounter})
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// authorize is the authorization endpoint (RFC 6749 §4.1.1; SMART App
// Launch 2.0 app-launch.html, "Obtain authorization code"). GET and POST
// (authorize-post) take the same parameters.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The authorization request is not well formed.")
		return
	}
	q := r.Form
	ctx := r.Context()
	// Until the client and its redirect URI are known to be right, errors
	// are shown here: redirecting to an unverified URI would make this an
	// open redirector (RFC 6749 §4.1.2.1).
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		s.errorPage(w, http.StatusBadRequest, "The app did not say which app it is (client_id is missing).")
		return
	}
	c, err := s.GetClient(ctx, clientID)
	if errs.KindOf(err) == errs.NotFound {
		s.errorPage(w, http.StatusBadRequest, "This app is not registered with OpenChart.")
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	if redirectURI == "" || !c.allows(redirectURI) {
		s.errorPage(w, http.StatusBadRequest, "The app's redirect_uri is not one registered for it.")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) { redirectError(w, r, redirectURI, state, code, desc) }
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "code_challenge must be a base64url SHA-256")
		return
	case strings.TrimSuffix(q.Get("aud"), "/") != s.FHIRBase():
		fail("invalid_request", "aud must be this server's FHIR base URL, "+s.FHIRBase())
		return
	}
	requested, err := parseRequested(splitScopes(q.Get("scope")))
	if err != nil {
		fail("invalid_scope", err.Error())
		return
	}
	// The user: without a session, sign in first and come back here.
	sess, user, ok := s.signedIn(r)
	if !ok {
		back := r.URL.Path + "?" + q.Encode()
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
		return
	}
	patientUser := isPatientUser(user)
	registered, err := parseScopes(c.Scopes)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	granted := grantable(requested, registered, func(sc scope) bool {
		switch {
		case sc.Res == nil:
			return true
		case sc.Res.Context == "system":
			return false
		case sc.Res.Context == "user":
			return !patientUser
		}
		return true
	})
	if !patientUser {
		granted = s.roleBound(granted, sess, user)
	}
	if len(granted) == 0 {
		fail("invalid_scope", "none of the requested scopes can be granted")
		return
	}
	pd := &pendingDoc{ID: randomToken(), ClientID: c.ID, RedirectURI: redirectURI, State: state,
		Challenge: q.Get("code_challenge"), Nonce: q.Get("nonce"), Scopes: granted,
		UserID: user.ID, SessionID: sess.ID, Created: s.now().UTC()}
	if launch := q.Get("launch"); launch != "" {
		var ld launchDoc
		_, err := getDoc(ctx, s.cfg.Store, kindLaunch, launch, &ld)
		if err != nil || ld.UserID != user.ID {
			fail("invalid_request", "the launch is unknown or has expired")
			return
		}
		pd.Patient, pd.Encounter, pd.EHRLaunch = ld.Patient, ld.Encounter, true
	}
	if pd.Patient == "" && needsPatient(granted) {
		if patientUser && len(user.Patients) == 1 {
			pd.Patient = user.Patients[0]
		} else if patientUser && len(user.Patients) == 0 {
			fail("access_denied", "this account is not linked to a patient record")
			return
		} else {
			pd.NeedPatient = true
		}
	}
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return putDoc(ctx, tx, kindRequest, pd.ID, user.ID, 0, s.now().Add(requestTTL), pd)
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	next := "/oauth/consent?request=" + url.QueryEscape(pd.ID)
	if pd.NeedPatient {
		next = "/oauth/patient?request=" + url.QueryEscape(pd.ID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// needsPatient reports whether granted scopes need a patient in context:
// launch/patient, or any patient/ resource scope.
func needsPatient(granted []string) bool {
	for _, g := range granted {
		if g == access.ScopeLaunchPatient || strings.HasPrefix(g, "patient/") {
			return true
		}
	}
	return false
}

// isPatientUser: a user who acts for patients (themselves, or as a proxy)
// and works for no organization.
func isPatientUser(u *auth.User) bool {
	return len(u.Memberships) == 0 && len(u.Patients) > 0
}

// signedIn returns the session of the request's session cookie.
func (s *Server) signedIn(r *http.Request) (*auth.Session, *auth.User, bool) {
	ck, err := r.Cookie(auth.SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil, false
	}
	sess, user, err := s.cfg.Auth.Session(r.Context(), ck.Value)
	if err != nil || sess == nil || user == nil || user.Disabled {
		return nil, nil, false
	}
	return sess, user, true
}

// pending loads the request named by the request parameter, for the
// signed-in user of the session it started in.
func (s *Server) pending(w http.ResponseWriter, r *http.Request) (*pendingDoc, *store.Item, *auth.Session, *auth.User, bool) {
	sess, user, ok := s.signedIn(r)
	if !ok {
		s.errorPage(w, http.StatusUnauthorized, "Your session has ended. Start again from the app.")
		return nil, nil, nil, nil, false
	}
	var pd pendingDoc
	it, err := getDoc(r.Context(), s.cfg.Store, kindRequest, r.FormValue("request"), &pd)
	if err != nil || pd.UserID != user.ID || pd.SessionID != sess.ID {
		s.errorPage(w, http.StatusBadRequest, "This authorization request is unknown or has expired. Start again from the app.")
		return nil, nil, nil, nil, false
	}
	return &pd, it, sess, user, true
}

// checkPost verifies a state-changing form: the session's CSRF secret in
// auth.CSRFField, and an Origin (or Referer) of this server when the
// browser sends one.
func (s *Server) checkPost(r *http.Request, sess *auth.Session) bool {
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue(auth.CSRFField)), []byte(sess.CSRF)) != 1 || sess.CSRF == "" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" {
		return true
	}
	base, _ := url.Parse(s.cfg.BaseURL)
	return origin == base.Scheme+"://"+base.Host
}

// redirectError sends the user back to the app with an error (RFC 6749
// §4.1.2.1).
func redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state, code, desc string) {
	v := url.Values{"error": {code}}
	if desc != "" {
		v.Set("error_description", desc)
	}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirectURI, v), http.StatusFound)
}

// withQuery adds parameters to a URL that may already have a query.
func withQuery(u string, v url.Values) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for k, vs := range v {
		q[k] = vs
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// clientIP is the client's address (clientip.Of).
func (s *Server) clientIP(r *http.Request) string { return clientip.Of(r, s.cfg.Proxies) }

// withUser is ctx carrying the user's principal, for reads made on their
// behalf (the patient picker).
func (s *Server) withUser(r *http.Request, sess *auth.Session, user *auth.User) context.Context {
	return access.With(r.Context(), s.cfg.Auth.Principal(sess, user, nil, s.clientIP(r)))
}

// roleBound narrows granted scopes to what the user's roles in the
// session's organization could hold (access.Roles, user/ scopes, which
// bound patient/ scopes too). The Repository enforces the same bound on
// every request; narrowing here keeps the consent screen honest.
func (s *Server) roleBound(granted []string, sess *auth.Session, user *auth.User) []string {
	p := s.cfg.Auth.Principal(sess, user, nil, "")
	table := access.Roles()
	var bound []scope
	for _, n := range nonResource {
		bound = append(bound, scope{Name: n, raw: n})
	}
	for _, role := range p.Roles {
		for _, rs := range table[role].Scopes {
			sc, ok, err := access.ParseScope(rs)
			if err != nil || !ok {
				continue
			}
			for _, ctx := range []string{access.ContextUser, access.ContextPatient} {
				c := sc
				c.Context = ctx
				bound = append(bound, scope{Res: &c, raw: c.String()})
			}
		}
	}
	parsed, err := parseScopes(granted)
	if err != nil {
		return nil
	}
	return grantable(parsed, bound, func(scope) bool { return true })
}
