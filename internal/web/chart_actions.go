package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/terminology"
	"github.com/openchart/openchart/internal/visit"
)

// The chart's maintenance actions (docs/WEB-CHART.md, "Changing the
// chart"): record an allergy or "no known allergies", record an
// immunization, resolve a problem, stop a medication and mark the
// medications reconciled. Every write goes through the Repository (or
// the visit service) with the signed-in user's principal, in one
// transaction: the access policy decides, and a refused form stores
// nothing.

const (
	systemRxNorm       = "http://www.nlm.nih.gov/research/umls/rxnorm"
	systemCVX          = "http://hl7.org/fhir/sid/cvx"
	systemSNOMED       = "http://snomed.info/sct"
	systemLOINC        = "http://loinc.org"
	systemAllergyClin  = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	systemAllergyVerif = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	codeNoKnownAllergy = "716186003"
	codeMedHistory     = "10160-0"
)

// actionView is what the maintenance forms show beyond the chart.
type actionView struct {
	Title      string
	Substances []option // RxNorm ingredients matching the typed substance
	Vaccines   []option // CVX codes matching the typed vaccine
	Reconciled *reconciledView
}

// reconciledView is the newest medication reconciliation.
type reconciledView struct{ When, By string }

func (s *server) chartActionRoutes(mux *http.ServeMux) {
	allergies, imms := sectionOf("allergies"), sectionOf("immunizations")
	mux.Handle("GET /patients/{id}/allergies/new", s.user(s.clinicianOnly(s.chartPageIn("action_allergy", allergies, actionLoader(&actionView{Title: "Record an allergy"}, nil)))))
	mux.Handle("POST /patients/{id}/allergies/new", s.user(s.clinicianOnly(s.recordAllergy)))
	mux.Handle("POST /patients/{id}/allergies/none", s.user(s.clinicianOnly(s.recordNoKnownAllergies)))
	mux.Handle("GET /patients/{id}/immunizations/new", s.user(s.clinicianOnly(s.chartPageIn("action_immunization", imms, actionLoader(&actionView{Title: "Record an immunization"}, nil)))))
	mux.Handle("POST /patients/{id}/immunizations/new", s.user(s.clinicianOnly(s.recordImmunization)))
	mux.Handle("POST /patients/{id}/problems/{cond}/resolve", s.user(s.clinicianOnly(s.resolveProblem)))
	mux.Handle("POST /patients/{id}/medications/{med}/stop", s.user(s.clinicianOnly(s.stopMedication)))
	mux.Handle("POST /patients/{id}/medications/reconciled", s.user(s.clinicianOnly(s.markReconciled)))
}

// isClinician reports whether the user acts as a physician or a nurse.
func isClinician(r *http.Request) bool {
	roles := currentRoles(stateOf(r))
	return slices.Contains(roles, auth.RolePhysician) || slices.Contains(roles, auth.RoleNurse)
}

// clinicianOnly answers the 403 page to the roles that may not change a
// chart (the access policy would refuse their writes as well).
func (s *server) clinicianOnly(fn handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !isClinician(r) {
			return errs.E(errs.Permission, "Only physicians and nurses may change the chart.")
		}
		return fn(w, r)
	}
}

// actionLoader gives a form page its view and the field errors of a
// refused submission.
func actionLoader(av *actionView, fe map[string]string) chartLoader {
	return func(r *http.Request, v *chartView, out map[string]string) error {
		v.Action = av
		maps.Copy(out, fe)
		return nil
	}
}

// showForm shows a form page again: with its field errors (400), or with
// the matches of a search (200).
func (s *server) showForm(w http.ResponseWriter, r *http.Request, key, section string, av *actionView, fe map[string]string) error {
	return s.chartPageIn(key, sectionOf(section), actionLoader(av, fe))(w, r)
}

// reference is the user's own resource as a Reference ("Practitioner/1"),
// with the user's name.
func userReference(r *http.Request) map[string]any {
	st := stateOf(r)
	ref := map[string]any{}
	if st.user != nil {
		if st.user.FHIRUser != "" {
			ref["reference"] = st.user.FHIRUser
		}
		ref["display"] = st.user.DisplayName
		if st.user.DisplayName == "" {
			ref["display"] = userName(st.user)
		}
	}
	return ref
}

// parseDay reads a YYYY-MM-DD date that is not in the future; "" means
// none.
func parseDay(v string, now time.Time) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return "", "Enter the date as YYYY-MM-DD (for example 2024-05-01)."
	}
	if d.After(now) {
		return "", "The date cannot be in the future."
	}
	return v, ""
}

// readPatient checks that the patient exists and may be seen: a patient
// the user may not read is answered as missing (the chart's 404).
func (s *server) readPatient(tx *repo.Tx, r *http.Request, id string) error {
	_, err := tx.Read(r.Context(), "Patient", id)
	if errs.KindOf(err) == errs.Permission {
		return errs.E(errs.NotFound, "no such patient")
	}
	return err
}

// chartWriteFailed answers a write the Repository refused: the chart's
// 404 for a patient that is missing or hidden, the error page otherwise.
func (s *server) chartWriteFailed(w http.ResponseWriter, r *http.Request, id string, err error) error {
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Gone:
		return s.chartNotFound(w, r, id)
	}
	return err
}

// createForPatient stores a new resource of the patient id in one
// transaction: the patient must exist and be visible to the user (a
// hidden one is errs.NotFound, which chartWriteFailed answers with the
// chart's 404), and before, when given, runs first in the same
// transaction.
func (s *server) createForPatient(r *http.Request, id string, res map[string]any, before func(tx *repo.Tx) error) error {
	return s.cfg.Repo.InTx(r.Context(), func(tx *repo.Tx) error {
		if err := s.readPatient(tx, r, id); err != nil {
			return err
		}
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		_, err := tx.Create(r.Context(), res, repo.CreateOptions{})
		return err
	})
}

// backToChart ends a maintenance action: msg shown on the next page, which
// is the patient's chart section.
func (s *server) backToChart(w http.ResponseWriter, r *http.Request, id, section, msg string) error {
	s.flash(w, msg)
	http.Redirect(w, r, "/patients/"+id+"/"+section, http.StatusSeeOther)
	return nil
}

// chartPost is a maintenance form posted about a patient's chart.
type chartPost struct {
	id   string     // the patient, from the path
	item string     // the other resource the path names (a problem, a medication), if any
	form url.Values // the posted fields
}

// openPost starts a maintenance form's handler: the patient id of the path
// and, when item names one, the other path value, both valid ids, and the
// posted form. A bad id is answered with the chart's 404 and an unreadable
// form is an error; either way the post is nil and the handler returns err.
func (s *server) openPost(w http.ResponseWriter, r *http.Request, item string) (*chartPost, error) {
	p := &chartPost{id: r.PathValue("id")}
	if item != "" {
		p.item = r.PathValue(item)
	}
	if !validID(p.id) || item != "" && !validID(p.item) {
		return nil, s.chartNotFound(w, r, "")
	}
	if err := r.ParseForm(); err != nil {
		return nil, errs.E(errs.Invalid, "The form could not be read.")
	}
	p.form = r.PostForm
	return p, nil
}

// actionForm is a form page of its own (record an allergy, an
// immunization) being submitted, with the view and the field errors to
// show it again with.
type actionForm struct {
	*chartPost
	page, section string // the form's page and the chart section it belongs to
	view          *actionView
	errs          map[string]string
}

// finder is a form's Find button: the field whose words it searches for,
// the errors for no words and for no match, and the search, which adds its
// matches to the view's choices and reports how many it added.
type finder struct {
	field, empty, none string
	search             func(words string, av *actionView) int
}

// openActionForm opens a form page's submission (openPost) and answers
// its Find button with the form again, showing the matches or why there
// are none. The form is nil when the request was answered; the handler
// then returns err. Otherwise the form is being saved.
func (s *server) openActionForm(w http.ResponseWriter, r *http.Request, page, section, title string, find finder) (*actionForm, error) {
	p, err := s.openPost(w, r, "")
	if p == nil {
		return nil, err
	}
	af := &actionForm{chartPost: p, page: page, section: section, view: &actionView{Title: title}, errs: map[string]string{}}
	if p.form.Get("action") != "find" {
		return af, nil
	}
	switch words := strings.TrimSpace(p.form.Get(find.field)); {
	case words == "":
		af.errs[find.field] = find.empty
	case find.search(words, af.view) == 0:
		af.errs[find.field] = find.none
	}
	return nil, s.showAgain(w, r, af)
}

// showAgain shows a form page again with its field errors (400), or with
// the matches of a search (200).
func (s *server) showAgain(w http.ResponseWriter, r *http.Request, af *actionForm) error {
	return s.showForm(w, r, af.page, af.section, af.view, af.errs)
}

// --- allergies ---

var (
	severities    = []option{{"", "Not stated"}, {"mild", "Mild"}, {"moderate", "Moderate"}, {"severe", "Severe"}}
	criticalities = []option{{"", "Not assessed"}, {"low", "Low"}, {"high", "High"}, {"unable-to-assess", "Unable to assess"}}
	verifications = []option{{"confirmed", "Confirmed"}, {"unconfirmed", "Unconfirmed"}}
)

// SeverityOptions, CriticalityOptions and VerificationOptions are the
// allergy form's choices.
func (v *chartView) SeverityOptions() []option     { return severities }
func (v *chartView) CriticalityOptions() []option  { return criticalities }
func (v *chartView) VerificationOptions() []option { return verifications }

func validOption(opts []option, v string) bool {
	return slices.ContainsFunc(opts, func(o option) bool { return o.Value == v })
}

func (s *server) recordAllergy(w http.ResponseWriter, r *http.Request) error {
	af, err := s.openActionForm(w, r, "action_allergy", "allergies", "Record an allergy", finder{
		field: "substance",
		empty: "Type a substance to find (for example penicillin).",
		none:  "No RxNorm ingredient matches these words: change them, or record the substance as written.",
		search: func(words string, av *actionView) int {
			for _, d := range terminology.RxNorm().SearchIngredients(words, 10) {
				av.Substances = append(av.Substances, option{d.Code, d.Display})
			}
			return len(av.Substances)
		},
	})
	if af == nil {
		return err
	}
	id, f, fe := af.id, af.form, af.errs
	substance := strings.TrimSpace(f.Get("substance"))
	rx := terminology.RxNorm()
	code := map[string]any{}
	if substance == "" {
		fe["substance"] = "Enter the substance (for example penicillin)."
	}
	var coding map[string]any
	if c := strings.TrimSpace(f.Get("substance-code")); c != "" {
		d, ok := rx.Lookup(c)
		if !ok {
			fe["substance"] = "This RxNorm code is not known: find the substance again."
		} else {
			coding = map[string]any{"system": systemRxNorm, "code": d.Code, "display": d.Display}
			if substance == "" {
				substance = d.Display
				delete(fe, "substance")
			}
		}
	} else if substance != "" {
		if c, ok := rx.Ingredient(substance); ok && c.Code != "" {
			coding = map[string]any{"system": systemRxNorm, "code": c.Code, "display": c.Display}
		}
	}
	if coding != nil {
		code["coding"] = []any{coding}
	}
	code["text"] = substance
	reaction := strings.TrimSpace(f.Get("reaction"))
	severity := f.Get("severity")
	if !validOption(severities, severity) {
		fe["severity"] = "Choose mild, moderate or severe."
	} else if severity != "" && reaction == "" {
		fe["reaction"] = "Describe the reaction (for example hives), or leave the severity not stated."
	}
	criticality := f.Get("criticality")
	if !validOption(criticalities, criticality) {
		fe["criticality"] = "Choose low, high or unable to assess."
	}
	verification := f.Get("verification")
	if verification == "" || !validOption(verifications, verification) {
		fe["verification"] = "Choose confirmed or unconfirmed."
	}
	now := time.Now().UTC()
	onset, msg := parseDay(f.Get("onset"), now)
	if msg != "" {
		fe["onset"] = msg
	}
	if len(fe) > 0 {
		return s.showAgain(w, r, af)
	}
	res := map[string]any{
		"resourceType":       "AllergyIntolerance",
		"clinicalStatus":     codeableOf(systemAllergyClin, "active", "Active"),
		"verificationStatus": codeableOf(systemAllergyVerif, verification, upperFirst(verification)),
		"code":               code,
		"patient":            map[string]any{"reference": "Patient/" + id},
		"recordedDate":       now.Format(time.RFC3339),
	}
	if rec := userReference(r); len(rec) > 0 {
		res["recorder"] = rec
	}
	if coding != nil {
		res["category"] = []any{"medication"}
	}
	if criticality != "" {
		res["criticality"] = criticality
	}
	if onset != "" {
		res["onsetDateTime"] = onset
	}
	if reaction != "" {
		re := map[string]any{"manifestation": []any{map[string]any{"text": reaction}}}
		if severity != "" {
			re["severity"] = severity
		}
		res["reaction"] = []any{re}
	}
	// A recorded allergy ends an earlier "no known allergies".
	endNKA := func(tx *repo.Tx) error { return s.endNoKnownAllergies(tx, r, id) }
	if err := s.createForPatient(r, id, res, endNKA); err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	return s.backToChart(w, r, id, "allergies", "Allergy recorded: "+substance+".")
}

func codeableOf(system, code, display string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code, "display": display}}}
}

// activeNoKnownAllergies are the patient's active "no known allergies"
// records.
func (s *server) activeNoKnownAllergies(tx *repo.Tx, r *http.Request, id string) ([]map[string]any, []int64, error) {
	c, err := s.cfg.Search.Compile("AllergyIntolerance", url.Values{
		"patient": {"Patient/" + id}, "code": {systemSNOMED + "|" + codeNoKnownAllergy}}, true)
	if err != nil {
		return nil, nil, err
	}
	res, err := tx.Search(r.Context(), c.Query)
	if err != nil {
		return nil, nil, err
	}
	var out []map[string]any
	var versions []int64
	for _, rec := range res.Records {
		if rec.Type != "AllergyIntolerance" || rec.Deleted {
			continue
		}
		var m map[string]any
		if json.Unmarshal(rec.JSON, &m) != nil {
			continue
		}
		if statusOf(m["clinicalStatus"]) == "inactive" || statusOf(m["clinicalStatus"]) == "resolved" {
			continue
		}
		out = append(out, m)
		versions = append(versions, rec.Version)
	}
	return out, versions, nil
}

func (s *server) endNoKnownAllergies(tx *repo.Tx, r *http.Request, id string) error {
	nkas, versions, err := s.activeNoKnownAllergies(tx, r, id)
	if err != nil {
		return err
	}
	for i, m := range nkas {
		m["clinicalStatus"] = codeableOf(systemAllergyClin, "inactive", "Inactive")
		rid, _ := m["id"].(string)
		if _, err := tx.Update(r.Context(), "AllergyIntolerance", rid, m, repo.UpdateOptions{IfMatch: versions[i]}); err != nil {
			return err
		}
	}
	return nil
}

// statusOf is the first code of a CodeableConcept.
func statusOf(v any) string {
	cc, _ := v.(map[string]any)
	cs, _ := cc["coding"].([]any)
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok {
			if code, _ := m["code"].(string); code != "" {
				return code
			}
		}
	}
	return ""
}

func (s *server) recordNoKnownAllergies(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return s.chartNotFound(w, r, "")
	}
	now := time.Now().UTC()
	res := map[string]any{
		"resourceType":       "AllergyIntolerance",
		"clinicalStatus":     codeableOf(systemAllergyClin, "active", "Active"),
		"verificationStatus": codeableOf(systemAllergyVerif, "confirmed", "Confirmed"),
		"code": map[string]any{"coding": []any{map[string]any{"system": systemSNOMED, "code": codeNoKnownAllergy,
			"display": "No known allergy (situation)"}}, "text": "No known allergies"},
		"patient":      map[string]any{"reference": "Patient/" + id},
		"recordedDate": now.Format(time.RFC3339),
	}
	if rec := userReference(r); len(rec) > 0 {
		res["recorder"] = rec
	}
	sum, err := s.cfg.Chart.Summary(r.Context(), id)
	if err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	if sum.Banner.AllergyStatus != chart.AllergiesNotRecorded {
		return s.backToChart(w, r, id, "allergies", "Nothing was recorded: the chart already lists allergies, or no known allergies.")
	}
	if err := s.createForPatient(r, id, res, nil); err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	return s.backToChart(w, r, id, "allergies", "No known allergies recorded.")
}

// NoAllergiesRecorded: the allergies page offers "No known allergies".
func (v *chartView) NoAllergiesRecorded() bool {
	return v.Banner.AllergyStatus == chart.AllergiesNotRecorded
}

// --- immunizations ---

func (s *server) recordImmunization(w http.ResponseWriter, r *http.Request) error {
	af, err := s.openActionForm(w, r, "action_immunization", "immunizations", "Record an immunization", finder{
		field: "vaccine",
		empty: "Type a vaccine name or CVX code to find.",
		none:  "No CVX vaccine matches these words: change them.",
		search: func(words string, av *actionView) int {
			for _, v := range terminology.CVX().Search(words, 15) {
				if !v.NonVaccine {
					av.Vaccines = append(av.Vaccines, option{v.Code, v.Display + " (CVX " + v.Code + ")"})
				}
			}
			return len(av.Vaccines)
		},
	})
	if af == nil {
		return err
	}
	id, f, fe := af.id, af.form, af.errs
	vaccine := strings.TrimSpace(f.Get("vaccine"))
	cvx := terminology.CVX()
	var vac terminology.Vaccine
	found := false
	code := strings.TrimSpace(f.Get("cvx"))
	if code == "" && vaccine != "" {
		code = vaccine // a CVX code typed as is
	}
	switch {
	case code == "":
		fe["vaccine"] = "Find the vaccine and choose it from the list (or type its CVX code)."
	default:
		if v, ok := cvx.Lookup(code); ok && !v.NonVaccine {
			vac, found = v, true
		} else if ms := cvx.Search(vaccine, 2); f.Get("cvx") == "" && len(ms) == 1 && !ms[0].NonVaccine {
			vac, found = ms[0], true
		} else {
			fe["vaccine"] = "This is not a known CVX vaccine: find the vaccine and choose it from the list."
		}
	}
	now := time.Now().UTC()
	given, msg := parseDay(f.Get("date"), now)
	switch {
	case msg != "":
		fe["date"] = msg
	case given == "":
		fe["date"] = "Enter the date the vaccine was given (YYYY-MM-DD)."
	}
	lot := strings.TrimSpace(f.Get("lot"))
	if len(lot) > 64 {
		fe["lot"] = "The lot number is too long (64 characters at most)."
	}
	site := strings.TrimSpace(f.Get("site"))
	if len(site) > 100 {
		fe["site"] = "The site is too long (100 characters at most)."
	}
	if len(fe) > 0 || !found {
		return s.showAgain(w, r, af)
	}
	res := map[string]any{
		"resourceType": "Immunization",
		"status":       "completed",
		"vaccineCode": map[string]any{"coding": []any{map[string]any{"system": systemCVX, "code": vac.Code, "display": vac.Display}},
			"text": vac.Display},
		"patient":            map[string]any{"reference": "Patient/" + id},
		"occurrenceDateTime": given,
		"recorded":           now.Format(time.RFC3339),
		"primarySource":      true,
	}
	if lot != "" {
		res["lotNumber"] = lot
	}
	if site != "" {
		res["site"] = map[string]any{"text": site}
	}
	if f.Get("performer") == "me" {
		if ref := userReference(r); ref["reference"] != nil {
			res["performer"] = []any{map[string]any{"actor": ref}}
		}
	}
	if err := s.createForPatient(r, id, res, nil); err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	return s.backToChart(w, r, id, "immunizations", "Immunization recorded: "+vac.Display+" on "+given+".")
}

// --- problems ---

func (s *server) resolveProblem(w http.ResponseWriter, r *http.Request) error {
	p, err := s.openPost(w, r, "cond")
	if p == nil {
		return err
	}
	if s.cfg.Visit == nil {
		return notFound
	}
	id, cond := p.id, p.item
	field := "abatement-" + cond
	// The problem must be this patient's.
	rec, err := s.cfg.Repo.Read(r.Context(), "Condition", cond)
	if err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	var c struct {
		Subject struct{ Reference string } `json:"subject"`
		Code    struct{ Text string }      `json:"code"`
	}
	if json.Unmarshal(rec.JSON, &c) != nil || c.Subject.Reference != "Patient/"+id {
		return s.chartNotFound(w, r, id)
	}
	if err := s.cfg.Visit.ResolveProblem(r.Context(), cond, p.form.Get(field)); err != nil {
		if errs.KindOf(err) == errs.Invalid {
			fe := map[string]string{}
			for _, m := range visit.Fields(err) {
				fe[field] = upperFirst(m) + "."
			}
			if len(fe) == 0 {
				fe[field] = messageOf(err)
			}
			return s.showForm(w, r, "problems", "problems", nil, fe)
		}
		return s.chartWriteFailed(w, r, id, err)
	}
	name := c.Code.Text
	if name == "" {
		name = "the problem"
	}
	return s.backToChart(w, r, id, "problems", "Resolved: "+name+".")
}

// --- medications ---

func (s *server) stopMedication(w http.ResponseWriter, r *http.Request) error {
	p, err := s.openPost(w, r, "med")
	if p == nil {
		return err
	}
	id, med := p.id, p.item
	field := "reason-" + med
	reason := strings.TrimSpace(p.form.Get(field))
	switch {
	case reason == "":
		return s.showForm(w, r, "medications", "medications", nil, map[string]string{field: "Give the reason for stopping (for example side effects)."})
	case len(reason) > 500:
		return s.showForm(w, r, "medications", "medications", nil, map[string]string{field: "The reason is too long (500 characters at most)."})
	}
	name := ""
	refused := ""
	err = s.cfg.Repo.InTx(r.Context(), func(tx *repo.Tx) error {
		rec, err := tx.Read(r.Context(), "MedicationRequest", med)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			return err
		}
		if subj, _ := m["subject"].(map[string]any); subj["reference"] != "Patient/"+id {
			return errs.E(errs.NotFound, "no such medication")
		}
		if mc, _ := m["medicationCodeableConcept"].(map[string]any); mc != nil {
			name, _ = mc["text"].(string)
			if name == "" {
				if cs, _ := mc["coding"].([]any); len(cs) > 0 {
					if c0, _ := cs[0].(map[string]any); c0 != nil {
						name, _ = c0["display"].(string)
					}
				}
			}
		}
		if st, _ := m["status"].(string); st != "active" && st != "on-hold" {
			refused = "This medication is not active (" + st + "): nothing was changed."
			return nil
		}
		m["status"] = "stopped"
		m["statusReason"] = map[string]any{"text": reason}
		_, err = tx.Update(r.Context(), "MedicationRequest", med, m, repo.UpdateOptions{IfMatch: rec.Version})
		return err
	})
	if err != nil {
		if errs.KindOf(err) == errs.Precondition || errs.KindOf(err) == errs.Conflict {
			return s.showForm(w, r, "medications", "medications", nil,
				map[string]string{field: "The medication changed while you were stopping it: check it and try again."})
		}
		return s.chartWriteFailed(w, r, id, err)
	}
	if refused != "" {
		return s.showForm(w, r, "medications", "medications", nil, map[string]string{field: refused})
	}
	if name == "" {
		name = "the medication"
	}
	return s.backToChart(w, r, id, "medications", "Stopped: "+name+".")
}

// markReconciled records that the user reviewed the patient's active
// medications: a List (LOINC 10160-0 "History of medication use", mode
// snapshot, status current) of the active medications, dated now, with
// the user as its source. The medications page shows the newest one.
func (s *server) markReconciled(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return s.chartNotFound(w, r, "")
	}
	sum, err := s.cfg.Chart.Summary(r.Context(), id)
	if err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	now := time.Now().UTC()
	list := map[string]any{
		"resourceType": "List",
		"status":       "current",
		"mode":         "snapshot",
		"title":        "Medication reconciliation",
		"code": map[string]any{"coding": []any{map[string]any{"system": systemLOINC, "code": codeMedHistory,
			"display": "History of medication use Narrative"}}, "text": "Medication reconciliation"},
		"subject": map[string]any{"reference": "Patient/" + id},
		"date":    now.Format(time.RFC3339),
	}
	if src := userReference(r); len(src) > 0 {
		list["source"] = src
	}
	var entries []any
	for _, m := range sum.Medications {
		if m.Source.External {
			continue
		}
		entries = append(entries, map[string]any{"item": map[string]any{"reference": m.Type + "/" + m.ID, "display": m.Name}})
	}
	if len(entries) > 0 {
		list["entry"] = entries
	} else {
		list["emptyReason"] = map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "nilknown", "display": "Nil Known"}}}
	}
	err = s.cfg.Repo.InTx(r.Context(), func(tx *repo.Tx) error {
		_, err := tx.Create(r.Context(), list, repo.CreateOptions{})
		return err
	})
	if err != nil {
		return s.chartWriteFailed(w, r, id, err)
	}
	return s.backToChart(w, r, id, "medications", "Medications marked reconciled.")
}

// loadReconciled reads the newest medication reconciliation for the
// medications page; a user who may not read Lists sees none.
func (s *server) loadReconciled(r *http.Request, v *chartView, fe map[string]string) error {
	c, err := s.cfg.Search.Compile("List", url.Values{"subject": {"Patient/" + v.ID}, "code": {systemLOINC + "|" + codeMedHistory},
		"_sort": {"-date"}, "_count": {"1"}}, true)
	if err != nil {
		return err
	}
	res, err := s.cfg.Repo.Search(r.Context(), c.Query)
	if err != nil {
		if errs.KindOf(err) == errs.Permission {
			return nil
		}
		return err
	}
	for _, rec := range res.Records {
		if rec.Type != "List" || rec.Deleted {
			continue
		}
		var l struct {
			Date   string `json:"date"`
			Source struct {
				Display   string `json:"display"`
				Reference string `json:"reference"`
			} `json:"source"`
		}
		if json.Unmarshal(rec.JSON, &l) != nil {
			continue
		}
		when := l.Date
		if t, err := time.Parse(time.RFC3339, l.Date); err == nil {
			when = t.UTC().Format("2006-01-02 15:04 UTC")
		}
		by := l.Source.Display
		if by == "" {
			by = l.Source.Reference
		}
		v.Action = &actionView{Reconciled: &reconciledView{When: when, By: by}}
		break
	}
	return nil
}
