package chart

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// Summary is the chart's first page.
type Summary struct {
	At     time.Time // the time it was computed at (ages, due, upcoming)
	Banner Banner
	// Problems are the active problems, newest onset first.
	Problems []Problem
	// Medications are the active medications, by name.
	Medications []Medication
	// Allergies are the current allergies, high criticality first; the
	// banner's AllergyStatus says whether none were recorded or none are known.
	Allergies []Allergy
	// Immunizations are the latest dose of each vaccine given, newest first.
	Immunizations []Immunization
	// Due are the immunizations the starter rules find due.
	Due []Due
	// Vitals are the latest vital signs, in the order of the vitals table.
	Vitals []Vital
	// Results are the latest laboratory result of each code, newest first.
	Results []Observation
	// Social is the latest social history observation of each code.
	Social []Observation
	// Appointments are the upcoming appointments, soonest first.
	Appointments []Appointment
	// CareTeam lists the general practitioners and care team members.
	CareTeam []CareMember
	// Encounters are the most recent encounters, newest first.
	Encounters []Encounter
}

// RecentEncounters is how many encounters the summary lists.
const RecentEncounters = 5

// summaryTypes are the types the summary reads from the compartment.
var summaryTypes = []string{"AllergyIntolerance", "Appointment", "CareTeam", "Condition", "Encounter", "Flag",
	"Immunization", "MedicationRequest", "MedicationStatement", "Observation"}

// Summary computes the summary of a patient's chart. It reads the Patient
// and, concurrently, the resources of the summary's types in the patient's
// compartment (one search); a third search reads the Medication resources
// that active medications reference, when there are any.
func (c *Chart) Summary(ctx context.Context, patientID string) (*Summary, error) {
	const op = "chart summary"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, patientID); err != nil {
		return nil, err
	}
	now := c.now()
	var patient map[string]any
	var recs records
	err := parallel(2, func(i int) error {
		var err error
		if i == 0 {
			patient, err = c.readPatient(ctx, patientID)
		} else {
			recs, err = c.summaryRecords(ctx, patientID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	meds, err := c.medications(ctx, recs["MedicationRequest"], recs["MedicationStatement"], activeRequest, activeStatement)
	if err != nil {
		return nil, err
	}
	src := newSourcer(c.home, patient, recs["Encounter"])
	patientRef := "Patient/" + patientID
	s := &Summary{At: now, Banner: banner(patient, patientID, now)}
	s.Problems = problems(recs["Condition"], src)
	s.Medications = medications(recs["MedicationRequest"], recs["MedicationStatement"], meds, src)
	s.Allergies, s.Banner.AllergyStatus = allergies(recs["AllergyIntolerance"], src)
	for _, a := range s.Allergies {
		s.Banner.Allergies = append(s.Banner.Allergies, a.Substance.Text)
	}
	s.Banner.Alerts = flags(recs["Flag"], now)
	switch s.Banner.AllergyStatus {
	case AllergiesNotRecorded:
		s.Banner.Alerts = append(s.Banner.Alerts, Alert{Text: "Allergies not recorded", Category: "allergy"})
	case NoKnownAllergies:
		s.Banner.Alerts = append(s.Banner.Alerts, Alert{Text: "No known allergies", Category: "allergy"})
	}
	s.Immunizations = given(recs["Immunization"], src)
	s.Due = due(s.Banner, recs["Immunization"], now)
	obs := make([]Observation, 0, len(recs["Observation"]))
	for _, r := range recs["Observation"] {
		if st := fhir.Str(r.Res["status"]); st == "cancelled" {
			continue
		}
		o := observation(r)
		o.Source = src.of(r)
		obs = append(obs, o)
	}
	s.Vitals = latestVitals(obs)
	s.Results = latestByCode(obs, isLab)
	s.Social = latestByCode(obs, isSocial)
	s.Appointments = upcoming(recs["Appointment"], patientRef, now)
	s.CareTeam = careTeam(patient, recs["CareTeam"], patientRef)
	var encs []Encounter
	for _, r := range recs["Encounter"] {
		if shownEncounter(r) {
			encs = append(encs, encounter(r, src))
		}
	}
	sortEncounters(encs)
	s.Encounters = encs[:min(len(encs), RecentEncounters)]
	return s, nil
}

// summaryRecords reads the compartment's resources of the summary's
// types (by the Chart's plan) and parses them, all but the observations
// that are not the newest of their code (peek.go).
func (c *Chart) summaryRecords(ctx context.Context, patientID string) (records, error) {
	const op = "chart summary"
	if c.plan != planSplit {
		all, err := c.compartmentRecords(ctx, patientID, summaryTypes, c.plan == planPerType)
		if err != nil {
			return nil, err
		}
		var obs, rest []*store.Record
		for _, r := range all {
			if r.Type == "Observation" {
				obs = append(obs, r)
			} else {
				rest = append(rest, r)
			}
		}
		if !c.parseAll {
			if obs, err = newestObservations(obs); err != nil {
				return nil, errs.E(op, errs.Internal, err)
			}
		}
		return group(append(rest, obs...))
	}
	var obs, rest records
	err := parallel(2, func(i int) error {
		if i == 0 {
			recs, err := c.compartmentRecords(ctx, patientID, []string{"Observation"}, false)
			if err != nil {
				return err
			}
			if !c.parseAll {
				if recs, err = newestObservations(recs); err != nil {
					return errs.E(op, errs.Internal, err)
				}
			}
			obs, err = group(recs)
			return err
		}
		var err error
		rest, err = c.compartment(ctx, patientID, summaryTypes[:len(summaryTypes)-1]) // all but Observation, the last
		return err
	})
	if err != nil {
		return nil, err
	}
	rest["Observation"] = obs["Observation"]
	return rest, nil
}

// medications reads the Medication resources that the requests and
// statements of the given statuses reference (Medication is outside the
// patient compartment), in one search by id; it returns their codes by id.
func (c *Chart) medications(ctx context.Context, reqs, stmts []record, reqStatus, stmtStatus map[string]bool) (map[string]Concept, error) {
	ids := medicationRefs(reqs, stmts, reqStatus, stmtStatus)
	if len(ids) == 0 {
		return nil, nil
	}
	or := make([]store.Predicate, len(ids))
	for i, id := range ids {
		or[i] = store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: id}
	}
	res, err := c.repo.Search(ctx, &store.Query{Types: []string{"Medication"}, Where: []store.Clause{{Or: or}}})
	if err != nil {
		return nil, err
	}
	recs, err := group(res.Records)
	if err != nil {
		return nil, err
	}
	out := map[string]Concept{}
	for _, r := range recs["Medication"] {
		out[r.ID] = concept(fhir.Obj(r.Res["code"]))
	}
	return out, nil
}
