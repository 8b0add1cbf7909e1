package visit

import (
	"context"
	"net/url"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// VisitType is a kind of visit a clinician starts: the Encounter.type
// written for it (SNOMED CT procedure codes for encounters, as US Core's
// Encounter type value set allows) and the note template it suggests.
type VisitType struct {
	ID       string // "checkup", "follow-up", "acute"
	Label    string
	Code     Code
	Template string // the Template ID suggested for the note
}

var visitTypes = []VisitType{
	{ID: "checkup", Label: "Annual physical", Code: Code{sysSNOMED, "185349003", "Encounter for check up (procedure)"}, Template: "annual-physical"},
	{ID: "follow-up", Label: "Follow-up visit", Code: Code{sysSNOMED, "390906007", "Follow-up encounter (procedure)"}, Template: "follow-up"},
	{ID: "acute", Label: "Acute visit", Code: Code{sysSNOMED, "185345009", "Encounter for symptom (procedure)"}, Template: "acute"},
}

// VisitTypes lists the kinds of visit Start accepts.
func VisitTypes() []VisitType { return append([]VisitType(nil), visitTypes...) }

func visitType(id string) (VisitType, bool) {
	for _, v := range visitTypes {
		if v.ID == id {
			return v, true
		}
	}
	return VisitType{}, false
}

// StartRequest is what starting a visit needs. Patient and Practitioner
// are required; Location and Appointment are optional. References are
// "Type/id" or a bare id.
type StartRequest struct {
	Patient      string
	Practitioner string
	Location     string
	Type         string // a VisitType ID
	Reason       string // the reason for the visit, as the patient gives it
	Appointment  string // the booked appointment, if any
	Virtual      bool   // a video or telephone visit (class VR)
}

// Start opens a visit: an Encounter in progress (class AMB, or VR for a
// virtual visit) that started now, with the practitioner as primary
// performer, the location, the reason, and the serviceProvider the
// principal's organization. When an encounter already exists for the
// appointment, that one is returned and nothing is written (starting a
// booked visit twice is the same visit).
func (s *Service) Start(ctx context.Context, req StartRequest) (string, error) {
	const op = "start visit"
	p, err := principal(ctx, op)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	patient := normRef(req.Patient, "Patient")
	if patient == "" {
		fe.add("patient", "Choose the patient")
	}
	practitioner := normRef(req.Practitioner, "Practitioner")
	if practitioner == "" {
		fe.add("practitioner", "Choose the practitioner")
	}
	location := ""
	if strings.TrimSpace(req.Location) != "" {
		if location = normRef(req.Location, "Location"); location == "" {
			fe.add("location", "The location is not a valid id")
		}
	}
	appointment := ""
	if strings.TrimSpace(req.Appointment) != "" {
		if appointment = normRef(req.Appointment, "Appointment"); appointment == "" {
			fe.add("appointment", "The appointment is not a valid id")
		}
	}
	vt, ok := visitType(req.Type)
	if !ok {
		fe.add("type", "Choose the type of visit")
	}
	reason := strings.TrimSpace(req.Reason)
	if len(reason) > 500 {
		fe.add("reason", "The reason is too long (500 characters at most)")
	}
	if err := fe.err(op); err != nil {
		return "", err
	}
	org := s.organization(p.Organization)
	var id string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		fe := FieldErrors{}
		for _, c := range []struct{ field, ref, what string }{
			{"patient", patient, "patient"},
			{"practitioner", practitioner, "practitioner"},
			{"location", location, "location"},
		} {
			if c.ref == "" {
				continue
			}
			if err := exists(ctx, tx, fe, c.field, c.ref, c.what); err != nil {
				return err
			}
		}
		if err := fe.err(op); err != nil {
			return err
		}
		newID := ""
		if appointment != "" {
			appt, err := load(ctx, tx, op, "appointment", appointment, "appointment")
			if err != nil {
				return err
			}
			if !hasParticipant(appt.Res, patient) {
				return fieldErr(op, "appointment", "The appointment is for another patient")
			}
			if st := fhir.Str(appt.Res["status"]); st == "cancelled" || st == "noshow" || st == "entered-in-error" {
				return fieldErr(op, "appointment", "The appointment is "+st)
			}
			found, err := s.find(ctx, tx, "Encounter", url.Values{"appointment": {appointment}})
			if err != nil {
				return err
			}
			if len(found) == 0 {
				// One encounter per appointment even when two starts race:
				// the store refuses the second version 1 of this id.
				newID = derivedID("appt", strings.TrimPrefix(appointment, "Appointment/"))
			}
			for _, e := range found {
				if fhir.RefOf(e.Res["subject"]) != patient {
					return fieldErr(op, "appointment", "The appointment's visit belongs to another patient")
				}
				if st := fhir.Str(e.Res["status"]); st != "cancelled" && st != "entered-in-error" {
					id = e.ID
					return nil
				}
			}
		}
		enc := map[string]any{
			"resourceType": "Encounter",
			"status":       "in-progress",
			"class":        coding(sysActCode, "AMB", "ambulatory"),
			"type":         []any{concept(vt.Code.System, vt.Code.Code, vt.Code.Display)},
			"subject":      fhir.Reference(patient),
			"participant": []any{map[string]any{
				"type":       []any{concept(sysParticipant, "PPRF", "primary performer")},
				"individual": fhir.Reference(practitioner),
			}},
			"period": map[string]any{"start": dateTime(tx.Now())},
		}
		if req.Virtual {
			enc["class"] = coding(sysActCode, "VR", "virtual")
		}
		if reason != "" {
			enc["reasonCode"] = []any{map[string]any{"text": reason}}
		}
		if location != "" {
			enc["location"] = []any{map[string]any{"location": fhir.Reference(location), "status": "active"}}
		}
		if appointment != "" {
			enc["appointment"] = []any{fhir.Reference(appointment)}
		}
		if org != "" {
			enc["serviceProvider"] = fhir.Reference(org)
		}
		out, err := tx.Create(ctx, enc, repo.CreateOptions{ID: newID})
		if err != nil {
			return err
		}
		id = out.Record.ID
		return nil
	})
	return id, err
}

// organization is the serviceProvider: the principal's organization, else
// the deployment's own.
func (s *Service) organization(principalOrg string) string {
	if ref := normRef(principalOrg, "Organization"); ref != "" {
		return ref
	}
	return s.org
}

// Finish closes the visit: status finished, period.end now, and each
// location's stay completed.
func (s *Service) Finish(ctx context.Context, encounterID string) error {
	const op = "finish visit"
	if _, err := principal(ctx, op); err != nil {
		return err
	}
	return s.repo.InTx(ctx, func(tx *repo.Tx) error {
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		res := enc.Res
		res["status"] = "finished"
		period := fhir.Obj(res["period"])
		if period == nil {
			period = map[string]any{}
			res["period"] = period
		}
		period["end"] = dateTime(tx.Now())
		if _, ok := period["start"]; !ok {
			period["start"] = period["end"]
		}
		locs := fhir.List(res["location"])
		for _, l := range locs {
			if m := fhir.Obj(l); m["status"] == "active" {
				m["status"] = "completed"
			}
		}
		_, err = tx.Update(ctx, "Encounter", enc.ID, res, repo.UpdateOptions{IfMatch: enc.Version})
		if errs.KindOf(err) == errs.Precondition {
			return errs.E(op, errs.Conflict, "The visit was changed meanwhile; try again", err)
		}
		return err
	})
}

// hasParticipant reports whether ref takes part in an Appointment.
func hasParticipant(appt map[string]any, ref string) bool {
	parts := fhir.List(appt["participant"])
	for _, p := range parts {
		if fhir.RefOf(fhir.Obj(p)["actor"]) == ref {
			return true
		}
	}
	return false
}
