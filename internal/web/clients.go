package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/smart"
)

// Clients is the registry of SMART apps (OAuth clients) an administrator
// manages: the authorization server (*smart.Server) is one.
type Clients interface {
	RegisterClient(ctx context.Context, spec smart.ClientSpec) (*smart.Client, string, error)
	ListClients(ctx context.Context) ([]*smart.Client, error)
	RemoveClient(ctx context.Context, id string) error
}

var _ Clients = (*smart.Server)(nil)

// clientRoutes registers the SMART app administration pages and the EHR
// launch from the chart.
func (s *server) clientRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/apps", s.admin(s.clientsPage))
	mux.Handle("POST /admin/apps", s.admin(s.registerClient))
	mux.Handle("GET /admin/apps/{id}/remove", s.admin(s.removeClientPage))
	mux.Handle("POST /admin/apps/{id}/remove", s.admin(s.removeClient))
	mux.Handle("GET /patients/{id}/launch", s.user(s.launchPage))
	mux.Handle("POST /patients/{id}/launch/{client}", s.user(s.launchApp))
}

// Scope presets offered by the registration form.
var scopePresets = []scopePreset{
	{"patient", "Patient-facing app", "launch/patient openid fhirUser patient/*.rs offline_access"},
	{"clinician", "Clinician app launched from the chart", "launch openid fhirUser user/*.rs"},
	{"backend", "Backend service", "system/*.rs"},
}

type scopePreset struct{ Key, Label, Scopes string }

// Client types of the registration form.
const (
	clientPublic = "public"
	clientSecret = "secret"
	clientJWKS   = "jwks"
)

// clientsView is the data of the SMART apps page.
type clientsView struct {
	Clients []clientRow
	// Manage is true for system administrators: they register and remove
	// apps; organization administrators only see the list.
	Manage  bool
	Presets []scopePreset
	// Registered and Secret are set right after a registration: the
	// secret is shown this once and kept nowhere.
	Registered *smart.Client
	Secret     string
}

type clientRow struct {
	*smart.Client
}

// Type is how the app authenticates, in words.
func (c clientRow) Type() string {
	switch c.AuthMethod() {
	case "none":
		return "Public"
	case "private_key_jwt":
		return "Confidential (JWKS)"
	}
	return "Confidential (secret)"
}

func (s *server) clientsEnabled() error {
	if s.cfg.Clients == nil {
		return notFound
	}
	return nil
}

// clientManager refuses everyone but system administrators.
func clientManager(r *http.Request) error {
	if st := stateOf(r); st.user == nil || !st.user.SystemAdmin {
		return errs.E(errs.Permission, "Only a system administrator may register or remove apps.")
	}
	return nil
}

func (s *server) clientsPage(w http.ResponseWriter, r *http.Request) error {
	if err := s.clientsEnabled(); err != nil {
		return err
	}
	p := page{Form: url.Values{"type": {clientPublic}, "preset": {"patient"}}}
	return s.renderClients(w, r, http.StatusOK, p, nil, "")
}

func (s *server) renderClients(w http.ResponseWriter, r *http.Request, status int, p page, registered *smart.Client, secret string) error {
	list, err := s.cfg.Clients.ListClients(r.Context())
	if err != nil {
		return err
	}
	slices.SortFunc(list, func(a, b *smart.Client) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	v := clientsView{Manage: stateOf(r).user.SystemAdmin, Presets: scopePresets, Registered: registered, Secret: secret}
	for _, c := range list {
		v.Clients = append(v.Clients, clientRow{c})
	}
	p.Title, p.Data = "SMART apps", v
	s.render(w, r, status, "clients", p)
	return nil
}

// registerClient registers an app from the form. A confidential app with
// a secret gets it on the page answering the form, once.
func (s *server) registerClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.clientsEnabled(); err != nil {
		return err
	}
	if err := clientManager(r); err != nil {
		return err
	}
	f := r.PostForm
	spec, fe := readClientForm(f)
	if len(fe) == 0 {
		c, secret, err := s.cfg.Clients.RegisterClient(r.Context(), spec)
		if err == nil {
			s.log.Info("web: SMART app registered", "client", c.ID, "by", stateOf(r).user.Username)
			// A fresh form below the new app's notice.
			p := page{Form: url.Values{"type": {clientPublic}, "preset": {"patient"}}}
			return s.renderClients(w, r, http.StatusOK, p, c, secret)
		}
		if errs.KindOf(err) != errs.Invalid {
			return err
		}
		fe = map[string]string{clientField(err): msgOf(err)}
	}
	p := page{Form: f, Errors: fe, Error: "The app was not registered: correct the fields marked below."}
	return s.renderClients(w, r, http.StatusBadRequest, p, nil, "")
}

// readClientForm checks the registration form and turns it into a spec;
// field errors are keyed by the form's field names.
func readClientForm(f url.Values) (smart.ClientSpec, map[string]string) {
	fe := map[string]string{}
	spec := smart.ClientSpec{Name: strings.TrimSpace(f.Get("name"))}
	if spec.Name == "" {
		fe["name"] = "Enter the app's name."
	} else if len(spec.Name) > 200 {
		fe["name"] = "The name is too long (200 characters at most)."
	}
	for _, line := range strings.Split(f.Get("redirectUris"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if msg := checkAppURL(line); msg != "" {
			fe["redirectUris"] = line + ": " + msg
			break
		}
		spec.RedirectURIs = append(spec.RedirectURIs, line)
	}
	if spec.LaunchURL = strings.TrimSpace(f.Get("launchUrl")); spec.LaunchURL != "" {
		if msg := checkAppURL(spec.LaunchURL); msg != "" {
			fe["launchUrl"] = msg
		}
	}
	typ := f.Get("type")
	switch typ {
	case clientPublic:
		spec.Public = true
		if len(spec.RedirectURIs) == 0 && fe["redirectUris"] == "" {
			fe["redirectUris"] = "A public app needs at least one redirect URI."
		}
	case clientSecret:
	case clientJWKS:
		raw := strings.TrimSpace(f.Get("jwks"))
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		switch {
		case raw == "":
			fe["jwks"] = "Paste the app's JSON Web Key Set (its public keys)."
		case json.Unmarshal([]byte(raw), &set) != nil:
			fe["jwks"] = `This is not valid JSON: paste a JSON Web Key Set, {"keys": [...]}.`
		case len(set.Keys) == 0:
			fe["jwks"] = `The key set has no keys: it needs {"keys": [...]} with at least one public key.`
		default:
			spec.JWKS = []byte(raw)
		}
	default:
		fe["type"] = "Choose how the app signs in: public, confidential with a secret, or confidential with keys (JWKS)."
	}
	scopes := ""
	preset := f.Get("preset")
	if i := slices.IndexFunc(scopePresets, func(p scopePreset) bool { return p.Key == preset }); i >= 0 {
		scopes = scopePresets[i].Scopes
	} else if preset == "custom" {
		scopes = f.Get("scopes")
	} else {
		fe["preset"] = "Choose the scopes the app may be granted."
	}
	if _, _, err := access.ParseScopes(scopes); err != nil {
		fe[scopeField(preset)] = "Scopes: " + err.Error() + "."
	} else if len(strings.Fields(scopes)) == 0 && fe["preset"] == "" {
		fe[scopeField(preset)] = "Enter at least one scope, separated by spaces."
	} else if typ != clientJWKS && strings.Contains(" "+scopes, " system/") {
		fe[scopeField(preset)] = "System scopes are for backend services: register the app as confidential with keys (JWKS)."
	}
	spec.Scopes = strings.Fields(scopes)
	return spec, fe
}

func scopeField(preset string) string {
	if preset == "custom" {
		return "scopes"
	}
	return "preset"
}

// checkAppURL checks a redirect or launch URL as the authorization server
// will: absolute http(s), no fragment.
func checkAppURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a valid URL."
	case u.Scheme != "https" && u.Scheme != "http":
		return "must start with https:// (or http://)."
	case u.Host == "":
		return "must be a full address with a host name."
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not contain a # fragment."
	}
	return ""
}

// clientField is the form field an authorization server's refusal is
// about.
func clientField(err error) string {
	m := msgOf(err)
	switch {
	case strings.HasPrefix(m, "JWKS"), strings.Contains(m, "public client has no keys"):
		return "jwks"
	case strings.HasPrefix(m, "redirect URI"), strings.Contains(m, "needs a redirect URI"):
		return "redirectUris"
	case strings.HasPrefix(m, "launch URL"):
		return "launchUrl"
	case strings.Contains(m, "name"):
		return "name"
	}
	return "scopes"
}

func msgOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		if m := userMessage(e); m != "" {
			return m
		}
	}
	return err.Error()
}

type removeClientView struct{ Client clientRow }

func (s *server) findClient(ctx context.Context, id string) (*smart.Client, error) {
	list, err := s.cfg.Clients.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, notFound
}

func (s *server) removeClientPage(w http.ResponseWriter, r *http.Request) error {
	if err := s.clientsEnabled(); err != nil {
		return err
	}
	if err := clientManager(r); err != nil {
		return err
	}
	c, err := s.findClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "clients_remove", page{Title: "Remove " + c.Name, Data: removeClientView{Client: clientRow{c}}})
	return nil
}

func (s *server) removeClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.clientsEnabled(); err != nil {
		return err
	}
	if err := clientManager(r); err != nil {
		return err
	}
	c, err := s.findClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.cfg.Clients.RemoveClient(r.Context(), c.ID); err != nil {
		return err
	}
	s.log.Info("web: SMART app removed", "client", c.ID, "by", stateOf(r).user.Username)
	s.flash(w, c.Name+" was removed; its tokens no longer work.")
	http.Redirect(w, r, "/admin/apps", http.StatusSeeOther)
	return nil
}

// launchView is the data of the chart's app menu.
type launchView struct {
	Patient string // the patient's id
	Name    string // the patient's name
	Apps    []*smart.Client
}

// launchable are the registered apps with a launch URL.
func (s *server) launchable(ctx context.Context) ([]*smart.Client, error) {
	list, err := s.cfg.Clients.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	var out []*smart.Client
	for _, c := range list {
		if c.LaunchURL != "" {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *smart.Client) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// launchPatient checks that EHR launch is set up, that the user is a
// clinician, and that they may see the patient (read through the
// Repository with their principal); it returns the patient's name.
func (s *server) launchPatient(r *http.Request) (string, error) {
	if s.cfg.Clients == nil || s.cfg.Launch == nil {
		return "", notFound
	}
	if !deskClinician(stateOf(r)) {
		return "", errs.E(errs.Permission, "Only physicians and nurses launch apps from the chart.")
	}
	id := r.PathValue("id")
	if !validID(id) {
		return "", notFound
	}
	rec, err := s.cfg.Repo.Read(r.Context(), "Patient", id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.Permission || k == errs.Gone {
			return "", notFound
		}
		return "", err
	}
	return launchPatientName(rec.JSON), nil
}

// launchPatientName is the patient's first name entry, as "Given Family".
func launchPatientName(doc []byte) string {
	var res struct {
		Name []any `json:"name"`
	}
	json.Unmarshal(doc, &res)
	names := res.Name
	for _, n := range names {
		m, _ := n.(map[string]any)
		if t, _ := m["text"].(string); t != "" {
			return t
		}
		var parts []string
		given, _ := m["given"].([]any)
		for _, g := range given {
			if s, ok := g.(string); ok {
				parts = append(parts, s)
			}
		}
		if f, _ := m["family"].(string); f != "" {
			parts = append(parts, f)
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return "this patient"
}

// launchPage lists the apps that can be launched for the patient.
func (s *server) launchPage(w http.ResponseWriter, r *http.Request) error {
	name, err := s.launchPatient(r)
	if err != nil {
		return err
	}
	apps, err := s.launchable(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "clients_launch", page{Title: "Launch an app for " + name,
		Data: launchView{Patient: r.PathValue("id"), Name: name, Apps: apps}})
	return nil
}

// launchApp starts an EHR launch: a launch id bound to the user and the
// patient, and a redirect to the app's launch URL with iss and launch
// (SMART App Launch, "EHR launch").
func (s *server) launchApp(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.launchPatient(r); err != nil {
		return err
	}
	apps, err := s.launchable(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(apps, func(c *smart.Client) bool { return c.ID == r.PathValue("client") })
	if i < 0 {
		return notFound
	}
	target, err := url.Parse(apps[i].LaunchURL)
	if err != nil {
		return err
	}
	launch, err := s.cfg.Launch(r.Context(), stateOf(r).user.ID, r.PathValue("id"), "")
	if err != nil {
		return err
	}
	q := target.Query()
	q.Set("iss", s.fhirBase(r))
	q.Set("launch", launch)
	target.RawQuery = q.Encode()
	s.log.Info("web: EHR launch", "client", apps[i].ID, "patient", r.PathValue("id"), "user", stateOf(r).user.Username)
	http.Redirect(w, r, target.String(), http.StatusSeeOther)
	return nil
}

// fhirBase is the FHIR API's public base URL: the configured one, else
// this server's origin + "/fhir".
func (s *server) fhirBase(r *http.Request) string {
	if s.cfg.FHIRBase != "" {
		return strings.TrimSuffix(s.cfg.FHIRBase, "/")
	}
	return s.origin(r) + "/fhir"
}
