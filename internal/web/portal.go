package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// portalRoutes registers the patient portal under /portal.
//
// Every portal page acts for one patient: the session's patient (a
// patient user acts for themselves, a proxy for the person chosen with
// POST /portal/patient). Ids in URLs and forms are only ever looked up
// in that patient's own data: anything else is "not found".
func (s *server) portalRoutes(mux *http.ServeMux) {
	mux.Handle("GET /portal/activate", s.h(s.activatePage))
	mux.Handle("POST /portal/activate", s.h(s.limitedActivation(s.activateSubmit)))
	mux.Handle("GET /patients/{id}/invite", s.user(s.invitePage))
	mux.Handle("POST /patients/{id}/invite", s.user(s.inviteSubmit))

	mux.Handle("GET /portal", s.portal(s.portalHome))
	mux.Handle("GET /portal/{$}", s.portal(s.portalHome))
	mux.Handle("POST /portal/patient", s.portal(s.portalSwitch))
	mux.Handle("GET /portal/health", s.portal(s.portalHealth))
	mux.Handle("GET /portal/results", s.portal(s.portalResults))
	mux.Handle("GET /portal/results/{id}", s.portal(s.portalResult))
	mux.Handle("GET /portal/messages", s.portal(s.portalMessages))
	mux.Handle("POST /portal/messages", s.portal(s.portalSend))
	mux.Handle("GET /portal/messages/{id}", s.portal(s.portalThread))
	mux.Handle("POST /portal/messages/{id}/reply", s.portal(s.portalReply))
	mux.Handle("GET /portal/messages/{id}/attachments/{msg}/{n}", s.portal(s.portalAttachment))
	mux.Handle("GET /portal/appointments", s.portal(s.portalAppointments))
	mux.Handle("POST /portal/appointments", s.portal(s.portalBook))
	mux.Handle("POST /portal/appointments/{id}/cancel", s.portal(s.portalCancel))
	mux.Handle("POST /portal/appointments/{id}/reschedule", s.portal(s.portalReschedule))
	mux.Handle("GET /portal/data", s.portal(s.portalData))
	mux.Handle("GET /portal/data/record.json", s.portal(s.portalDownload))
	mux.Handle("GET /portal/data/summary", s.portal(s.portalSummary))
	mux.Handle("POST /portal/data/shares", s.portal(s.portalShare))
	mux.Handle("POST /portal/data/shares/{id}/revoke", s.portal(s.portalRevoke))
	mux.Handle("POST /portal/data/apps/{id}/disconnect", s.portal(s.portalDisconnect))
	mux.Handle("GET /portal/access", s.portal(s.portalAccess))
	mux.Handle("GET /portal/account", s.portal(s.portalAccount))
	mux.Handle("POST /portal/account/notifications", s.portal(s.portalNotifications))
}

// portalCtx is what a portal page knows about who is signed in.
type portalCtx struct {
	User    *auth.User
	Patient string // the id of the patient acted for
	Ref     string // "Patient/<id>"
	Proxy   bool   // acting for someone else
	// Choices are the patients a proxy may switch between.
	Choices []option
}

type portalCtxKey struct{}

func portalOf(r *http.Request) *portalCtx {
	pc, _ := r.Context().Value(portalCtxKey{}).(*portalCtx)
	return pc
}

// isPortalUser reports whether the signed-in user is a patient or a proxy
// (acts for patients and works for no organization).
func isPortalUser(u *auth.User) bool {
	return u != nil && len(u.Patients) > 0 && len(u.Memberships) == 0
}

// portal wraps a portal page: signed-out visitors go to the sign-in page,
// staff get a 403 page.
func (s *server) portal(fn handler) http.Handler {
	return s.user(func(w http.ResponseWriter, r *http.Request) error {
		st := stateOf(r)
		if !isPortalUser(st.user) {
			return errs.E(errs.Permission, "The patient portal is for patients and the people who act for them. Staff use the clinician pages.")
		}
		pid := st.session.Patient
		if pid == "" || !slices.Contains(st.user.Patients, pid) {
			pid = st.user.Patients[0]
		}
		pc := &portalCtx{User: st.user, Patient: pid, Ref: "Patient/" + pid,
			Proxy: st.user.FHIRUser != "Patient/"+pid}
		if len(st.user.Patients) > 1 {
			for _, id := range st.user.Patients {
				pc.Choices = append(pc.Choices, option{Value: id, Label: s.patientName(r.Context(), id)})
			}
		}
		return fn(w, r.WithContext(context.WithValue(r.Context(), portalCtxKey{}, pc)))
	})
}

// portalPage is the data of every portal page: who, and the page's own.
type portalPage struct {
	Who     *portalCtx
	Name    string // the patient's name
	Section string // the navigation entry to mark current
	View    any
}

func (s *server) renderPortal(w http.ResponseWriter, r *http.Request, status int, name, title, section string, p page, view any) {
	pc := portalOf(r)
	p.Title = title
	p.Data = portalPage{Who: pc, Name: s.patientName(r.Context(), pc.Patient), Section: section, View: view}
	s.render(w, r, status, name, p)
}

// patientName reads a patient's name through the Repository ("" when it
// cannot be read).
func (s *server) patientName(ctx context.Context, id string) string {
	rec, err := s.cfg.Repo.Read(ctx, "Patient", id)
	if err != nil {
		return ""
	}
	// The name as people write it: given names, then the family name.
	var p patientJSON
	if json.Unmarshal(rec.JSON, &p) == nil {
		for _, n := range p.Name {
			if n.Text != "" {
				return n.Text
			}
			if parts := append(slices.Clone(n.Given), n.Family); strings.TrimSpace(strings.Join(parts, " ")) != "" {
				return strings.TrimSpace(strings.Join(parts, " "))
			}
		}
	}
	return patientRowOf(rec).Name
}

// portalSwitch makes a proxy act for another of their patients.
func (s *server) portalSwitch(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	id := r.PostForm.Get("patient")
	sw, ok := s.cfg.Auth.(interface {
		SwitchPatient(ctx context.Context, token, patient string) error
	})
	if !ok || !slices.Contains(st.user.Patients, id) {
		return notFound
	}
	if err := sw.SwitchPatient(r.Context(), st.token, id); err != nil {
		return err
	}
	s.flash(w, "You are now acting for "+s.patientName(r.Context(), id)+".")
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
	return nil
}

// portalHome is what needs attention.
type portalHomeView struct {
	NewResults   []pResult
	Unread       int
	Upcoming     []pAppt
	Due          []string
	Shares       int
	HasMessaging bool
}

func (s *server) portalHome(w http.ResponseWriter, r *http.Request) error {
	pc := portalOf(r)
	ctx := r.Context()
	v := portalHomeView{}
	if s.cfg.Chart != nil {
		sum, err := s.cfg.Chart.Summary(ctx, pc.Patient)
		if err != nil {
			return err
		}
		for _, d := range sum.Due {
			v.Due = append(v.Due, d.Vaccine+": "+d.Reason)
		}
		since := time.Now().AddDate(0, 0, -30)
		for _, o := range sum.Results {
			if !o.Effective.Time.IsZero() && o.Effective.Time.After(since) {
				v.NewResults = append(v.NewResults, portalResultRow(o))
			}
		}
	}
	if s.cfg.Inbox != nil {
		v.HasMessaging = true
		n, err := s.cfg.Inbox.Unread(ctx, portalReader(pc))
		if err != nil {
			return err
		}
		v.Unread = n
	}
	if s.cfg.Schedule != nil {
		appts, err := s.cfg.Schedule.PatientAppointments(ctx, pc.Ref)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, a := range appts {
			if a.Start.After(now) && a.Status != "cancelled" && a.Status != "noshow" && a.Status != "entered-in-error" {
				v.Upcoming = append(v.Upcoming, s.apptRowOf(a, now))
			}
		}
	}
	s.renderPortal(w, r, http.StatusOK, "portal/home", "My portal", "home", page{}, v)
	return nil
}

// readOwn reads a resource of the patient acted for: it must exist, be
// readable with the user's principal and belong to the patient (its
// subject, patient or beneficiary); anything else is not found.
func (s *server) readOwn(ctx context.Context, pc *portalCtx, typ, id string) (map[string]any, *store.Record, error) {
	if !validID(id) {
		return nil, nil, notFound
	}
	rec, err := s.cfg.Repo.Read(ctx, typ, id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Gone || k == errs.Permission {
			return nil, nil, notFound
		}
		return nil, nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(rec.JSON, &res); err != nil {
		return nil, nil, err
	}
	for _, k := range []string{"subject", "patient", "beneficiary"} {
		if m, ok := res[k].(map[string]any); ok {
			if ref, _ := m["reference"].(string); ref == pc.Ref {
				return res, rec, nil
			}
		}
	}
	return nil, nil, notFound
}

// portalSystem is the context of the bookkeeping a patient may ask for
// but not do under the access policy's patient rules (revoking their own
// share, activating their account): OpenChart acting for them, recorded
// in the audit trail under that name.
func portalSystem(ctx context.Context, what string) context.Context {
	p := access.From(ctx)
	who, src := "visitor", ""
	if p != nil {
		who, src = p.Who(), p.Source
	}
	return access.With(ctx, &access.Principal{Kind: access.System, Username: what + " for " + who, Source: src})
}

// portalSearch runs a search through the Repository with the caller's
// principal.
func (s *server) portalSearch(ctx context.Context, typ string, params url.Values) ([]*store.Record, error) {
	c, err := s.cfg.Search.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Record, 0, len(res.Records))
	for _, rec := range res.Records {
		if rec.Type == typ && !rec.Deleted {
			out = append(out, rec)
		}
	}
	return out, nil
}

func pStr(m map[string]any, k string) string { v, _ := m[k].(string); return v }

func pRef(m map[string]any, k string) string {
	if o, ok := m[k].(map[string]any); ok {
		return pStr(o, "reference")
	}
	return ""
}

func pForm(r *http.Request, k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
