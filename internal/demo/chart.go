package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// chart builds one patient's resources from their story.
type chart struct {
	p     *person
	day0  time.Time // midnight starting today, clinic time
	now   time.Time // what "by now" means for statuses: day0, so output depends on the date alone
	rng   *rand.Rand
	out   []map[string]any
	encs  []*enc
	conds []*condState
	meds  []*medState
	byKey map[string]*condState // active condition per key, for reasons
}

// enc is a visit placed in time.
type enc struct {
	visit
	id         string
	start, end time.Time
	by         clinician
	site       site
	diagnoses  []*condState
	summary    []string // vital signs, for the note
	results    []string // notable results, for the note
	lastResult time.Time
	rng        *rand.Rand
}

type condState struct {
	id       string
	key      string
	onset    time.Time
	abated   time.Time // zero while active
	enc      *enc
	recorder clinician
}

type medState struct {
	med
	id      string
	start   time.Time
	enc     *enc
	by      clinician
	stopped time.Time
	why     string
}

func (c *chart) pid() string                { return "demo-" + c.p.key }
func (c *chart) patientRef() map[string]any { return ref("Patient", c.pid(), c.p.displayName()) }

func (p *person) displayName() string { return p.given[0] + " " + p.family }

// dayAt is the clinic day `ago` days before today, moved back to a day the
// clinic is open.
func (c *chart) dayAt(ago int) time.Time {
	d := c.day0.AddDate(0, 0, -ago)
	for !open(d) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// open reports whether the clinic sees patients on day d: weekdays other
// than the federal holidays it closes for.
func open(d time.Time) bool {
	switch wd := d.Weekday(); {
	case wd == time.Saturday || wd == time.Sunday:
		return false
	case d.Month() == time.January && d.Day() == 1,
		d.Month() == time.July && d.Day() == 4,
		d.Month() == time.December && d.Day() == 25:
		return false
	case d.Month() == time.May && wd == time.Monday && d.Day() > 24: // Memorial Day
		return false
	case d.Month() == time.September && wd == time.Monday && d.Day() <= 7: // Labor Day
		return false
	case d.Month() == time.November && wd == time.Thursday && d.Day() >= 22 && d.Day() <= 28: // Thanksgiving
		return false
	}
	return true
}

func (c *chart) emit(r map[string]any) { c.out = append(c.out, r) }

// timeline lays out the story's visits and places every one at a time on
// a day the clinic is open.
func (c *chart) timeline() {
	taken := map[string]bool{}
	for _, v := range c.schedule() {
		c.place(v, taken)
	}
	slices.SortStableFunc(c.encs, func(a, b *enc) int { return a.start.Compare(b.start) })
}

// schedule merges routine visits into nearby planned ones, numbers them,
// and adds the seasonal flu shots.
func (c *chart) schedule() []visit {
	var planned, routine []visit
	for _, v := range c.p.visits {
		if v.ago < 1 || v.ago > c.p.ageDays {
			continue // never in the future, never before birth
		}
		if v.routine {
			routine = append(routine, v)
		} else {
			planned = append(planned, v)
		}
	}
	// Routine visits, series by series, give way to any scheduled visit
	// already on the calendar within a month, handing it their orders.
	for _, r := range routine {
		merged := false
		for i := range planned {
			if k := planned[i].kind; k == "acute" || k == "vaccine" {
				continue
			}
			if d := planned[i].ago - r.ago; d > -mergeDays && d < mergeDays {
				mergeInto(&planned[i], r)
				merged = true
				break
			}
		}
		if !merged {
			planned = append(planned, r)
		}
	}
	// Encounter ids count the story's visits from the oldest: they do not
	// depend on the calendar, so loading the demo on another day updates
	// the same resources. Flu-only visits are named by their season.
	slices.SortStableFunc(planned, func(a, b visit) int { return b.ago - a.ago })
	for i := range planned {
		planned[i].ord = i + 1
	}
	if c.p.flu {
		planned = c.fluShots(planned)
	}
	slices.SortStableFunc(planned, func(a, b visit) int { return b.ago - a.ago })
	return planned
}

// place puts a visit on a free clinic day near its story's day.
func (c *chart) place(v visit, taken map[string]bool) {
	e := &enc{visit: v, id: fmt.Sprintf("%s-e%02d", c.pid(), v.ord)}
	if v.ord == 0 {
		e.id = c.pid() + "-flu" + v.season + "-visit"
	}
	// Each encounter draws from its own stream, so its values stay the
	// same from one day to the next.
	e.rng = rng(e.id)
	day := c.dayAt(v.ago)
	for taken[date(day)] {
		day = c.dayAt(c.agoOf(day) + 1)
	}
	taken[date(day)] = true
	by := v.by
	if by == "" {
		by = c.p.pcp
		if v.kind == "vaccine" {
			by = "delgado"
		}
	}
	e.by = clinicianByKey(by)
	e.site = sites[e.by.location]
	e.start = day.Add(clinicTime(e.by, e.rng))
	e.end = e.start.Add(time.Duration(visitKinds[v.kind].minutes) * time.Minute)
	c.encs = append(c.encs, e)
}

// clinicTime draws a slot start within the clinician's hours: 8:00-12:00,
// and 13:00-17:00 for those who also work afternoons.
func clinicTime(cl clinician, r *rand.Rand) time.Duration {
	perBlock := 4 * 60 / slotMinutes
	n := perBlock
	if cl.pm {
		n *= 2
	}
	i := r.IntN(n)
	start := 8 * 60
	if i >= perBlock {
		i, start = i-perBlock, 13*60
	}
	return time.Duration(start+i*slotMinutes) * time.Minute
}

const mergeDays = 30

func mergeInto(dst *visit, src visit) {
	for _, l := range src.labs {
		if !slices.Contains(dst.labs, l) {
			dst.labs = append(slices.Clip(dst.labs), l)
		}
	}
}

// fluShots gives a flu vaccine each season (from September) since the chart
// began: at the first visit between mid-September and mid-December, or at a
// nurse visit in October.
func (c *chart) fluShots(vs []visit) []visit {
	first := 0
	for _, v := range vs {
		first = max(first, v.ago)
	}
	startYear, endYear := c.day0.AddDate(0, 0, -first).Year(), c.day0.Year()
	vaccinated := false
	for y := startYear; y <= endYear; y++ {
		from := time.Date(y, time.September, 15, 0, 0, 0, 0, c.day0.Location())
		to := time.Date(y, time.December, 15, 0, 0, 0, 0, c.day0.Location())
		fromAgo, toAgo := c.agoOf(from), c.agoOf(to)
		if fromAgo > first || fromAgo < 1 {
			continue // before the chart, or the season has not begun
		}
		ageThen := c.p.ageDays - fromAgo
		if ageThen < 183 {
			continue // from six months of age
		}
		vac := "flu4"
		if y >= 2024 {
			vac = "flu3" // US vaccines are trivalent from the 2024-25 season
		}
		if ageThen >= years(65) {
			vac += "-hd"
		}
		season := fmt.Sprint(y)
		given := -1
		for i := range vs {
			if vs[i].ago <= fromAgo && vs[i].ago >= toAgo && vs[i].kind != "vaccine" {
				vs[i].vaccines = append(slices.Clip(vs[i].vaccines), vac)
				vs[i].season = season
				given = vs[i].ago
				break
			}
		}
		if given < 0 {
			if ago := fromAgo - 16 - rng(c.pid()+"-flu"+season).IntN(20); ago >= 1 {
				vs = append(vs, visit{ago: ago, kind: "vaccine", vaccines: []string{vac}, season: season})
				given = ago
			}
		}
		// Children under 9 need two doses four weeks apart in their first
		// season (CDC/ACIP).
		if given >= 0 && !vaccinated && ageThen < years(9) && given-28 >= 1 {
			vs = append(vs, visit{ago: given - 28, kind: "vaccine", vaccines: []string{vac}, season: season + "b"})
		}
		vaccinated = vaccinated || given >= 0
	}
	return vs
}

// agoOf counts the days from t's clinic day to today.
func (c *chart) agoOf(t time.Time) int {
	t = t.In(c.day0.Location())
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.day0.Location())
	return int(math.Round(c.day0.Sub(d).Hours() / 24))
}

// build writes the whole chart.
func (c *chart) build(cal *calendar) []map[string]any {
	c.byKey = map[string]*condState{}
	c.timeline()
	c.emit(c.patient())
	if g := c.p.guardian; g != nil {
		c.emit(c.relatedPerson(g))
	}
	if c.p.coverage != nil {
		c.emit(c.coverage())
	}
	pcp := clinicianByKey(c.p.pcp)
	for _, h := range c.p.history {
		cs := &condState{id: c.pid() + "-" + h.key, key: h.key, onset: c.dayAt(h.ago).Add(10 * time.Hour), recorder: pcp}
		if h.resolvedAgo > 0 {
			cs.abated = c.dayAt(h.resolvedAgo).Add(10 * time.Hour)
		}
		c.conds = append(c.conds, cs)
		c.byKey[h.key] = cs
	}
	for _, m := range c.p.meds {
		c.meds = append(c.meds, &medState{med: m, id: c.pid() + "-" + m.key, start: c.dayAt(m.ago).Add(10 * time.Hour), by: pcp})
	}
	c.allergies()
	for _, v := range c.p.atBirth {
		c.birthImmunization(v)
	}
	for _, e := range c.encs {
		c.visit(e)
	}
	for _, cs := range c.conds {
		c.emit(c.condition(cs))
	}
	for _, m := range c.meds {
		c.emit(c.medicationRequest(m))
	}
	c.emit(c.careTeam())
	for i, a := range c.p.next {
		c.emit(c.appointment(i+1, a, cal))
	}
	return c.out
}

// visit writes one encounter and everything recorded at it.
func (c *chart) visit(e *enc) {
	c.rng = e.rng
	for _, k := range e.dx {
		def := conditions[k]
		cs := &condState{key: k, onset: e.start, enc: e, recorder: e.by}
		if def.chronic {
			cs.id = c.pid() + "-" + k
		} else {
			cs.id = e.id + "-" + k
			cs.abated = e.start.AddDate(0, 0, def.lastsDays)
			if !cs.abated.Before(c.now) {
				cs.abated = time.Time{}
			}
		}
		c.conds = append(c.conds, cs)
		c.byKey[k] = cs
		e.diagnoses = append(e.diagnoses, cs)
	}
	for _, k := range e.resolve {
		if cs := c.byKey[k]; cs != nil {
			cs.abated = e.start
		}
	}
	for _, m := range c.meds {
		if why, ok := e.stop[m.key]; ok && m.stopped.IsZero() {
			m.stopped, m.why = e.start, why
		}
	}
	for _, m := range e.prescribe {
		id := c.pid() + "-" + m.key
		if m.days > 0 {
			id = e.id + "-" + m.key
		}
		c.meds = append(c.meds, &medState{med: m, id: id, start: e.start, enc: e, by: e.by})
	}
	c.emit(c.encounter(e))
	if e.kind != "vaccine" {
		c.vitalSigns(e)
	}
	c.socialHistory(e)
	if e.kind == "prenatal" || e.kind == "prenatal1" {
		c.pregnancy(e)
	}
	for _, l := range e.labs {
		c.labPanel(e, l)
	}
	for i, v := range e.vaccines {
		c.immunization(e, v, i)
	}
	if e.plan != "" {
		c.note(e)
	}
}

func (c *chart) reason(e *enc) map[string]any {
	switch {
	case e.reason == "anticoag":
		return concept("Warfarin monitoring", reasonAnticoag)
	case e.reason != "":
		return condConcept(conditions[e.reason])
	case e.kind == "vaccine":
		return concept("", reasonVaccine)
	case e.kind == "wellchild":
		return concept("", reasonChildExam)
	case e.kind == "prenatal" || e.kind == "prenatal1":
		return condConcept(conditions["pregnancy"])
	default:
		return concept("", reasonAdultExam)
	}
}

func condConcept(d condDef) map[string]any {
	codes := []code{{sysICD10CM, d.icd, d.icdDisplay}}
	if d.sct != "" {
		codes = append(codes, code{sysSNOMED, d.sct, d.sctDisplay})
	}
	return concept(d.text, codes...)
}

func (c *chart) encounter(e *enc) map[string]any {
	r := resource("Encounter", e.id)
	r["status"] = "finished"
	r["class"] = code{tho + "v3-ActCode", "AMB", "ambulatory"}.coding()
	r["type"] = concepts(concept("", visitKinds[e.kind].typ))
	r["subject"] = c.patientRef()
	r["participant"] = arr(map[string]any{
		"type":       concepts(concept("", code{tho + "v3-ParticipationType", "PPRF", "primary performer"})),
		"period":     period(e.start, e.end),
		"individual": e.by.ref(),
	})
	r["period"] = period(e.start, e.end)
	r["reasonCode"] = concepts(c.reason(e))
	if len(e.diagnoses) > 0 {
		var ds []any
		for i, cs := range e.diagnoses {
			ds = append(ds, map[string]any{"condition": ref("Condition", cs.id, conditions[cs.key].text), "rank": integer(i + 1)})
		}
		r["diagnosis"] = ds
	}
	r["location"] = arr(map[string]any{"location": e.site.ref(), "status": "completed"})
	r["serviceProvider"] = orgRef()
	return r
}

func (c *chart) condition(cs *condState) map[string]any {
	def := conditions[cs.key]
	r := resource("Condition", cs.id)
	status := code{tho + "condition-clinical", "active", "Active"}
	if !cs.abated.IsZero() {
		status = code{tho + "condition-clinical", "resolved", "Resolved"}
	}
	r["clinicalStatus"] = concept("", status)
	r["verificationStatus"] = concept("", code{tho + "condition-ver-status", "confirmed", "Confirmed"})
	cat := code{tho + "condition-category", "encounter-diagnosis", "Encounter Diagnosis"}
	if def.chronic {
		cat = code{tho + "condition-category", "problem-list-item", "Problem List Item"}
	}
	r["category"] = concepts(concept("", cat))
	r["code"] = condConcept(def)
	r["subject"] = c.patientRef()
	if cs.enc != nil {
		r["encounter"] = ref("Encounter", cs.enc.id, "")
	}
	r["onsetDateTime"] = dateTime(cs.onset)
	if !cs.abated.IsZero() {
		r["abatementDateTime"] = dateTime(cs.abated)
	}
	r["recordedDate"] = dateTime(cs.onset)
	r["recorder"] = cs.recorder.ref()
	return r
}

func (c *chart) medicationRequest(m *medState) map[string]any {
	d := drugs[m.drug]
	r := resource("MedicationRequest", m.id)
	switch {
	case !m.stopped.IsZero():
		r["status"] = "stopped"
		r["statusReason"] = concept(m.why)
	case m.days > 0 && m.start.AddDate(0, 0, m.days).Before(c.now):
		r["status"] = "completed"
	default:
		r["status"] = "active"
	}
	r["intent"] = "order"
	r["category"] = concepts(concept("", code{tho + "medicationrequest-category", "community", "Community"}))
	r["medicationCodeableConcept"] = concept("", code{sysRxNorm, d.rxnorm, d.display})
	r["subject"] = c.patientRef()
	if m.enc != nil {
		r["encounter"] = ref("Encounter", m.enc.id, "")
	}
	r["authoredOn"] = dateTime(m.start)
	r["requester"] = m.by.ref()
	if cs := c.condFor(m.reason, m.start); cs != nil {
		r["reasonReference"] = arr(ref("Condition", cs.id, conditions[m.reason].text))
	} else if m.reason != "" {
		r["reasonCode"] = concepts(condConcept(conditions[m.reason]))
	}
	r["dosageInstruction"] = arr(c.dosage(m.med, d))
	supply := m.days
	if supply == 0 {
		supply = 30
		if perDay := m.dose * float64(m.freq) / periodDays(m.period, m.unit); perDay > 0 && !m.prn {
			supply = min(90, int(d.pack/perDay))
		}
	}
	r["dispenseRequest"] = map[string]any{
		"validityPeriod":         map[string]any{"start": date(m.start), "end": date(m.start.AddDate(1, 0, 0))},
		"numberOfRepeatsAllowed": integer(m.refills),
		"quantity":               quantity(d.pack, 0, d.unit, d.ucum),
		"expectedSupplyDuration": quantity(float64(supply), 0, "days", "d"),
	}
	return r
}

// condFor finds the condition a prescription treats, as recorded by then.
func (c *chart) condFor(key string, t time.Time) *condState {
	var found *condState
	for _, cs := range c.conds {
		if cs.key == key && !cs.onset.After(t) {
			found = cs
		}
	}
	return found
}

func periodDays(p float64, unit string) float64 {
	switch unit {
	case "h":
		return p / 24
	case "wk":
		return p * 7
	}
	return p
}

// dosage is a Dosage (https://hl7.org/fhir/R4/dosage.html).
func (c *chart) dosage(m med, d drug) map[string]any {
	repeat := map[string]any{"frequency": integer(m.freq), "period": num(m.period, 0), "periodUnit": m.unit}
	if m.days > 0 {
		repeat["boundsDuration"] = quantity(float64(m.days), 0, "days", "d")
	}
	dec := 0
	if m.dose != float64(int(m.dose)) {
		dec = 1
	}
	return map[string]any{
		"sequence":        integer(1),
		"text":            m.sig,
		"timing":          map[string]any{"repeat": repeat},
		"asNeededBoolean": m.prn,
		"route":           concept("", d.route),
		"doseAndRate": arr(map[string]any{
			"type":         concept("", code{tho + "dose-rate-type", "ordered", "Ordered"}),
			"doseQuantity": quantity(m.dose, dec, d.unit, d.ucum),
		}),
	}
}
