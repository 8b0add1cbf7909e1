package chart

import (
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

// Code systems the lists show by name.
const (
	SNOMED  = "http://snomed.info/sct"
	ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	RxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	CVX     = "http://hl7.org/fhir/sid/cvx"
)

// Problem is a problem (Condition): active on the problem lists, or no
// longer active in the history of the problems page (ProblemHistory).
type Problem struct {
	ID       string
	Code     Concept
	ICD10CM  []Coding
	SNOMED   []Coding
	Status   string // clinicalStatus: active, recurrence, relapse; inactive, remission, resolved
	Category string // problem-list-item or encounter-diagnosis
	Onset    Date
	// Abatement is when the problem resolved or went into remission
	// (abatement[x]), when recorded.
	Abatement Date
	Recorded  Date
	Source    Source
}

// activeClinical are the clinicalStatus codes of a problem still present,
// inactiveClinical those of a problem no longer present
// (http://terminology.hl7.org/CodeSystem/condition-clinical).
var (
	activeClinical   = map[string]bool{"active": true, "recurrence": true, "relapse": true}
	inactiveClinical = map[string]bool{"inactive": true, "remission": true, "resolved": true}
)

// problems lists active problems: a Condition whose clinicalStatus is
// active, recurrence or relapse, whose category is problem-list-item or
// encounter-diagnosis (health concerns are not problems), and that was not
// refuted. Newest onset first.
func problems(recs []record, src *sourcer) []Problem {
	out := problemsIn(recs, src, activeClinical)
	slices.SortStableFunc(out, func(a, b Problem) int { return newestFirst(a.Onset, b.Onset, a.ID, b.ID) })
	return out
}

// inactiveProblems lists the problems no longer present: clinicalStatus
// inactive, remission or resolved, with the same category and
// verification rules as the active list. Most recently abated first, then
// newest onset; problems without an abatement date last.
func inactiveProblems(recs []record, src *sourcer) []Problem {
	out := problemsIn(recs, src, inactiveClinical)
	slices.SortStableFunc(out, func(a, b Problem) int {
		if c := newestFirst(a.Abatement, b.Abatement, "", ""); c != 0 {
			return c
		}
		return newestFirst(a.Onset, b.Onset, a.ID, b.ID)
	})
	return out
}

// problemsIn lists the problems whose clinicalStatus is one of statuses.
func problemsIn(recs []record, src *sourcer, statuses map[string]bool) []Problem {
	var out []Problem
	for _, r := range recs {
		status := firstCode(r.Res, "clinicalStatus")
		if !statuses[status] || firstCode(r.Res, "verificationStatus") == "refuted" {
			continue
		}
		cat := ""
		for _, c := range concepts(r.Res, "category") {
			for _, cd := range c.Codings {
				if cd.Code == "problem-list-item" || cd.Code == "encounter-diagnosis" {
					cat = cd.Code
				}
			}
		}
		if cat == "" {
			continue
		}
		code := concept(fhir.Obj(r.Res["code"]))
		p := Problem{ID: r.ID, Code: code, ICD10CM: code.In(ICD10CM), SNOMED: code.In(SNOMED), Status: status, Category: cat,
			Onset: onset(r.Res), Abatement: abatement(r.Res), Recorded: parseDate(fhir.Str(r.Res["recordedDate"])), Source: src.of(r)}
		out = append(out, p)
	}
	return out
}

// abatement reads abatement[x]: a dateTime, the end of a Period (its
// start when it has no end), an age or a string kept as text. A range of
// ages is written "age low–high".
func abatement(res map[string]any) Date {
	if s := fhir.Str(res["abatementDateTime"]); s != "" {
		return parseDate(s)
	}
	if p := fhir.Obj(res["abatementPeriod"]); p != nil {
		start, end := period(p)
		if !end.IsZero() {
			return end
		}
		return start
	}
	if s := fhir.Str(res["abatementString"]); s != "" {
		return Date{Text: s}
	}
	if a := fhir.Obj(res["abatementAge"]); a != nil {
		return Date{Text: "age " + quantity(a).Text}
	}
	if rg := fhir.Obj(res["abatementRange"]); rg != nil {
		return Date{Text: "age " + quantity(fhir.Obj(rg["low"])).Text + "–" + quantity(fhir.Obj(rg["high"])).Text}
	}
	return Date{}
}

// onset reads onset[x]; an age or a string onset is kept as text.
func onset(res map[string]any) Date {
	if s := fhir.Str(res["onsetDateTime"]); s != "" {
		return parseDate(s)
	}
	if p := fhir.Obj(res["onsetPeriod"]); p != nil {
		s, _ := period(p)
		return s
	}
	if s := fhir.Str(res["onsetString"]); s != "" {
		return Date{Text: s}
	}
	if a := fhir.Obj(res["onsetAge"]); a != nil {
		return Date{Text: "age " + quantity(a).Text}
	}
	return Date{}
}

// newestFirst compares two dated items: newer first, undated last, then by id.
func newestFirst(a, b Date, aid, bid string) int {
	switch {
	case after(a, b):
		return -1
	case after(b, a):
		return 1
	}
	return strings.Compare(aid, bid)
}

// Medication is a medication: a MedicationRequest or a
// MedicationStatement, active on the lists, or stopped, completed or
// cancelled in the history of the medications page (MedicationHistory).
type Medication struct {
	ID         string
	Type       string // MedicationRequest or MedicationStatement
	Name       string
	RxNorm     []Coding
	Status     string
	Dose       string // the dosage instructions as text
	Reason     string // why it was given (reasonCode, reasonReference)
	Since      Date   // authoredOn, or the statement's effective time
	Prescriber string
	Source     Source
	// Ended is when the medication ended, when recorded: the end of a
	// statement's effectivePeriod (a MedicationRequest records no end of
	// its own: see Changed).
	Ended Date
	// StatusReason is why it was stopped or cancelled (statusReason), when
	// recorded.
	StatusReason string
	// Changed is when the record was last changed (meta.lastUpdated): for
	// a request stopped in OpenChart, when it was stopped.
	Changed time.Time
}

// activeMedication: MedicationRequest status active or on-hold (an order,
// not a proposal), MedicationStatement status active, intended or on-hold.
// The history lists the requests stopped, completed or cancelled and the
// statements stopped or completed (MedicationStatement has no cancelled).
var (
	activeRequest     = map[string]bool{"active": true, "on-hold": true}
	activeStatement   = map[string]bool{"active": true, "intended": true, "on-hold": true}
	inactiveRequest   = map[string]bool{"stopped": true, "completed": true, "cancelled": true}
	inactiveStatement = map[string]bool{"stopped": true, "completed": true}
)

func medications(reqs, stmts []record, meds map[string]Concept, src *sourcer) []Medication {
	out := medicationsIn(reqs, stmts, activeRequest, activeStatement, meds, src)
	slices.SortStableFunc(out, func(a, b Medication) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

// inactiveMedications lists the medications stopped, completed or
// cancelled, most recently ended first: by Ended, else by the day the
// record last changed; then newest start, then name.
func inactiveMedications(reqs, stmts []record, meds map[string]Concept, src *sourcer) []Medication {
	out := medicationsIn(reqs, stmts, inactiveRequest, inactiveStatement, meds, src)
	endOf := func(m Medication) Date {
		if !m.Ended.Time.IsZero() {
			return m.Ended
		}
		if m.Changed.IsZero() {
			return Date{}
		}
		day := m.Changed.UTC().Truncate(24 * time.Hour)
		return Date{Time: day, Text: day.Format("2006-01-02")}
	}
	slices.SortStableFunc(out, func(a, b Medication) int {
		if c := newestFirst(endOf(a), endOf(b), "", ""); c != 0 {
			return c
		}
		if c := newestFirst(a.Since, b.Since, "", ""); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

// medicationsIn lists the requests and statements whose status is one of
// reqStatus and stmtStatus; requests that are proposals or options are
// not medications the patient takes or took.
func medicationsIn(reqs, stmts []record, reqStatus, stmtStatus map[string]bool, meds map[string]Concept, src *sourcer) []Medication {
	var out []Medication
	for _, r := range reqs {
		if !reqStatus[fhir.Str(r.Res["status"])] {
			continue
		}
		if in := fhir.Str(r.Res["intent"]); in == "proposal" || in == "option" {
			continue
		}
		m := medication(r, meds, src)
		m.Since = parseDate(fhir.Str(r.Res["authoredOn"]))
		m.Prescriber = ref(fhir.Obj(r.Res["requester"])).Label()
		m.Dose = dosage(objs(r.Res, "dosageInstruction"))
		m.StatusReason = concept(fhir.Obj(r.Res["statusReason"])).Text
		out = append(out, m)
	}
	for _, r := range stmts {
		if !stmtStatus[fhir.Str(r.Res["status"])] {
			continue
		}
		m := medication(r, meds, src)
		m.Since = effective(r.Res)
		m.Dose = dosage(objs(r.Res, "dosage"))
		var why []string
		for _, c := range concepts(r.Res, "statusReason") {
			why = append(why, c.Text)
		}
		m.StatusReason = strings.Join(why, "; ")
		if p := fhir.Obj(r.Res["effectivePeriod"]); p != nil {
			_, m.Ended = period(p)
		}
		out = append(out, m)
	}
	return out
}

func medication(r record, meds map[string]Concept, src *sourcer) Medication {
	c := concept(fhir.Obj(r.Res["medicationCodeableConcept"]))
	if mr := ref(fhir.Obj(r.Res["medicationReference"])); mr.Reference != "" || mr.Display != "" {
		if mc, ok := meds[refID(mr.Reference, "Medication")]; ok {
			c = mc
		} else {
			c = Concept{Text: mr.Label()}
		}
	}
	var reasons []string
	for _, rc := range concepts(r.Res, "reasonCode") {
		reasons = append(reasons, rc.Text)
	}
	for _, rr := range objs(r.Res, "reasonReference") {
		if d := fhir.Str(rr["display"]); d != "" {
			reasons = append(reasons, d)
		}
	}
	return Medication{ID: r.ID, Type: r.Type, Name: c.Text, RxNorm: c.In(RxNorm), Status: fhir.Str(r.Res["status"]),
		Reason: strings.Join(reasons, "; "), Source: src.of(r), Changed: r.Updated}
}

// medicationRefs lists the Medication ids that the requests and
// statements whose status is one of reqStatus and stmtStatus reference,
// to read them in one search.
func medicationRefs(reqs, stmts []record, reqStatus, stmtStatus map[string]bool) []string {
	var ids []string
	add := func(r record) {
		if id := refID(ref(fhir.Obj(r.Res["medicationReference"])).Reference, "Medication"); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, r := range reqs {
		if reqStatus[fhir.Str(r.Res["status"])] {
			add(r)
		}
	}
	for _, r := range stmts {
		if stmtStatus[fhir.Str(r.Res["status"])] {
			add(r)
		}
	}
	return ids
}

// dosage writes dosage instructions as text: the recorded text, else
// "dose route, frequency, as needed" from the structured parts.
func dosage(ds []map[string]any) string {
	var out []string
	for _, d := range ds {
		if t := fhir.Str(d["text"]); t != "" {
			out = append(out, t)
			continue
		}
		var parts []string
		for _, dr := range objs(d, "doseAndRate") {
			if q := fhir.Obj(dr["doseQuantity"]); q != nil {
				parts = append(parts, quantity(q).Text)
			} else if rq := fhir.Obj(dr["doseRange"]); rq != nil {
				parts = append(parts, quantity(fhir.Obj(rq["low"])).Text+"–"+quantity(fhir.Obj(rq["high"])).Text)
			}
		}
		if rt := concept(fhir.Obj(d["route"])).Text; rt != "" {
			parts = append(parts, rt)
		}
		if f := frequency(fhir.Obj(fhir.Obj(d["timing"])["repeat"])); f != "" {
			parts = append(parts, f)
		}
		if prn, _ := boolean(d, "asNeededBoolean"); prn || fhir.Obj(d["asNeededCodeableConcept"]) != nil {
			parts = append(parts, "as needed")
		}
		if len(parts) > 0 {
			out = append(out, strings.Join(parts, ", "))
		}
	}
	return strings.Join(out, "; ")
}

// frequency writes Timing.repeat as "2 times per 1 d" in words: "twice a
// day", "every 8 hours".
func frequency(rep map[string]any) string {
	if rep == nil {
		return ""
	}
	f, okF := number(rep, "frequency")
	p, okP := number(rep, "period")
	unit := map[string]string{"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}[fhir.Str(rep["periodUnit"])]
	if !okP || unit == "" {
		return ""
	}
	if !okF {
		f = 1
	}
	times := map[float64]string{1: "once", 2: "twice", 3: "3 times", 4: "4 times"}[f]
	if times == "" {
		times = fmtNum(f) + " times"
	}
	if p == 1 {
		return times + " a " + unit
	}
	if f == 1 {
		return "every " + fmtNum(p) + " " + unit + "s"
	}
	return times + " every " + fmtNum(p) + " " + unit + "s"
}

// Allergy is an allergy or intolerance.
type Allergy struct {
	ID          string
	Substance   Concept
	Type        string // allergy or intolerance
	Categories  []string
	Criticality string // low, high, unable-to-assess
	Status      string // clinicalStatus
	Reactions   []Reaction
	Recorded    Date
	Source      Source
}

// Reaction is one reaction of an allergy.
type Reaction struct {
	Manifestations []string
	Severity       string // mild, moderate, severe
	Substance      string
	Onset          Date
}

// noKnownAllergy are the SNOMED CT codes that record the absence of
// allergies (as US Core's examples use them).
var noKnownAllergy = map[string]bool{
	"716186003": true, // No known allergy
	"409137002": true, // No known history of drug allergy
	"429625007": true, // No known food allergy
	"428607008": true, // No known environmental allergy
}

// allergies lists the allergies that are not resolved or refuted
// (clinicalStatus active or absent), and says whether allergies were
// recorded, recorded as none known, or not recorded at all.
func allergies(recs []record, src *sourcer) ([]Allergy, string) {
	var out []Allergy
	nka := false
	for _, r := range recs {
		if cs := firstCode(r.Res, "clinicalStatus"); cs == "inactive" || cs == "resolved" {
			continue
		}
		if firstCode(r.Res, "verificationStatus") == "refuted" {
			continue
		}
		code := concept(fhir.Obj(r.Res["code"]))
		if isNoKnown(code) {
			nka = true
			continue
		}
		a := Allergy{ID: r.ID, Substance: code, Type: fhir.Str(r.Res["type"]), Criticality: fhir.Str(r.Res["criticality"]),
			Status: firstCode(r.Res, "clinicalStatus"), Recorded: parseDate(fhir.Str(r.Res["recordedDate"])), Source: src.of(r)}
		for _, c := range fhir.List(r.Res["category"]) {
			if s, ok := c.(string); ok {
				a.Categories = append(a.Categories, s)
			}
		}
		for _, re := range objs(r.Res, "reaction") {
			rx := Reaction{Severity: fhir.Str(re["severity"]), Substance: concept(fhir.Obj(re["substance"])).Text, Onset: parseDate(fhir.Str(re["onset"]))}
			for _, m := range concepts(re, "manifestation") {
				rx.Manifestations = append(rx.Manifestations, m.Text)
			}
			a.Reactions = append(a.Reactions, rx)
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b Allergy) int {
		return cmpCriticality(a, b)
	})
	status := AllergiesNotRecorded
	switch {
	case len(out) > 0:
		status = AllergiesRecorded
	case nka:
		status = NoKnownAllergies
	}
	return out, status
}

func isNoKnown(c Concept) bool {
	for _, cd := range c.Codings {
		if cd.System == SNOMED && noKnownAllergy[cd.Code] {
			return true
		}
	}
	return false
}

// cmpCriticality puts high-criticality allergies first, then by substance.
func cmpCriticality(a, b Allergy) int {
	ha, hb := a.Criticality == "high", b.Criticality == "high"
	if ha != hb {
		if ha {
			return -1
		}
		return 1
	}
	return strings.Compare(strings.ToLower(a.Substance.Text), strings.ToLower(b.Substance.Text))
}

// Appointment is an upcoming appointment.
type Appointment struct {
	ID           string
	Start, End   Date
	Status       string
	Type         string
	Description  string
	Participants []string // practitioners and locations
}

// upcoming lists appointments starting at or after now whose status is
// booked, pending or arrived, soonest first.
func upcoming(recs []record, patientRef string, now time.Time) []Appointment {
	var out []Appointment
	for _, r := range recs {
		switch fhir.Str(r.Res["status"]) {
		case "booked", "pending", "arrived":
		default:
			continue
		}
		start := parseDate(fhir.Str(r.Res["start"]))
		if start.Time.IsZero() || start.Time.Before(now) {
			continue
		}
		a := Appointment{ID: r.ID, Start: start, End: parseDate(fhir.Str(r.Res["end"])), Status: fhir.Str(r.Res["status"]),
			Description: fhir.Str(r.Res["description"])}
		if t := concept(fhir.Obj(r.Res["appointmentType"])).Text; t != "" {
			a.Type = t
		} else if st := concepts(r.Res, "serviceType"); len(st) > 0 {
			a.Type = st[0].Text
		}
		for _, p := range objs(r.Res, "participant") {
			if ac := ref(fhir.Obj(p["actor"])); ac.Reference != patientRef && ac.Label() != "" {
				a.Participants = append(a.Participants, ac.Label())
			}
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b Appointment) int { return -newestFirst(a.Start, b.Start, b.ID, a.ID) })
	return out
}

// CareMember is one member of the care team.
type CareMember struct {
	Name      string
	Reference string
	Role      string
	Team      string // the CareTeam's name, "" for the general practitioner
}

// careTeam lists the general practitioners, then the members of active
// CareTeams (not the patient), once per member and role.
func careTeam(patient map[string]any, teams []record, patientRef string) []CareMember {
	var out []CareMember
	seen := map[string]bool{}
	add := func(m CareMember) {
		k := m.Reference + "|" + m.Name + "|" + m.Role
		if !seen[k] && m.Name != "" {
			seen[k] = true
			out = append(out, m)
		}
	}
	for _, gp := range objs(patient, "generalPractitioner") {
		r := ref(gp)
		add(CareMember{Name: r.Label(), Reference: r.Reference, Role: "General practitioner"})
	}
	for _, t := range teams {
		if s := fhir.Str(t.Res["status"]); s != "" && s != "active" {
			continue
		}
		for _, p := range objs(t.Res, "participant") {
			m := ref(fhir.Obj(p["member"]))
			if m.Reference == patientRef {
				continue
			}
			role := ""
			if rs := concepts(p, "role"); len(rs) > 0 {
				role = rs[0].Text
			}
			add(CareMember{Name: m.Label(), Reference: m.Reference, Role: role, Team: fhir.Str(t.Res["name"])})
		}
	}
	return out
}
