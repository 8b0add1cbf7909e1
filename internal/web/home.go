package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// searchFields are the patient search's inputs and the Patient search
// parameters they become (https://hl7.org/fhir/R4/patient.html#search):
// name is a string search (prefix, case- and accent-insensitive), the
// others match exactly.
var searchFields = []struct{ field, param string }{
	{"name", "name"},
	{"birthdate", "birthdate"},
	{"mrn", "identifier"},
	{"phone", "phone"},
}

var birthDate = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)

type homeView struct {
	Searched bool
	Patients []patientRow
	More     bool
	Recent   []patientRow // the charts the user opened last (chart_actions_recent.go)
}

// patientRow is one search result.
type patientRow struct {
	ID, Name, BirthDate, Sex, MRN string
}

// maxResults is the size of the patient search's result list.
const maxResults = 50

func (s *server) home(w http.ResponseWriter, r *http.Request) error {
	if isPortalUser(stateOf(r).user) {
		// Patients and proxies sign in on the same page and land here.
		http.Redirect(w, r, "/portal", http.StatusSeeOther)
		return nil
	}
	q := r.URL.Query()
	form := url.Values{}
	params := url.Values{}
	fe := map[string]string{}
	for _, f := range searchFields {
		v := strings.TrimSpace(q.Get(f.field))
		if v == "" {
			continue
		}
		form.Set(f.field, v)
		params.Set(f.param, v)
	}
	if v := form.Get("birthdate"); v != "" && !birthDate.MatchString(v) {
		fe["birthdate"] = "Enter the birth date as YYYY-MM-DD, for example 1984-03-27."
	}
	if v := form.Get("phone"); v != "" && strings.ContainsAny(v, ",|\\$") {
		fe["phone"] = "Enter the phone number as it is recorded, without commas."
	}
	view := page{Title: "Patients", Form: form, Errors: fe}
	hv := homeView{}
	if len(params) > 0 && len(fe) == 0 {
		rows, more, err := s.searchPatients(r.Context(), params)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				return err
			}
			view.Error = "The search could not run: " + messageOf(err)
		}
		hv = homeView{Searched: err == nil, Patients: rows, More: more}
	} else if len(fe) > 0 {
		view.Error = "Correct the search: see the messages below."
	}
	if !hv.Searched {
		hv.Recent = s.recentPatients(r)
	}
	view.Data = hv
	status := http.StatusOK
	if len(fe) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "home", view)
	return nil
}

// searchPatients runs a Patient search through the Repository with the
// principal of ctx: patients the user may not see never come back.
func (s *server) searchPatients(ctx context.Context, params url.Values) ([]patientRow, bool, error) {
	params.Set("_count", strconv.Itoa(maxResults))
	params.Set("_sort", "family,given,birthdate")
	c, err := s.cfg.Search.Compile("Patient", params, true)
	if err != nil {
		return nil, false, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		return nil, false, err
	}
	rows := make([]patientRow, 0, len(res.Records))
	for _, rec := range res.Records {
		if rec.Type != "Patient" || rec.Deleted {
			continue
		}
		rows = append(rows, patientRowOf(rec))
	}
	return rows, res.More, nil
}

// patientJSON is the part of a Patient the result list shows (a view:
// the resource itself is never rewritten from it).
type patientJSON struct {
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	BirthDate  string `json:"birthDate"`
	Gender     string `json:"gender"`
	Identifier []struct {
		Value string `json:"value"`
		Type  struct {
			Coding []struct {
				Code string `json:"code"`
			} `json:"coding"`
		} `json:"type"`
	} `json:"identifier"`
}

func patientRowOf(rec *store.Record) patientRow {
	row := patientRow{ID: rec.ID}
	var p patientJSON
	if err := json.Unmarshal(rec.JSON, &p); err != nil {
		row.Name = "(unreadable record)"
		return row
	}
	for i, n := range p.Name {
		if i > 0 && n.Use != "official" {
			continue
		}
		name := n.Text
		if name == "" {
			name = strings.TrimSpace(n.Family + ", " + strings.Join(n.Given, " "))
			name = strings.Trim(name, ", ")
		}
		row.Name = name
		if n.Use == "official" {
			break
		}
	}
	if row.Name == "" {
		row.Name = "(no name)"
	}
	row.BirthDate, row.Sex = p.BirthDate, p.Gender
	for _, id := range p.Identifier {
		if slices.ContainsFunc(id.Type.Coding, func(c struct {
			Code string `json:"code"`
		}) bool {
			return c.Code == "MR"
		}) {
			row.MRN = id.Value
			break
		}
	}
	return row
}

// alive answers the page script's keep-alive: the session lookup in the
// middleware has already counted it as activity.
func (s *server) alive(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) switchOrganization(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	org := r.PostForm.Get("organization")
	if !slices.ContainsFunc(st.user.Memberships, func(m auth.Membership) bool { return m.Organization == org }) {
		return errs.E(errs.Invalid, "You are not a member of this organization.")
	}
	if err := s.cfg.Auth.SwitchOrganization(r.Context(), st.token, org); err != nil {
		return err
	}
	s.flash(w, "You now act for "+s.orgNames(r.Context(), st.user).name(org)+".")
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// orgNameMap names organizations by reference ("Organization/1").
type orgNameMap map[string]string

// name returns the organization's name, or its reference when it has
// none or could not be read.
func (m orgNameMap) name(ref string) string {
	if n := m[ref]; n != "" {
		return n
	}
	return ref
}

// OrgName is the name the header shows for an organization of the user's
// memberships: its name, else its reference.
func (p page) OrgName(ref string) string { return orgNameMap(p.OrgNames).name(ref) }

// orgNameTTL is how long an organization's name is kept before it is read
// again: names rarely change, and the header shows them on every page.
const orgNameTTL = 5 * time.Minute

// orgNameCache keeps the names the header shows, so that a page costs no
// search (and no audit entry) for names read in the last orgNameTTL.
type orgNameCache struct {
	mu      sync.Mutex
	entries map[string]orgNameEntry // by reference
}

type orgNameEntry struct {
	name string // "" when the organization has no name or is gone
	at   time.Time
}

// orgNames reads the names of the organizations the user is a member of,
// from the cache or in one search for those missing or stale. The user is
// a member of each, so the read runs as OpenChart (a System principal
// naming the user): a role that may not read Organizations still sees the
// names of its own. A failure is logged and leaves the references shown.
func (s *server) orgNames(ctx context.Context, u *auth.User) orgNameMap {
	if u == nil || len(u.Memberships) == 0 || s.cfg.Search == nil {
		return nil
	}
	now := time.Now()
	out := orgNameMap{}
	var ids []string
	s.orgs.mu.Lock()
	for _, m := range u.Memberships {
		id, ok := strings.CutPrefix(m.Organization, "Organization/")
		if !ok || !validID(id) || slices.Contains(ids, id) {
			continue
		}
		if e, hit := s.orgs.entries[m.Organization]; hit && now.Sub(e.at) < orgNameTTL {
			if e.name != "" {
				out[m.Organization] = e.name
			}
			continue
		}
		ids = append(ids, id)
	}
	s.orgs.mu.Unlock()
	if len(ids) == 0 {
		return out
	}
	c, err := s.cfg.Search.Compile("Organization", url.Values{"_id": {strings.Join(ids, ",")}}, true)
	if err == nil {
		sys := access.With(ctx, &access.Principal{Kind: access.System, Username: "organization names for " + u.Username})
		var res *store.Result
		if res, err = s.cfg.Repo.Search(sys, c.Query); err == nil {
			found := map[string]string{}
			for _, rec := range res.Records {
				var o struct {
					Name string `json:"name"`
				}
				if rec.Type == "Organization" && !rec.Deleted && json.Unmarshal(rec.JSON, &o) == nil {
					found["Organization/"+rec.ID] = strings.TrimSpace(o.Name)
				}
			}
			s.orgs.mu.Lock()
			if s.orgs.entries == nil {
				s.orgs.entries = map[string]orgNameEntry{}
			}
			for _, id := range ids {
				ref := "Organization/" + id
				s.orgs.entries[ref] = orgNameEntry{name: found[ref], at: now}
				if found[ref] != "" {
					out[ref] = found[ref]
				}
			}
			s.orgs.mu.Unlock()
			return out
		}
	}
	s.log.Warn("web: organization names", "user", u.Username, "err", err)
	return out
}

// breakGlassRoles may declare an emergency access.
var breakGlassRoles = []string{auth.RolePhysician, auth.RoleNurse}

type breakGlassView struct {
	Patient string
	Next    string
	Allowed bool
}

func (s *server) breakGlassPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.breakGlassView(r, r.URL.Query().Get("next"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "breakglass", page{Title: "Emergency access", Data: v})
	return nil
}

func (s *server) breakGlassView(r *http.Request, next string) (breakGlassView, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return breakGlassView{}, notFound
	}
	st := stateOf(r)
	if !slices.ContainsFunc(currentRoles(st), func(role string) bool { return slices.Contains(breakGlassRoles, role) }) {
		return breakGlassView{}, errs.E(errs.Permission, "Only physicians and nurses may declare an emergency access.")
	}
	return breakGlassView{Patient: id, Next: localPath(next), Allowed: true}, nil
}

func (s *server) breakGlassSubmit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.breakGlassView(r, r.PostForm.Get("next"))
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	fe := map[string]string{}
	if len(reason) < 10 {
		fe["reason"] = "Say why you need this record now (at least 10 characters)."
	}
	if r.PostForm.Get("confirm") != "yes" {
		fe["confirm"] = "Confirm that this access is recorded and reviewed."
	}
	if len(fe) == 0 {
		st := stateOf(r)
		g, err := s.cfg.Auth.BreakGlass(r.Context(), st.user.ID, v.Patient, reason)
		if err == nil {
			s.flash(w, "Emergency access to Patient/"+v.Patient+" is open until "+g.Until.UTC().Format("15:04 UTC")+". It is recorded and will be reviewed.")
			http.Redirect(w, r, v.Next, http.StatusSeeOther)
			return nil
		}
		if !formError(err, fe, nil, "reason") {
			return err
		}
	}
	s.render(w, r, http.StatusBadRequest, "breakglass", page{Title: "Emergency access", Data: v, Errors: fe,
		Form: url.Values{"reason": {reason}}, Error: "The emergency access was not opened: see the messages below."})
	return nil
}

// validID is the FHIR id syntax (https://hl7.org/fhir/R4/datatypes.html#id).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
