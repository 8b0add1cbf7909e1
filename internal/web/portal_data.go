package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// A share is a privacy Consent the access policy honours (docs/ACCESS.md):
// status active, scope patient-privacy, category LOINC 59284-0, the
// patient, and a permit provision whose actor is the organization.
const (
	consentScopeSystem = "http://terminology.hl7.org/CodeSystem/consentscope"
	loincSystem        = "http://loinc.org"
	consentActorRole   = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
)

type pShare struct {
	ID, Organization, OrgName, Since string
}

type portalDataView struct {
	Shares []pShare
	Orgs   []option
	Apps   []pApp
}

func (s *server) portalData(w http.ResponseWriter, r *http.Request) error {
	return s.dataPage(w, r, http.StatusOK, page{})
}

func (s *server) dataPage(w http.ResponseWriter, r *http.Request, status int, p page) error {
	pc := portalOf(r)
	ctx := r.Context()
	recs, err := s.portalSearch(ctx, "Consent", url.Values{"patient": {pc.Ref}, "status": {"active"}, "_count": {"100"}})
	if err != nil {
		return err
	}
	names := map[string]string{}
	orgs, err := s.portalSearch(ctx, "Organization", url.Values{"_count": {"200"}, "_sort": {"name"}})
	if err != nil {
		return err
	}
	v := portalDataView{}
	if v.Apps, err = s.portalApps(ctx, pc); err != nil {
		return err
	}
	for _, o := range orgs {
		var res map[string]any
		if json.Unmarshal(o.JSON, &res) != nil {
			continue
		}
		name := pStr(res, "name")
		if name == "" {
			name = o.ID
		}
		names["Organization/"+o.ID] = name
		v.Orgs = append(v.Orgs, option{Value: o.ID, Label: name})
	}
	for _, rec := range recs {
		var res map[string]any
		if json.Unmarshal(rec.JSON, &res) != nil || !isShare(res, pc.Ref) {
			continue
		}
		org := shareActor(res)
		v.Shares = append(v.Shares, pShare{ID: rec.ID, Organization: org, OrgName: names[org],
			Since: shareDay(pStr(res, "dateTime"))})
	}
	s.renderPortal(w, r, status, "portal/data", "My data", "data", p, v)
	return nil
}

// shareDay is the day of a Consent's dateTime ("2026-11-25").
func shareDay(dt string) string {
	if len(dt) > 10 {
		return dt[:10]
	}
	return dt
}

// isShare reports whether a Consent is a share of the patient made
// through the portal's rule: active privacy consent permitting an actor.
func isShare(res map[string]any, patient string) bool {
	if pStr(res, "status") != "active" || pRef(res, "patient") != patient {
		return false
	}
	prov, _ := res["provision"].(map[string]any)
	return prov != nil && pStr(prov, "type") == "permit" && shareActor(res) != ""
}

// shareActor is the organization a Consent's provision permits.
func shareActor(res map[string]any) string {
	prov, _ := res["provision"].(map[string]any)
	actors, _ := prov["actor"].([]any)
	for _, a := range actors {
		if m, ok := a.(map[string]any); ok {
			if ref := pRef(m, "reference"); strings.HasPrefix(ref, "Organization/") {
				return ref
			}
		}
	}
	return ""
}

func (s *server) portalShare(w http.ResponseWriter, r *http.Request) error {
	pc := portalOf(r)
	ctx := r.Context()
	org := pForm(r, "organization")
	fail := func(msg string) error {
		return s.dataPage(w, r, http.StatusBadRequest, page{Form: url.Values{"organization": {org}},
			Errors: map[string]string{"organization": msg}, Error: "Your record was not shared: see the messages below."})
	}
	if org == "" || !validID(org) {
		return fail("Choose the organization to share your record with.")
	}
	if _, err := s.cfg.Repo.Read(ctx, "Organization", org); err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Gone || k == errs.Permission {
			return fail("Choose an organization from the list.")
		}
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	res := map[string]any{
		"resourceType": "Consent",
		"status":       "active",
		"scope": map[string]any{"coding": []any{map[string]any{"system": consentScopeSystem, "code": "patient-privacy"}},
			"text": "Privacy consent"},
		"category": []any{map[string]any{"coding": []any{map[string]any{"system": loincSystem, "code": "59284-0",
			"display": "Patient Consent"}}}},
		"patient":   map[string]any{"reference": pc.Ref},
		"dateTime":  now,
		"performer": []any{map[string]any{"reference": performerRef(pc)}},
		"policyRule": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
			"code": "OPTIN"}}},
		"provision": map[string]any{
			"type":   "permit",
			"period": map[string]any{"start": now},
			"actor": []any{map[string]any{
				"role": map[string]any{"coding": []any{map[string]any{"system": consentActorRole, "code": "IRCP",
					"display": "information recipient"}}},
				"reference": map[string]any{"reference": "Organization/" + org},
			}},
		},
	}
	if _, err := s.cfg.Repo.Create(ctx, res, repo.CreateOptions{}); err != nil {
		if k := errs.KindOf(err); k == errs.Invalid || k == errs.Permission {
			return fail("Your record could not be shared: " + messageOf(err))
		}
		return err
	}
	s.flash(w, "Your record is now shared. You can stop sharing at any time.")
	http.Redirect(w, r, "/portal/data", http.StatusSeeOther)
	return nil
}

// performerRef is who gives the consent: the patient, or the proxy acting
// for them.
func performerRef(pc *portalCtx) string {
	if pc.User.FHIRUser != "" {
		return pc.User.FHIRUser
	}
	return pc.Ref
}

// portalRevoke ends a share: the Consent, read with the user's own
// principal and checked to be the patient's, becomes inactive. The
// policy's patient rules let a patient create a Consent but not update
// one; the update is written as OpenChart acting for the user.
func (s *server) portalRevoke(w http.ResponseWriter, r *http.Request) error {
	pc := portalOf(r)
	res, rec, err := s.readOwn(r.Context(), pc, "Consent", r.PathValue("id"))
	if err != nil {
		return err
	}
	if !isShare(res, pc.Ref) {
		return notFound
	}
	res["status"] = "inactive"
	if prov, ok := res["provision"].(map[string]any); ok {
		if per, ok := prov["period"].(map[string]any); ok {
			per["end"] = time.Now().UTC().Format(time.RFC3339)
		}
	}
	if _, err := s.cfg.Repo.Update(portalSystem(r.Context(), "sharing"), "Consent", rec.ID, res,
		repo.UpdateOptions{IfMatch: rec.Version}); err != nil {
		return err
	}
	s.flash(w, "You stopped sharing your record with "+s.orgName(r, shareActor(res))+".")
	http.Redirect(w, r, "/portal/data", http.StatusSeeOther)
	return nil
}

func (s *server) orgName(r *http.Request, ref string) string {
	id := strings.TrimPrefix(ref, "Organization/")
	rec, err := s.cfg.Repo.Read(r.Context(), "Organization", id)
	if err != nil {
		return ref
	}
	var res map[string]any
	if json.Unmarshal(rec.JSON, &res) != nil || pStr(res, "name") == "" {
		return ref
	}
	return pStr(res, "name")
}

// portalDownload is the whole record as one FHIR Bundle: the pages of the
// API's Patient/$everything (run in-process with the user's principal)
// joined into one searchset.
func (s *server) portalDownload(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.FHIR == nil {
		return notFound
	}
	pc := portalOf(r)
	base := s.origin(r) + "/fhir"
	var entries []any
	var bundle map[string]any
	for offset := 0; ; {
		resp := s.cfg.FHIR.Handle(r.Context(), &fhirapi.Request{Method: "GET", Type: "Patient", ID: pc.Patient,
			Operation: "everything", Base: base,
			Query: url.Values{"_count": {"1000"}, "_offset": {strconv.Itoa(offset)}}})
		if resp.Status != http.StatusOK {
			if resp.Status == http.StatusNotFound || resp.Status == http.StatusForbidden {
				return notFound
			}
			return errs.E(errs.Internal, "record download: status "+strconv.Itoa(resp.Status))
		}
		var b map[string]any
		if err := json.Unmarshal(resp.Body, &b); err != nil {
			return err
		}
		page, _ := b["entry"].([]any)
		entries = append(entries, page...)
		if bundle == nil {
			bundle = b
		}
		total, _ := b["total"].(float64)
		offset += len(page)
		if len(page) == 0 || offset >= int(total) {
			break
		}
	}
	bundle["entry"] = entries
	bundle["link"] = []any{map[string]any{"relation": "self", "url": base + "/Patient/" + pc.Patient + "/$everything"}}
	if len(entries) == 0 {
		delete(bundle, "entry")
	}
	out, err := json.MarshalIndent(bundle, "", "  ")
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Disposition", `attachment; filename="my-health-record.json"`)
	h.Set("Cache-Control", "no-store")
	w.Write(out)
	return nil
}

type portalSummaryView struct {
	Summary *chart.Summary
	Results []portalGroup
	Printed string
}

// portalSummary is the readable, printable record.
func (s *server) portalSummary(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Chart == nil {
		return notFound
	}
	pc := portalOf(r)
	sum, err := s.cfg.Chart.Summary(r.Context(), pc.Patient)
	if err != nil {
		return err
	}
	res, err := s.cfg.Chart.Results(r.Context(), pc.Patient, chart.ResultFilter{})
	if err != nil {
		return err
	}
	v := portalSummaryView{Summary: sum, Printed: time.Now().UTC().Format("2 January 2006, 15:04 UTC")}
	for _, g := range res.Groups {
		gv := portalGroup{Title: g.Title, Date: g.Date.Day()}
		for _, o := range g.Rows {
			gv.Rows = append(gv.Rows, portalResultRow(o))
		}
		v.Results = append(v.Results, gv)
	}
	s.renderPortal(w, r, http.StatusOK, "portal/summary", "My health summary", "data", page{}, v)
	return nil
}

// pAccess is one entry of the "who viewed my record" report.
type pAccess struct {
	When, Who, Organization, What, Outcome, Reason string
	BreakGlass                                     bool
	Times                                          int // identical entries of the same minute
}

// interactionWords says what an audited interaction was, in plain words.
var interactionWords = map[string]string{
	"read": "Opened", "vread": "Opened an earlier version", "search": "Searched or listed",
	"create": "Added", "update": "Changed", "patch": "Changed", "delete": "Removed",
	"history": "Looked at the history", "export": "Exported", "operation": "Ran an operation",
}

// portalAccess lists who accessed the patient's record, from the audit
// trail, newest first: every entry about the patient, except the user's
// own. The report is read as OpenChart for the user, filtered by the
// session's patient only.
func (s *server) portalAccess(w http.ResponseWriter, r *http.Request) error {
	pc := portalOf(r)
	ctx := portalSystem(r.Context(), "access report")
	pg, err := s.cfg.Repo.AuditReport(ctx, store.AuditQuery{Patient: pc.Patient, Count: 200,
		Sort: []store.AuditSort{{Key: store.AuditByTime, Desc: true}}})
	if err != nil {
		return err
	}
	var rows []pAccess
	names := map[string]string{}
	name := func(ref string) string {
		if ref == "" {
			return ""
		}
		if n, ok := names[ref]; ok {
			return n
		}
		n := ref
		if typ, id, ok := strings.Cut(ref, "/"); ok && validID(id) {
			if rec, err := s.cfg.Repo.Read(r.Context(), typ, id); err == nil {
				var res map[string]any
				if json.Unmarshal(rec.JSON, &res) == nil {
					if v := pStr(res, "name"); v != "" {
						n = v
					} else if v := patientRowOf(rec).Name; v != "" && v != "(unreadable record)" {
						n = v
					}
				}
			}
		}
		names[ref] = n
		return n
	}
	for _, row := range pg.Rows {
		e, err := row.Entry()
		if err != nil {
			continue
		}
		a := e.Agent
		if a.UserID == pc.User.ID || strings.HasSuffix(a.Username, " for "+access.User.String()+":"+pc.User.Username) {
			continue // the user's own use of the portal
		}
		who := a.Username
		if a.Kind == access.System.String() || a.Kind == access.Operator.String() {
			who = "OpenChart (automatic)"
		}
		if a.ClientID != "" && a.Username == "" {
			who = "App " + a.ClientID
		}
		if a.FHIRUser != "" {
			who = name(a.FHIRUser) + " (" + who + ")"
		}
		what := interactionWords[e.Interaction]
		if what == "" {
			what = e.Interaction
		}
		var types []string
		for _, en := range e.Entities {
			if en.Type != "" && !containsStr(types, en.Type) {
				types = append(types, en.Type)
			}
		}
		if len(types) > 0 {
			what += ": " + strings.Join(types, ", ")
		}
		outcome := "Allowed"
		if e.Outcome != 0 {
			outcome = "Refused"
		}
		ra := pAccess{When: e.Recorded.UTC().Format("2006-01-02 15:04 UTC"), Who: who,
			Organization: name(a.Organization), What: what, Outcome: outcome,
			BreakGlass: a.BreakGlassPatient == pc.Patient, Reason: a.BreakGlassReason, Times: 1}
		if n := len(rows); n > 0 {
			last := &rows[n-1]
			if last.When == ra.When && last.Who == ra.Who && last.Organization == ra.Organization && last.What == ra.What &&
				last.Outcome == ra.Outcome && last.BreakGlass == ra.BreakGlass {
				last.Times++
				continue
			}
		}
		rows = append(rows, ra)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].BreakGlass && !rows[j].BreakGlass })
	s.renderPortal(w, r, http.StatusOK, "portal/access", "Who viewed my record", "access", page{}, rows)
	return nil
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
