package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/terminology"
	"github.com/openchart/openchart/internal/visit"
)

// The visit pages: start a visit, then one page with a section per step
// (vital signs, the SOAP note, diagnoses, orders, prescribing, signing),
// each section a form posted to its own address. Every step is a call of
// internal/visit with the signed-in user's principal; a refused step
// shows the page again with each message next to its field, and stores
// nothing (the service checks everything before it writes).

// visitRoutes registers the visit's pages.
func (s *server) visitRoutes(mux *http.ServeMux) {
	mux.Handle("GET /patients/{id}/visits/new", s.user(s.visitNewPage))
	mux.Handle("POST /patients/{id}/visits", s.user(s.visitStart))
	mux.Handle("GET /patients/{id}/visits/{enc}", s.user(s.visitPage))
	mux.Handle("GET /patients/{id}/visits/{enc}/print", s.user(s.visitPrint))
	mux.Handle("POST /patients/{id}/visits/{enc}/vitals", s.user(s.visitVitals))
	mux.Handle("POST /patients/{id}/visits/{enc}/note", s.user(s.visitNote))
	mux.Handle("POST /patients/{id}/visits/{enc}/addendum", s.user(s.visitAddendum))
	mux.Handle("POST /patients/{id}/visits/{enc}/amend", s.user(s.visitAmend))
	mux.Handle("POST /patients/{id}/visits/{enc}/diagnoses", s.user(s.visitDiagnosis))
	mux.Handle("POST /patients/{id}/visits/{enc}/orders/lab", s.user(s.visitLab))
	mux.Handle("POST /patients/{id}/visits/{enc}/orders/imaging", s.user(s.visitImaging))
	mux.Handle("POST /patients/{id}/visits/{enc}/orders/referral", s.user(s.visitReferral))
	mux.Handle("POST /patients/{id}/visits/{enc}/prescriptions", s.user(s.visitPrescribe))
	mux.Handle("POST /patients/{id}/visits/{enc}/finish", s.user(s.visitFinish))
	mux.Handle("GET /visits/codes/{system}", s.user(s.visitCodes))
}

// visitService is the visit service, or a 404 when the server has none.
func (s *server) visitService() (*visit.Service, error) {
	if s.cfg.Visit == nil {
		return nil, notFound
	}
	return s.cfg.Visit, nil
}

// visReadVisible reads a record through the Repository; a record the user
// may not see is answered like a missing one.
func (s *server) visReadVisible(ctx context.Context, typ, id string) (*store.Record, error) {
	if !validID(id) {
		return nil, notFound
	}
	rec, err := s.cfg.Repo.Read(ctx, typ, id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.Permission || k == errs.NotFound || k == errs.Gone {
			return nil, notFound
		}
		return nil, err
	}
	if rec.Deleted {
		return nil, notFound
	}
	return rec, nil
}

// search runs a FHIR search through the Repository with the user's
// principal.
func (s *server) visitSearch(ctx context.Context, typ string, params url.Values) ([]*store.Record, error) {
	c, err := s.cfg.Search.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		if errs.KindOf(err) == errs.Permission {
			return nil, nil // a type the user may not read: nothing to show
		}
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

func visHasRole(r *http.Request, role string) bool {
	return slices.Contains(currentRoles(stateOf(r)), role)
}

// ---- starting a visit ----

type visitStartView struct {
	Patient     string
	PatientName string
	Types       []option
	Appointment string
	// Open are the patient's visits in progress, to open instead of
	// starting another.
	Open []visOpenVisit
}

type visOpenVisit struct{ ID, Type, Reason, Started string }

func (s *server) visitNewPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.visitService(); err != nil {
		return err
	}
	v, err := s.visitStartView(r)
	if err != nil {
		return err
	}
	form := url.Values{"type": {"checkup"}, "appointment": {r.URL.Query().Get("appointment")}}
	if p := access.From(r.Context()); p != nil && strings.HasPrefix(p.FHIRUser, "Practitioner/") {
		form.Set("practitioner", p.FHIRUser)
	}
	s.render(w, r, http.StatusOK, "visitnew", page{Title: "Start a visit", Data: v, Form: form})
	return nil
}

func (s *server) visitStartView(r *http.Request) (visitStartView, error) {
	id := r.PathValue("id")
	rec, err := s.visReadVisible(r.Context(), "Patient", id)
	if err != nil {
		return visitStartView{}, err
	}
	v := visitStartView{Patient: id, PatientName: patientRowOf(rec).Name}
	encs, err := s.visitSearch(r.Context(), "Encounter", url.Values{"patient": {"Patient/" + id}, "status": {"in-progress"}, "_count": {"20"}})
	if err != nil {
		return visitStartView{}, err
	}
	for _, rec := range encs {
		var enc visEncounterJSON
		if json.Unmarshal(rec.JSON, &enc) != nil {
			continue
		}
		ov := visOpenVisit{ID: rec.ID, Reason: enc.reason(), Started: visShortTime(enc.Period.Start)}
		if len(enc.Type) > 0 {
			ov.Type = enc.Type[0].label()
		}
		v.Open = append(v.Open, ov)
	}
	for _, t := range visit.VisitTypes() {
		v.Types = append(v.Types, option{t.ID, t.Label})
	}
	return v, nil
}

func (s *server) visitStart(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.visitService()
	if err != nil {
		return err
	}
	v, err := s.visitStartView(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	req := visit.StartRequest{
		Patient:      "Patient/" + v.Patient,
		Practitioner: strings.TrimSpace(f.Get("practitioner")),
		Location:     strings.TrimSpace(f.Get("location")),
		Type:         f.Get("type"),
		Reason:       strings.TrimSpace(f.Get("reason")),
		Appointment:  strings.TrimSpace(f.Get("appointment")),
		Virtual:      f.Get("virtual") == "yes",
	}
	enc, err := svc.Start(r.Context(), req)
	if err == nil {
		s.flash(w, "The visit has started.")
		http.Redirect(w, r, visitPath(v.Patient, enc), http.StatusSeeOther)
		return nil
	}
	fe, msg, ok := visitFormErrors(err, "")
	if !ok {
		return err
	}
	if msg == "" {
		msg = "The visit was not started: see the messages below."
	}
	s.render(w, r, http.StatusBadRequest, "visitnew", page{Title: "Start a visit", Data: v, Form: f, Errors: fe, Error: msg})
	return nil
}

func visitPath(patient, enc string) string {
	return "/patients/" + url.PathEscape(patient) + "/visits/" + url.PathEscape(strings.TrimPrefix(enc, "Encounter/"))
}

// visDefaults are the choices a visit page's forms start with.
var visDefaults = map[string]string{"v-weightUnit": "kg", "v-heightUnit": "cm", "v-tempUnit": "C", "rx-freqUnit": "day",
	"lab-priority": "routine", "img-priority": "routine", "ref-priority": "routine"}

// visitFormErrors turns a refused step into messages: the field errors
// (each key prefixed with the form's prefix) and a message for the whole
// form. ok is false for errors that are not about the input (a missing
// record, a refusal), which the error page shows.
func visitFormErrors(err error, prefix string) (fe map[string]string, msg string, ok bool) {
	fe = map[string]string{}
	switch errs.KindOf(err) {
	case errs.Invalid:
		fields := visit.Fields(err)
		if len(fields) == 0 && len(visit.Alerts(err)) == 0 {
			return fe, messageOf(err), true
		}
		for k, m := range fields {
			if k == "encounter" || k == "note" && prefix == "n-" || k == "composition" || k == "signer" || k == "author" {
				msg = upperFirst(m) + "."
				continue
			}
			fe[prefix+visitFieldName(k)] = upperFirst(m) + "."
		}
		return fe, msg, true
	case errs.Conflict:
		return fe, messageOf(err), true
	}
	return nil, "", false
}

// visitFieldName maps a service field to the form's input: the vital
// signs in either unit share one input and its unit choice.
func visitFieldName(k string) string {
	switch k {
	case "weightKg", "weightLb":
		return "weight"
	case "heightCm", "heightIn":
		return "height"
	case "tempC", "tempF":
		return "temp"
	}
	return k
}

// ---- the visit page ----

type visitView struct {
	Patient      string
	PatientName  string
	BirthDate    string
	Sex          string
	MRN          string
	Encounter    string
	Status       string
	Open         bool
	Type         string
	Reason       string
	Started      string
	Ended        string
	Practitioner string

	Physician bool // may prescribe and sign
	Nurse     bool

	Vitals        []visVitalRow
	BMI           string
	Templates     []visit.Template
	Template      visit.Template
	Draft         bool
	DraftNote     visit.Note
	Signed        bool
	Documents     []visit.Document
	Diagnoses     []visDiagnosisRow
	Orders        []visOrderRow
	Prescriptions []visRxRow

	Routes, DoseUnits, Priorities, FreqUnits []option
	TemplateOptions                          []option
	TempUnits, WeightUnits, HeightUnits      []option

	// After a safety check: the alerts of the proposed prescription.
	Checked bool
	Alerts  []visAlertView

	// Section names the form the last submission came from, and
	// SectionError its message.
	Section      string
	SectionError string
}

type visVitalRow struct{ Label, Value, When string }
type visDiagnosisRow struct{ Code, Display, Onset, Rank, Category string }
type visOrderRow struct{ Kind, What, Priority, Status, Detail string }
type visRxRow struct {
	Drug, Dosage, Dispense, Status string
	Overrides                      []string
}
type visAlertView struct {
	Index                                        int
	ID, Severity, Code, Message, Source, Related string
	Reason, Error                                string
}

var visPriorities = []option{{"routine", "Routine"}, {"urgent", "Urgent"}, {"asap", "As soon as possible"}, {"stat", "Immediately (stat)"}}
var visFreqUnits = []option{{"day", "times a day"}, {"hours", "every N hours"}, {"prn", "only as needed"}}

func visSortedOptions(keys []string, label func(string) string) []option {
	sort.Strings(keys)
	out := make([]option, 0, len(keys)+1)
	out = append(out, option{"", "Choose…"})
	for _, k := range keys {
		out = append(out, option{k, label(k)})
	}
	return out
}

var visRouteOptions = func() []option {
	var keys []string
	for k := range visit.Routes {
		keys = append(keys, k)
	}
	return visSortedOptions(keys, func(k string) string { return strings.ToUpper(k[:1]) + k[1:] + " (" + visit.Routes[k].Words + ")" })
}()

var visDoseUnitOptions = func() []option {
	var keys []string
	for k := range visit.DoseUnits {
		keys = append(keys, k)
	}
	return visSortedOptions(keys, func(k string) string { return k })
}()

// visLoadVisit reads the visit for its page: the encounter (which must be the
// patient's) and what was recorded in it.
func (s *server) visLoadVisit(r *http.Request) (*visitView, error) {
	svc, err := s.visitService()
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	pid, eid := r.PathValue("id"), r.PathValue("enc")
	prec, err := s.visReadVisible(ctx, "Patient", pid)
	if err != nil {
		return nil, err
	}
	erec, err := s.visReadVisible(ctx, "Encounter", eid)
	if err != nil {
		return nil, err
	}
	var enc visEncounterJSON
	if err := json.Unmarshal(erec.JSON, &enc); err != nil {
		return nil, errs.E(errs.Internal, err)
	}
	if enc.Subject.Reference != "Patient/"+pid {
		return nil, notFound
	}
	row := patientRowOf(prec)
	v := &visitView{Patient: pid, PatientName: row.Name, BirthDate: row.BirthDate, Sex: row.Sex, MRN: row.MRN,
		Encounter: eid, Status: enc.Status, Open: enc.Status == "in-progress" || enc.Status == "arrived" || enc.Status == "triaged",
		Reason: enc.reason(), Started: visShortTime(enc.Period.Start), Ended: visShortTime(enc.Period.End),
		Physician: visHasRole(r, auth.RolePhysician), Nurse: visHasRole(r, auth.RoleNurse),
		Templates: visit.Templates(), Routes: visRouteOptions, DoseUnits: visDoseUnitOptions, Priorities: visPriorities, FreqUnits: visFreqUnits,
		TempUnits: []option{{"C", "°C"}, {"F", "°F"}}, WeightUnits: []option{{"kg", "kg"}, {"lb", "lb"}},
		HeightUnits: []option{{"cm", "cm"}, {"in", "in"}}}
	for _, t := range v.Templates {
		v.TemplateOptions = append(v.TemplateOptions, option{t.ID, t.Title})
	}
	if len(enc.Type) > 0 {
		v.Type = enc.Type[0].label()
	}
	for _, p := range enc.Participant {
		if strings.HasPrefix(p.Individual.Reference, "Practitioner/") {
			v.Practitioner = p.Individual.Reference
			break
		}
	}
	ref := url.Values{"encounter": {"Encounter/" + eid}, "_count": {"200"}}

	obs, err := s.visitSearch(ctx, "Observation", ref)
	if err != nil {
		return nil, err
	}
	v.Vitals, v.BMI = visVitalRows(obs)

	conds, err := s.visitSearch(ctx, "Condition", ref)
	if err != nil {
		return nil, err
	}
	v.Diagnoses = visDiagnosisRows(conds, enc)

	srs, err := s.visitSearch(ctx, "ServiceRequest", ref)
	if err != nil {
		return nil, err
	}
	v.Orders = visOrderRows(srs)

	mrs, err := s.visitSearch(ctx, "MedicationRequest", ref)
	if err != nil {
		return nil, err
	}
	v.Prescriptions = s.rxRows(ctx, mrs)

	docs, err := svc.Documents(ctx, eid)
	if err != nil && errs.KindOf(err) != errs.Permission {
		return nil, err
	}
	v.Documents = docs
	names := map[string]string{}
	for i := range v.Documents {
		v.Documents[i].Signer = s.visPersonName(ctx, v.Documents[i].Signer, names)
		v.Documents[i].Date = visShortTime(v.Documents[i].Date)
	}
	v.Practitioner = s.visPersonName(ctx, v.Practitioner, names)
	for _, d := range docs {
		if d.Appends == "" {
			v.Signed = true
		}
	}
	if !v.Signed {
		n, id, err := svc.Draft(ctx, eid)
		if err != nil && errs.KindOf(err) != errs.Permission {
			return nil, err
		}
		v.Draft = id != ""
		v.DraftNote = n
		v.Template = visTemplateOf(n.Template)
	}
	return v, nil
}

func visTemplateOf(id string) visit.Template {
	ts := visit.Templates()
	for _, t := range ts {
		if t.ID == id {
			return t
		}
	}
	if len(ts) > 0 {
		return ts[0]
	}
	return visit.Template{}
}

// visNoteForm is the note's fields as the page shows them: the draft, or
// what was just submitted.
func (s *server) visNoteForm(ctx context.Context, eid string, form url.Values) url.Values {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["n-subjective"]; ok {
		return form
	}
	n, _, err := s.cfg.Visit.Draft(ctx, eid)
	if err != nil {
		return form
	}
	form.Set("n-template", n.Template)
	form.Set("n-subjective", n.Subjective)
	form.Set("n-objective", n.Objective)
	form.Set("n-assessment", n.Assessment)
	form.Set("n-plan", n.Plan)
	return form
}

func (s *server) visitPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visLoadVisit(r)
	if err != nil {
		return err
	}
	if t := r.URL.Query().Get("template"); t != "" && !v.Signed {
		v.Template = visTemplateOf(t)
	}
	form := s.visNoteForm(r.Context(), v.Encounter, nil)
	if form.Get("n-template") == "" || r.URL.Query().Get("template") != "" {
		form.Set("n-template", v.Template.ID)
	}
	for k, d := range visDefaults {
		form.Set(k, d)
	}
	visAmendDefaults(v, form)
	s.render(w, r, http.StatusOK, "visit", page{Title: "Visit · " + v.PatientName, Data: v, Form: form})
	return nil
}

// again shows the visit page after a refused step: the section's
// messages, and what was typed in its form.
func (s *server) visAgain(w http.ResponseWriter, r *http.Request, v *visitView, section string, fe map[string]string, msg string) {
	if msg == "" {
		msg = "Nothing was saved: correct the fields marked below."
	}
	v.Section, v.SectionError = section, msg
	form := url.Values{}
	for k, vs := range r.PostForm {
		form[k] = vs
	}
	form = s.visNoteForm(r.Context(), v.Encounter, form)
	if form.Get("n-template") == "" {
		form.Set("n-template", v.Template.ID)
	}
	for k, d := range visDefaults {
		if form.Get(k) == "" {
			form.Set(k, d)
		}
	}
	visAmendDefaults(v, form)
	s.render(w, r, http.StatusBadRequest, "visit", page{Title: "Visit · " + v.PatientName, Data: v, Form: form, Errors: fe,
		Error: "Nothing was saved: see the messages in the section below."})
}

// step runs one step of the visit: on success it goes back to the visit
// page at the section with a message; on bad input it shows the page with
// the messages next to the fields; other refusals get the error page.
func (s *server) visStep(w http.ResponseWriter, r *http.Request, section, prefix string, parseErrs map[string]string,
	run func(ctx context.Context, svc *visit.Service, v *visitView) (string, error)) error {
	v, err := s.visLoadVisit(r)
	if err != nil {
		return err
	}
	if len(parseErrs) > 0 {
		s.visAgain(w, r, v, section, parseErrs, "")
		return nil
	}
	done, err := run(r.Context(), s.cfg.Visit, v)
	if err == nil {
		s.flash(w, done)
		http.Redirect(w, r, visitPath(v.Patient, v.Encounter)+"#"+section, http.StatusSeeOther)
		return nil
	}
	fe, msg, ok := visitFormErrors(err, prefix)
	if !ok {
		return err
	}
	s.visAgain(w, r, v, section, fe, msg)
	return nil
}

// number parses an optional decimal input; a bad one is reported in fe.
func visNumber(f url.Values, name, label string, fe map[string]string) *float64 {
	raw := strings.TrimSpace(strings.ReplaceAll(f.Get(name), ",", "."))
	if raw == "" {
		return nil
	}
	x, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		fe[name] = fmt.Sprintf("Enter the %s as a number, for example 72 or 36.8.", label)
		return nil
	}
	return &x
}

func visWhole(f url.Values, name, label string, fe map[string]string) int {
	raw := strings.TrimSpace(f.Get(name))
	if raw == "" {
		return 0
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		fe[name] = fmt.Sprintf("Enter the %s as a whole number.", label)
	}
	return n
}

func (s *server) visitVitals(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	fe := map[string]string{}
	vs := visit.Vitals{
		Systolic:  visNumber(f, "v-systolic", "systolic pressure", fe),
		Diastolic: visNumber(f, "v-diastolic", "diastolic pressure", fe),
		HeartRate: visNumber(f, "v-heartRate", "heart rate", fe),
		RespRate:  visNumber(f, "v-respRate", "respiratory rate", fe),
		SpO2:      visNumber(f, "v-spo2", "oxygen saturation", fe),
		Pain:      visNumber(f, "v-pain", "pain score", fe),
	}
	weight := visNumber(f, "v-weight", "weight", fe)
	height := visNumber(f, "v-height", "height", fe)
	temp := visNumber(f, "v-temp", "temperature", fe)
	if f.Get("v-weightUnit") == "lb" {
		vs.WeightLb = weight
	} else {
		vs.WeightKg = weight
	}
	if f.Get("v-heightUnit") == "in" {
		vs.HeightIn = height
	} else {
		vs.HeightCm = height
	}
	if f.Get("v-tempUnit") == "F" {
		vs.TempF = temp
	} else {
		vs.TempC = temp
	}
	return s.visStep(w, r, "vitals", "v-", fe, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		ids, err := svc.RecordVitals(ctx, v.Encounter, vs)
		if err != nil {
			if f := visit.Fields(err); f["vitals"] != "" {
				return "", errs.E(errs.Invalid, upperFirst(f["vitals"])+".")
			}
			return "", err
		}
		return fmt.Sprintf("%d vital sign%s saved.", len(ids), visPlural(len(ids))), nil
	})
}

func visPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (s *server) visitNote(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	n := visit.Note{Template: f.Get("n-template"), Subjective: f.Get("n-subjective"), Objective: f.Get("n-objective"),
		Assessment: f.Get("n-assessment"), Plan: f.Get("n-plan")}
	if f.Get("action") == "template" {
		// Show the chosen template's prompts; nothing is saved.
		v, err := s.visLoadVisit(r)
		if err != nil {
			return err
		}
		if v.Signed {
			return errs.E(errs.Conflict, "The note is signed and can no longer be edited; write an addendum.")
		}
		v.Template = visTemplateOf(n.Template)
		form := url.Values{}
		for k, vs := range f {
			form[k] = vs
		}
		for k, d := range visDefaults {
			if form.Get(k) == "" {
				form.Set(k, d)
			}
		}
		s.render(w, r, http.StatusOK, "visit", page{Title: "Visit · " + v.PatientName, Data: v, Form: form})
		return nil
	}
	sign := f.Get("action") == "sign"
	return s.visStep(w, r, "note", "n-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if !v.Physician {
			return "", errs.E(errs.Permission, "Only physicians write and sign the visit's note.")
		}
		if _, err := svc.SaveDraft(ctx, v.Encounter, n); err != nil {
			return "", err
		}
		if !sign {
			return "The draft note is saved.", nil
		}
		p := access.From(ctx)
		if _, err := svc.Sign(ctx, v.Encounter, p.FHIRUser); err != nil {
			return "", err
		}
		return "The note is signed. It can no longer be edited; write an addendum to add to it.", nil
	})
}

func (s *server) visitAddendum(w http.ResponseWriter, r *http.Request) error {
	text := r.PostForm.Get("ad-text")
	return s.visStep(w, r, "note", "ad-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		d := visCurrentNote(v)
		if d == nil {
			return "", errs.E(errs.Conflict, "There is no signed note to add to.")
		}
		p := access.From(ctx)
		if _, err := svc.Addendum(ctx, d.Composition, text, p.FHIRUser); err != nil {
			return "", err
		}
		return "The addendum is signed.", nil
	})
}

// visCurrentNote is the visit's current signed note: signed, not an
// addendum, and not replaced by an amendment.
func visCurrentNote(v *visitView) *visit.Document {
	for i := range v.Documents {
		if d := &v.Documents[i]; d.Appends == "" && d.ReplacedBy == "" {
			return d
		}
	}
	return nil
}

// visAmendDefaults fills the amendment form with the current signed note,
// unless the user's own text is being shown again.
func visAmendDefaults(v *visitView, form url.Values) {
	d := visCurrentNote(v)
	if d == nil {
		return
	}
	if _, ok := form["am-subjective"]; ok {
		return
	}
	form.Set("am-subjective", d.Note.Subjective)
	form.Set("am-objective", d.Note.Objective)
	form.Set("am-assessment", d.Note.Assessment)
	form.Set("am-plan", d.Note.Plan)
}

// visitAmend replaces the signed note with a corrected one, signed at
// once, with the reason; the original stays as signed.
func (s *server) visitAmend(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	return s.visStep(w, r, "note", "am-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if !v.Physician {
			return "", errs.E(errs.Permission, "Only physicians amend the visit's note.")
		}
		d := visCurrentNote(v)
		if d == nil {
			return "", errs.E(errs.Conflict, "There is no signed note to amend.")
		}
		n := visit.Note{Template: d.Note.Template, Subjective: f.Get("am-subjective"), Objective: f.Get("am-objective"),
			Assessment: f.Get("am-assessment"), Plan: f.Get("am-plan")}
		if _, err := svc.Amend(ctx, d.Composition, n, access.From(ctx).FHIRUser, f.Get("am-reason")); err != nil {
			return "", err
		}
		return "The amended note is signed; the original is kept as it was signed.", nil
	})
}

func (s *server) visitDiagnosis(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	dx := visit.Diagnosis{ICD10: visCodeOf(f.Get("dx-icd10")), Onset: strings.TrimSpace(f.Get("dx-onset")),
		ProblemList: f.Get("dx-problemList") == "yes", Note: f.Get("dx-note")}
	return s.visStep(w, r, "diagnoses", "dx-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if _, err := svc.AddDiagnosis(ctx, v.Encounter, dx); err != nil {
			return "", err
		}
		return "The diagnosis is recorded.", nil
	})
}

// visCodeOf takes the code from a picker's input: "J02.9" or "J02.9 — Acute
// pharyngitis" (what a browser may leave after choosing a suggestion).
func visCodeOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i > 0 {
		s = s[:i]
	}
	return s
}

func (s *server) visitLab(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	var codes []string
	for _, c := range strings.FieldsFunc(f.Get("lab-loinc"), func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if c = visCodeOf(c); c != "" {
			codes = append(codes, c)
		}
	}
	o := visit.LabOrder{LOINC: codes, Priority: f.Get("lab-priority"), Note: f.Get("lab-note")}
	return s.visStep(w, r, "orders", "lab-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		ids, err := svc.OrderLab(ctx, v.Encounter, o)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d laboratory test%s ordered.", len(ids), visPlural(len(ids))), nil
	})
}

func (s *server) visitImaging(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	o := visit.ImagingOrder{LOINC: visCodeOf(f.Get("img-loinc")), Display: strings.TrimSpace(f.Get("img-display")),
		Text: strings.TrimSpace(f.Get("img-text")), Priority: f.Get("img-priority"), Reason: f.Get("img-reason"), Note: f.Get("img-note")}
	return s.visStep(w, r, "orders", "img-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if _, err := svc.OrderImaging(ctx, v.Encounter, o); err != nil {
			return "", err
		}
		return "The imaging study is ordered.", nil
	})
}

func (s *server) visitReferral(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	o := visit.Referral{Specialty: strings.TrimSpace(f.Get("ref-specialty")), Organization: strings.TrimSpace(f.Get("ref-organization")),
		Practitioner: strings.TrimSpace(f.Get("ref-practitioner")), Reason: f.Get("ref-reason"), Priority: f.Get("ref-priority"), Note: f.Get("ref-note")}
	return s.visStep(w, r, "orders", "ref-", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if _, err := svc.Refer(ctx, v.Encounter, o); err != nil {
			return "", err
		}
		return "The referral is sent.", nil
	})
}

// visRxOf reads the prescribing form.
func visRxOf(f url.Values, fe map[string]string) visit.Rx {
	rx := visit.Rx{RxNorm: visCodeOf(f.Get("rx-rxnorm")), DoseUnit: f.Get("rx-doseUnit"), Route: f.Get("rx-route"),
		DispenseUnit: f.Get("rx-dispenseUnit"), Note: f.Get("rx-note")}
	if d := visNumber(f, "rx-dose", "dose", fe); d != nil {
		rx.Dose = *d
	}
	if q := visNumber(f, "rx-quantity", "quantity", fe); q != nil {
		rx.Quantity = *q
	}
	rx.DurationDays = visWhole(f, "rx-durationDays", "duration in days", fe)
	rx.Refills = visWhole(f, "rx-refills", "number of refills", fe)
	n := visWhole(f, "rx-frequency", "frequency", fe)
	switch f.Get("rx-freqUnit") {
	case "hours":
		rx.EveryHours = n
	case "prn":
		rx.AsNeeded = true
	default:
		rx.TimesPerDay = n
	}
	if f.Get("rx-asNeeded") == "yes" {
		rx.AsNeeded = true
	}
	return rx
}

func (s *server) visitPrescribe(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visLoadVisit(r)
	if err != nil {
		return err
	}
	if !v.Physician {
		return errs.E(errs.Permission, "Only physicians may prescribe. Ask the visit's physician to write the prescription.")
	}
	f := r.PostForm
	fe := map[string]string{}
	rx := visRxOf(f, fe)
	if len(fe) > 0 {
		s.visAgain(w, r, v, "prescribing", fe, "")
		return nil
	}
	ctx := r.Context()
	svc := s.cfg.Visit
	// The overrides the prescriber gave, by alert ID.
	reasons := map[string]string{}
	for i := 0; i < 50; i++ {
		id := f.Get(fmt.Sprintf("rx-alert-%d", i))
		if id == "" {
			break
		}
		reasons[id] = f.Get(fmt.Sprintf("rx-override-%d", i))
	}
	showAlerts := func(alerts []visit.Alert, fe map[string]string, msg string) {
		v.Checked = true
		for i, a := range alerts {
			av := visAlertView{Index: i, ID: a.ID, Severity: a.Severity, Code: a.Code, Message: a.Message, Source: a.Source,
				Related: a.Related, Reason: reasons[a.ID]}
			if m, ok := visit.Fields(err)["override:"+a.ID]; ok {
				av.Error = upperFirst(m) + "."
				fe[fmt.Sprintf("rx-override-%d", i)] = av.Error
			}
			v.Alerts = append(v.Alerts, av)
		}
		// The form's alert inputs must match the alerts shown now.
		for k := range f {
			if strings.HasPrefix(k, "rx-alert-") || strings.HasPrefix(k, "rx-override-") {
				delete(f, k)
			}
		}
		for i, a := range v.Alerts {
			f.Set(fmt.Sprintf("rx-alert-%d", i), a.ID)
			f.Set(fmt.Sprintf("rx-override-%d", i), a.Reason)
		}
		s.visAgain(w, r, v, "prescribing", fe, msg)
	}
	if f.Get("action") == "check" {
		alerts, err := svc.CheckPrescription(ctx, "Patient/"+v.Patient, rx)
		if err != nil {
			fe, msg, ok := visitFormErrors(err, "rx-")
			if !ok {
				return err
			}
			s.visAgain(w, r, v, "prescribing", fe, msg)
			return nil
		}
		msg := "No safety alert for this prescription. Nothing is saved until you prescribe."
		if len(alerts) > 0 {
			msg = fmt.Sprintf("%d safety alert%s: change the prescription, or give a reason to override each alert, then prescribe. Nothing is saved yet.", len(alerts), visPlural(len(alerts)))
		}
		showAlerts(alerts, map[string]string{}, msg)
		return nil
	}
	var overrides []visit.Override
	for id, reason := range reasons {
		if strings.TrimSpace(reason) != "" {
			overrides = append(overrides, visit.Override{AlertID: id, Reason: reason})
		}
	}
	rxp, err := svc.Prescribe(ctx, v.Encounter, rx, overrides)
	if err == nil {
		msg := "The prescription is saved."
		if n := len(rxp.DetectedIssues); n > 0 {
			msg = fmt.Sprintf("The prescription is saved with %d overridden alert%s and the reasons given.", n, visPlural(n))
		}
		s.flash(w, msg)
		http.Redirect(w, r, visitPath(v.Patient, v.Encounter)+"#prescribing", http.StatusSeeOther)
		return nil
	}
	if alerts := visit.Alerts(err); len(alerts) > 0 {
		fe := map[string]string{}
		for k, m := range visit.Fields(err) {
			if !strings.HasPrefix(k, "override:") {
				fe["rx-"+k] = upperFirst(m) + "."
			}
		}
		showAlerts(alerts, fe, "Not prescribed: each safety alert needs a reason to override it (at least 10 characters), or change the prescription.")
		return nil
	}
	fe, msg, ok := visitFormErrors(err, "rx-")
	if !ok {
		return err
	}
	// Overrides with too short a reason come back as field errors too.
	if len(reasons) > 0 {
		alerts, cerr := svc.CheckPrescription(ctx, "Patient/"+v.Patient, rx)
		if cerr == nil && len(alerts) > 0 {
			showAlerts(alerts, fe, msg)
			return nil
		}
	}
	s.visAgain(w, r, v, "prescribing", fe, msg)
	return nil
}

func (s *server) visitFinish(w http.ResponseWriter, r *http.Request) error {
	return s.visStep(w, r, "finish", "", nil, func(ctx context.Context, svc *visit.Service, v *visitView) (string, error) {
		if err := svc.Finish(ctx, v.Encounter); err != nil {
			return "", err
		}
		return "The visit is finished.", nil
	})
}

func (s *server) visitPrint(w http.ResponseWriter, r *http.Request) error {
	v, err := s.visLoadVisit(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "visitprint", page{Title: "Visit summary · " + v.PatientName, Data: v})
	return nil
}

// ---- code pickers ----

type visCodeOption struct{ Code, Display string }

// visitCodes answers a picker's search with the <option>s of a datalist:
// ICD-10-CM diagnoses, LOINC laboratory tests or RxNorm drugs.
func (s *server) visitCodes(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var out []visCodeOption
	if len([]rune(q)) >= 2 {
		switch r.PathValue("system") {
		case "icd10":
			for _, c := range terminology.ICD10CM().Search(q, 40) {
				if c.Billable {
					out = append(out, visCodeOption{c.Code, c.Display})
				}
			}
		case "loinc":
			for _, c := range terminology.LOINC().Search(q, 25) {
				out = append(out, visCodeOption{c.Code, c.Display})
			}
		case "rxnorm":
			for _, d := range terminology.RxNorm().Search(q, 40) {
				if d.Prescribable() {
					out = append(out, visCodeOption{d.Code, d.Display})
				}
			}
		default:
			return notFound
		}
	}
	if len(out) > 25 {
		out = out[:25]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	return visCodeOptions.Execute(w, out)
}

var visCodeOptions = template.Must(template.New("options").Parse(
	`{{range .}}<option value="{{.Code}}">{{.Code}} {{.Display}}</option>{{end}}`))

// ---- reading what the visit recorded ----

type visCodingJSON struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type visConceptJSON struct {
	Coding []visCodingJSON `json:"coding"`
	Text   string          `json:"text"`
}

func (c visConceptJSON) label() string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

func (c visConceptJSON) code(system string) (visCodingJSON, bool) {
	for _, cd := range c.Coding {
		if system == "" || cd.System == system {
			return cd, true
		}
	}
	return visCodingJSON{}, false
}

type visRefJSON struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

type visEncounterJSON struct {
	Status  string           `json:"status"`
	Type    []visConceptJSON `json:"type"`
	Subject visRefJSON       `json:"subject"`
	Period  struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	ReasonCode  []visConceptJSON `json:"reasonCode"`
	Participant []struct {
		Individual visRefJSON `json:"individual"`
	} `json:"participant"`
	Diagnosis []struct {
		Condition visRefJSON `json:"condition"`
		Rank      int        `json:"rank"`
	} `json:"diagnosis"`
}

func (e visEncounterJSON) reason() string {
	var out []string
	for _, c := range e.ReasonCode {
		if l := c.label(); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// visShortTime shows a FHIR dateTime as "2026-11-25 14:03 UTC".
func visShortTime(s string) string {
	if len(s) >= 16 && s[10] == 'T' {
		return s[:10] + " " + s[11:16] + " UTC"
	}
	return s
}

type visQuantityJSON struct {
	Value *json.Number `json:"value"`
	Unit  string       `json:"unit"`
	Code  string       `json:"code"`
}

func (q visQuantityJSON) String() string {
	if q.Value == nil {
		return ""
	}
	u := q.Unit
	if u == "" {
		u = q.Code
	}
	switch u {
	case "Cel":
		u = "°C"
	case "{score}":
		u = "/ 10"
	case "mm[Hg]":
		u = "mmHg"
	case "kg/m2":
		u = "kg/m²"
	}
	return strings.TrimSpace(q.Value.String() + " " + u)
}

// visVitalLabels are the vital signs in the order the page lists them.
var visVitalLabels = []struct{ code, label string }{
	{"85354-9", "Blood pressure"}, {"8867-4", "Heart rate"}, {"9279-1", "Respiratory rate"},
	{"8310-5", "Temperature"}, {"59408-5", "Oxygen saturation"}, {"2708-6", "Oxygen saturation"},
	{"29463-7", "Weight"}, {"8302-2", "Height"}, {"39156-5", "BMI"}, {"72514-3", "Pain (0-10)"},
}

type visObservationJSON struct {
	Code          visConceptJSON   `json:"code"`
	Category      []visConceptJSON `json:"category"`
	Effective     string           `json:"effectiveDateTime"`
	ValueQuantity visQuantityJSON  `json:"valueQuantity"`
	Component     []struct {
		Code          visConceptJSON  `json:"code"`
		ValueQuantity visQuantityJSON `json:"valueQuantity"`
	} `json:"component"`
}

func visVitalRows(recs []*store.Record) ([]visVitalRow, string) {
	type item struct {
		rank int
		row  visVitalRow
	}
	var items []item
	bmi := ""
	for _, rec := range recs {
		var o visObservationJSON
		if json.Unmarshal(rec.JSON, &o) != nil {
			continue
		}
		rank := -1
		for i, l := range visVitalLabels {
			if _, ok := o.Code.visCodeOf(l.code); ok {
				rank = i
				break
			}
		}
		if rank < 0 {
			continue
		}
		if visVitalLabels[rank].code == "2708-6" {
			if _, ok := o.Code.visCodeOf("59408-5"); ok {
				rank = 4
			}
		}
		val := o.ValueQuantity.String()
		if visVitalLabels[rank].code == "85354-9" {
			var sys, dia string
			for _, c := range o.Component {
				if _, ok := c.Code.visCodeOf("8480-6"); ok {
					sys = c.ValueQuantity.Value.String()
				}
				if _, ok := c.Code.visCodeOf("8462-4"); ok {
					dia = c.ValueQuantity.Value.String()
				}
			}
			val = sys + "/" + dia + " mmHg"
		}
		if visVitalLabels[rank].code == "39156-5" {
			bmi = val
		}
		items = append(items, item{rank, visVitalRow{Label: visVitalLabels[rank].label, Value: val, When: visShortTime(o.Effective)}})
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].row.When != items[j].row.When {
			return items[i].row.When > items[j].row.When
		}
		return items[i].rank < items[j].rank
	})
	out := make([]visVitalRow, len(items))
	for i, it := range items {
		out[i] = it.row
	}
	return out, bmi
}

func (c visConceptJSON) visCodeOf(code string) (visCodingJSON, bool) {
	for _, cd := range c.Coding {
		if cd.Code == code {
			return cd, true
		}
	}
	return visCodingJSON{}, false
}

func visDiagnosisRows(recs []*store.Record, enc visEncounterJSON) []visDiagnosisRow {
	rank := map[string]int{}
	for _, d := range enc.Diagnosis {
		rank[d.Condition.Reference] = d.Rank
	}
	var out []visDiagnosisRow
	for _, rec := range recs {
		var c struct {
			Code     visConceptJSON   `json:"code"`
			Category []visConceptJSON `json:"category"`
			Onset    string           `json:"onsetDateTime"`
		}
		if json.Unmarshal(rec.JSON, &c) != nil {
			continue
		}
		cd, _ := c.Code.code("http://hl7.org/fhir/sid/icd-10-cm")
		row := visDiagnosisRow{Code: cd.Code, Display: cd.Display, Onset: c.Onset}
		if row.Display == "" {
			row.Display = c.Code.label()
		}
		if n := rank["Condition/"+rec.ID]; n > 0 {
			row.Rank = strconv.Itoa(n)
		}
		for _, cat := range c.Category {
			if _, ok := cat.visCodeOf("problem-list-item"); ok {
				row.Category = "Also on the problem list"
			}
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rank < out[j].Rank })
	return out
}

func visOrderRows(recs []*store.Record) []visOrderRow {
	var out []visOrderRow
	for _, rec := range recs {
		var sr struct {
			Status        string           `json:"status"`
			Priority      string           `json:"priority"`
			Category      []visConceptJSON `json:"category"`
			Code          visConceptJSON   `json:"code"`
			PerformerType visConceptJSON   `json:"performerType"`
			ReasonCode    []visConceptJSON `json:"reasonCode"`
		}
		if json.Unmarshal(rec.JSON, &sr) != nil {
			continue
		}
		row := visOrderRow{Priority: sr.Priority, Status: sr.Status, What: sr.Code.label()}
		if len(sr.Category) > 0 {
			switch {
			case visHas(sr.Category[0], "108252007"):
				row.Kind = "Laboratory"
			case visHas(sr.Category[0], "363679005"):
				row.Kind = "Imaging"
			case visHas(sr.Category[0], "3457005"):
				row.Kind = "Referral"
			default:
				row.Kind = sr.Category[0].label()
			}
		}
		if cd, ok := sr.Code.code("http://loinc.org"); ok {
			row.What = cd.Display + " (LOINC " + cd.Code + ")"
		}
		if l := sr.PerformerType.label(); l != "" {
			row.What = "Referral to " + l
		}
		var reasons []string
		for _, rc := range sr.ReasonCode {
			reasons = append(reasons, rc.label())
		}
		row.Detail = strings.Join(reasons, "; ")
		out = append(out, row)
	}
	return out
}

func visHas(c visConceptJSON, code string) bool {
	_, ok := c.visCodeOf(code)
	return ok
}

func (s *server) rxRows(ctx context.Context, recs []*store.Record) []visRxRow {
	var out []visRxRow
	for _, rec := range recs {
		var mr struct {
			Status     string         `json:"status"`
			Medication visConceptJSON `json:"medicationCodeableConcept"`
			Dosage     []struct {
				Text string `json:"text"`
			} `json:"dosageInstruction"`
			Dispense struct {
				Repeats  int             `json:"numberOfRepeatsAllowed"`
				Quantity visQuantityJSON `json:"quantity"`
			} `json:"dispenseRequest"`
			DetectedIssue []visRefJSON `json:"detectedIssue"`
		}
		if json.Unmarshal(rec.JSON, &mr) != nil {
			continue
		}
		row := visRxRow{Drug: mr.Medication.label(), Status: mr.Status}
		if cd, ok := mr.Medication.code("http://www.nlm.nih.gov/research/umls/rxnorm"); ok {
			row.Drug = cd.Display + " (RxNorm " + cd.Code + ")"
		}
		if len(mr.Dosage) > 0 {
			row.Dosage = mr.Dosage[0].Text
		}
		qty := mr.Dispense.Quantity.String()
		if v := mr.Dispense.Quantity.Value; v != nil && v.String() != "1" && strings.HasPrefix(mr.Dispense.Quantity.Code, "{") {
			qty += "s" // 6 tablets, 2 capsules
		}
		row.Dispense = fmt.Sprintf("%s, %d refill%s", qty, mr.Dispense.Repeats, visPlural(mr.Dispense.Repeats))
		for _, di := range mr.DetectedIssue {
			_, id, _ := strings.Cut(di.Reference, "/")
			rec, err := s.visReadVisible(ctx, "DetectedIssue", id)
			if err != nil {
				continue
			}
			var d struct {
				Code       visConceptJSON `json:"code"`
				Severity   string         `json:"severity"`
				Mitigation []struct {
					Action visConceptJSON `json:"action"`
				} `json:"mitigation"`
			}
			if json.Unmarshal(rec.JSON, &d) != nil {
				continue
			}
			line := d.Code.label()
			if d.Severity != "" {
				line += " (" + d.Severity + ")"
			}
			for _, m := range d.Mitigation {
				line += " · " + m.Action.Text
			}
			row.Overrides = append(row.Overrides, line)
		}
		out = append(out, row)
	}
	return out
}

// visPersonName is the name of a Practitioner (or other person) as the
// page shows it, "Dr. Ana Lee"; the reference itself when it cannot be
// read. names caches the answers of one page.
func (s *server) visPersonName(ctx context.Context, ref string, names map[string]string) string {
	if n, ok := names[ref]; ok {
		return n
	}
	name := ref
	typ, id, ok := strings.Cut(ref, "/")
	if ok && (typ == "Practitioner" || typ == "Patient" || typ == "RelatedPerson") {
		if rec, err := s.visReadVisible(ctx, typ, id); err == nil {
			var p struct {
				Name []struct {
					Text   string   `json:"text"`
					Family string   `json:"family"`
					Given  []string `json:"given"`
					Prefix []string `json:"prefix"`
					Suffix []string `json:"suffix"`
				} `json:"name"`
			}
			if json.Unmarshal(rec.JSON, &p) == nil && len(p.Name) > 0 {
				n := p.Name[0]
				full := n.Text
				if full == "" {
					parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
					full = strings.TrimSpace(strings.Join(parts, " "))
					if len(n.Suffix) > 0 {
						full += ", " + strings.Join(n.Suffix, ", ")
					}
				}
				if full != "" {
					name = full
				}
			}
		}
	}
	names[ref] = name
	return name
}
