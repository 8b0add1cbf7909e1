package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
)

// Release to the patient (docs/WEB-CHART.md, "Withholding from the
// patient"). Notes, reports and results are released to the patient
// portal as soon as they are recorded; a physician or nurse may withhold
// one under an exception of the information-blocking rule, with a reason,
// and release it again. The Repository keeps the rule (repo.Withhold,
// docs/ACCESS.md): these pages only offer it. The documents and results
// pages show staff a "Withheld from patient portal" marker on what is
// withheld, with the exception, the reason, who and when.

// releaseView is what the chart pages know about release: the withheld
// items of the page's types, and the withhold form.
type releaseView struct {
	Withheld map[string]*withheldView // by "Type/id"
	CSRF     string
	Form     *releaseForm
}

// withheldView is one withheld item.
type withheldView struct {
	Version                 int64
	Exception, Reason, ByAt string
}

// releaseForm is the withhold form of one item.
type releaseForm struct {
	Type, Kind, ID, Title, What string
	Version                     int64
	Section                     string // the chart section the item is listed in
	Exceptions                  []option
	Current                     *withheldView // the item is withheld already: the form changes its reason
}

// releaseItem is the data of the "release" partial: one item of a list.
type releaseItem struct {
	PatientID, Type, ID, Label, CSRF string
	// Action is the link's text ("Withhold from patient").
	Action    string
	Clinician bool
	Withheld  *withheldView
}

// releaseSections are the types the pages list, with the section that
// shows them.
var releaseSections = map[string]string{
	"Composition":       "documents",
	"DocumentReference": "documents",
	"DiagnosticReport":  "results",
	"Observation":       "results",
}

// releaseTypePaths are the types as they appear in the pages' URLs.
var releaseTypePaths = map[string]string{
	"note":     "Composition",
	"document": "DocumentReference",
	"report":   "DiagnosticReport",
	"result":   "Observation",
}

func releasePath(typ string) string {
	for p, t := range releaseTypePaths {
		if t == typ {
			return p
		}
	}
	return ""
}

func (s *server) chartReleaseRoutes(mux *http.ServeMux) {
	mux.Handle("GET /patients/{id}/release/{kind}/{rid}", s.user(s.clinicianOnly(s.withholdPage)))
	mux.Handle("POST /patients/{id}/release/{kind}/{rid}/withhold", s.user(s.clinicianOnly(s.withholdSubmit)))
	mux.Handle("POST /patients/{id}/release/{kind}/{rid}/release", s.user(s.clinicianOnly(s.releaseSubmit)))
}

// withReleases adds to a section's loader the withheld items of types,
// for staff: one search per type by patient and label.
func (s *server) withReleases(load chartLoader, types ...string) chartLoader {
	return func(r *http.Request, v *chartView, fe map[string]string) error {
		if load != nil {
			if err := load(r, v, fe); err != nil {
				return err
			}
		}
		if v.Release == nil {
			v.Release = &releaseView{}
		}
		if st := stateOf(r); st.session != nil {
			v.Release.CSRF = st.session.CSRF
		}
		v.Release.Withheld = map[string]*withheldView{}
		if !v.Staff {
			return nil
		}
		for _, typ := range types {
			recs, err := s.searchAll(r.Context(), typ, url.Values{
				"patient":   {"Patient/" + v.ID},
				"_security": {repo.ReleaseSystem + "|" + repo.WithheldCode},
			})
			if err != nil {
				return err
			}
			for _, rec := range recs {
				if w := withheldOf(rec.Version, rec.JSON); w != nil {
					v.Release.Withheld[typ+"/"+rec.ID] = w
				}
			}
		}
		return nil
	}
}

// withheldOf reads the withhold label of a resource's JSON.
func withheldOf(version int64, raw []byte) *withheldView {
	w := repo.WithholdingOf(raw)
	if w == nil {
		return nil
	}
	v := &withheldView{Version: version, Reason: w.Reason, Exception: w.Exception}
	if ex, ok := repo.ExceptionOf(w.Exception); ok {
		v.Exception = ex.Display
	}
	by := w.ByName
	if by == "" {
		by = w.By
	}
	switch typ, _, _ := strings.Cut(w.With, "/"); typ {
	case "DiagnosticReport":
		v.Reason = "Withheld with its report. " + v.Reason
	case "Composition":
		v.Reason = "Withheld with its note. " + v.Reason
	}
	var parts []string
	if by != "" {
		parts = append(parts, "by "+by)
	}
	if !w.At.IsZero() {
		parts = append(parts, "on "+w.At.UTC().Format("2006-01-02 15:04 UTC"))
	}
	v.ByAt = strings.Join(parts, " ")
	return v
}

// ReleaseOf is the "release" partial's data for typ/id, named label on the
// page (for the accessible names of its controls).
func (v *chartView) ReleaseOf(typ, id, label string) releaseItem {
	it := releaseItem{PatientID: v.ID, Type: releasePath(typ), ID: id, Label: label, Clinician: v.Clinician, Action: "Withhold from patient"}
	if v.Release != nil {
		it.CSRF = v.Release.CSRF
		it.Withheld = v.Release.Withheld[typ+"/"+id]
	}
	if it.Label == "" {
		it.Label = "this item"
	}
	return it
}

// ReleaseOfPanel is ReleaseOf for a lab panel's DiagnosticReport, shown
// under its table: the link says it concerns the whole panel.
func (v *chartView) ReleaseOfPanel(id, label string) releaseItem {
	it := v.ReleaseOf("DiagnosticReport", id, label)
	it.Action = "Withhold the whole panel from patient"
	return it
}

// releaseTarget reads the item of a withhold or release request with the
// user's principal and checks that it is the patient's: a missing or
// hidden item, or another patient's, is the chart's 404.
func (s *server) releaseTarget(w http.ResponseWriter, r *http.Request) (*releaseForm, bool, error) {
	id, rid := r.PathValue("id"), r.PathValue("rid")
	typ := releaseTypePaths[r.PathValue("kind")]
	if !validID(id) || !validID(rid) || typ == "" {
		return nil, false, s.chartNotFound(w, r, "")
	}
	rec, err := s.cfg.Repo.Read(r.Context(), typ, rid)
	if err != nil {
		return nil, false, s.chartWriteFailed(w, r, id, err)
	}
	var doc struct {
		Subject     reference `json:"subject"`
		Title       string    `json:"title"`
		Description string    `json:"description"`
		Type        codeable  `json:"type"`
		Code        codeable  `json:"code"`
	}
	if json.Unmarshal(rec.JSON, &doc) != nil || doc.Subject.Reference != "Patient/"+id {
		return nil, false, s.chartNotFound(w, r, id)
	}
	f := &releaseForm{Type: typ, Kind: r.PathValue("kind"), ID: rid, Version: rec.Version, Section: releaseSections[typ], Current: withheldOf(rec.Version, rec.JSON)}
	switch typ {
	case "Composition":
		f.What, f.Title = "note", firstOf(doc.Title, doc.Type.String(), "Note")
	case "DocumentReference":
		f.What, f.Title = "document", firstOf(doc.Type.String(), doc.Description, "Document")
	case "DiagnosticReport":
		f.What, f.Title = "report", firstOf(doc.Code.String(), "Report")
	default:
		f.What, f.Title = "result", firstOf(doc.Code.String(), "Result")
	}
	f.Exceptions = []option{{"", "Choose the exception"}}
	for _, ex := range repo.Exceptions {
		f.Exceptions = append(f.Exceptions, option{ex.Code, ex.Display})
	}
	return f, true, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// showWithhold shows the withhold form, with the field errors of a
// refused submission.
func (s *server) showWithhold(w http.ResponseWriter, r *http.Request, f *releaseForm, fe map[string]string) error {
	return s.chartPageIn("release", sectionOf(f.Section), func(r *http.Request, v *chartView, out map[string]string) error {
		v.Release = &releaseView{Form: f}
		v.Action = &actionView{Title: "Withhold a " + f.What + " from the patient"}
		for k, m := range fe {
			out[k] = m
		}
		return nil
	})(w, r)
}

func (s *server) withholdPage(w http.ResponseWriter, r *http.Request) error {
	f, ok, err := s.releaseTarget(w, r)
	if !ok {
		return err
	}
	return s.showWithhold(w, r, f, nil)
}

func (s *server) withholdSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.Invalid, "The form could not be read.")
	}
	f, ok, err := s.releaseTarget(w, r)
	if !ok {
		return err
	}
	fe := map[string]string{}
	exception, reason := r.PostForm.Get("exception"), strings.TrimSpace(r.PostForm.Get("reason"))
	if _, ok := repo.ExceptionOf(exception); !ok {
		fe["exception"] = "Choose the exception that applies."
	}
	switch {
	case reason == "":
		fe["reason"] = "Give the reason, for the record (the patient does not see it)."
	case len([]rune(reason)) > repo.MaxWithholdReason:
		fe["reason"] = "Keep the reason within " + strconv.Itoa(repo.MaxWithholdReason) + " characters."
	}
	version, verr := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if verr != nil || version < 1 {
		return errs.E(errs.Invalid, "The form could not be read.")
	}
	if len(fe) > 0 {
		return s.showWithhold(w, r, f, fe)
	}
	ref := userReference(r)
	by, _ := ref["reference"].(string)
	name, _ := ref["display"].(string)
	_, err = s.cfg.Repo.Withhold(r.Context(), f.Type, f.ID, version, repo.Withholding{Exception: exception, Reason: reason, By: by, ByName: name})
	switch {
	case errs.KindOf(err) == errs.Precondition:
		fe["version"] = "The " + f.What + " changed since this form was shown: check it below and withhold it again."
		return s.showWithhold(w, r, f, fe)
	case errs.KindOf(err) == errs.Invalid:
		for _, is := range errs.IssuesOf(err) {
			for _, ex := range is.Expression {
				fe[ex] = is.Diagnostics
			}
		}
		if len(fe) == 0 {
			return err
		}
		return s.showWithhold(w, r, f, fe)
	case err != nil:
		return s.chartWriteFailed(w, r, r.PathValue("id"), err)
	}
	s.flash(w, "Withheld from the patient portal: "+f.Title+".")
	http.Redirect(w, r, "/patients/"+r.PathValue("id")+"/"+f.Section, http.StatusSeeOther)
	return nil
}

func (s *server) releaseSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.Invalid, "The form could not be read.")
	}
	f, ok, err := s.releaseTarget(w, r)
	if !ok {
		return err
	}
	version, verr := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if verr != nil || version < 1 {
		return errs.E(errs.Invalid, "The form could not be read.")
	}
	back := "/patients/" + r.PathValue("id") + "/" + f.Section
	_, err = s.cfg.Repo.Release(r.Context(), f.Type, f.ID, version)
	switch {
	case errs.KindOf(err) == errs.Precondition:
		s.flash(w, "Not released: the "+f.What+" changed since the page was shown. Check it and release it again.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	case err != nil:
		return s.chartWriteFailed(w, r, r.PathValue("id"), err)
	}
	s.flash(w, "Released to the patient portal: "+f.Title+".")
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
