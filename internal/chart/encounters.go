package chart

import (
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
)

// Encounter is one encounter of the timeline (and of the summary's recent
// encounters).
type Encounter struct {
	ID       string
	Status   string
	Class    string // ambulatory, inpatient... (Encounter.class display or code)
	Type     string
	Reason   string
	Provider string // the primary performer (else the first participant)
	Location string
	Start    Date
	End      Date
	Source   Source
	// Counts of what was recorded in the encounter (Timeline only).
	Diagnoses     int
	Observations  int
	Procedures    int
	Prescriptions int
}

// shownEncounter leaves out encounters that did not happen.
func shownEncounter(r record) bool {
	s := fhir.Str(r.Res["status"])
	return s != "cancelled"
}

func encounter(r record, src *sourcer) Encounter {
	res := r.Res
	e := Encounter{ID: r.ID, Status: fhir.Str(res["status"]), Source: src.of(r)}
	if c := fhir.Obj(res["class"]); c != nil {
		e.Class = fhir.Str(c["display"])
		if e.Class == "" {
			e.Class = classNames[fhir.Str(c["code"])]
		}
		if e.Class == "" {
			e.Class = fhir.Str(c["code"])
		}
	}
	var types []string
	for _, t := range concepts(res, "type") {
		types = append(types, t.Text)
	}
	e.Type = strings.Join(types, "; ")
	var reasons []string
	for _, rc := range concepts(res, "reasonCode") {
		reasons = append(reasons, rc.Text)
	}
	for _, rr := range objs(res, "reasonReference") {
		if d := fhir.Str(rr["display"]); d != "" {
			reasons = append(reasons, d)
		}
	}
	e.Reason = strings.Join(reasons, "; ")
	for _, p := range objs(res, "participant") {
		ind := ref(fhir.Obj(p["individual"]))
		if ind.Label() == "" {
			continue
		}
		primary := false
		for _, t := range concepts(p, "type") {
			if t.Has("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF") {
				primary = true
			}
		}
		if e.Provider == "" || primary {
			e.Provider = ind.Label()
		}
		if primary {
			break
		}
	}
	for _, l := range objs(res, "location") {
		if lr := ref(fhir.Obj(l["location"])); lr.Label() != "" {
			e.Location = lr.Label()
			break
		}
	}
	e.Start, e.End = period(fhir.Obj(res["period"]))
	return e
}

// classNames names the HL7 v3 ActCode encounter classes
// (http://terminology.hl7.org/CodeSystem/v3-ActCode).
var classNames = map[string]string{
	"AMB": "ambulatory", "EMER": "emergency", "FLD": "field", "HH": "home health", "IMP": "inpatient",
	"ACUTE": "inpatient acute", "NONAC": "inpatient non-acute", "OBSENC": "observation", "PRENC": "pre-admission",
	"SS": "short stay", "VR": "virtual",
}

// sortEncounters orders encounters newest first.
func sortEncounters(es []Encounter) {
	slices.SortStableFunc(es, func(a, b Encounter) int { return newestFirst(a.Start, b.Start, a.ID, b.ID) })
}
