package schedule

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Booking asks for an appointment in a free slot.
type Booking struct {
	SlotID  string
	Patient string // "Patient/id"
	// Reason is the reason for the visit, in the patient's or the front
	// desk's words (Appointment.reasonCode.text).
	Reason string
	// ServiceType is the kind of visit; empty takes the slot's.
	ServiceType Code
	// Virtual makes it a virtual visit with a join link.
	Virtual bool
	Comment string
}

// slotLocked reads a slot inside a transaction (PostgreSQL locks its row
// until the transaction ends; the embedded store re-runs a transaction
// whose read went stale), so two bookings of one slot cannot both see it
// free.
func slotLocked(ctx context.Context, tx *repo.Tx, id string) (*Slot, map[string]any, error) {
	rec, err := tx.Read(ctx, "Slot", id)
	if err != nil {
		return nil, nil, err
	}
	res, err := parse(rec)
	if err != nil {
		return nil, nil, err
	}
	return slotOf(rec, res), res, nil
}

// setSlotStatus writes a new status on a slot read in the transaction.
func setSlotStatus(ctx context.Context, tx *repo.Tx, sl *Slot, res map[string]any, status string) error {
	res["status"] = status
	_, err := tx.Update(ctx, "Slot", sl.ID, res, repo.UpdateOptions{IfMatch: sl.Version})
	return err
}

// takeSlot checks that a slot can be booked now and marks it busy.
func (s *Service) takeSlot(ctx context.Context, tx *repo.Tx, op, id string) (*Slot, error) {
	sl, res, err := slotLocked(ctx, tx, id)
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
		return nil, errs.E(op, errs.NotFound, "this time slot does not exist", err)
	}
	if err != nil {
		return nil, err
	}
	if sl.Status != "free" {
		return nil, conflict(op, "This time slot is no longer available; please choose another one.")
	}
	if !sl.Start.After(s.now()) {
		return nil, invalid(op, "slot", "This time slot has already started; please choose a later one.")
	}
	if err := setSlotStatus(ctx, tx, sl, res, "busy"); err != nil {
		return nil, err
	}
	return sl, nil
}

// releaseSlots frees the busy slots of an appointment.
func releaseSlots(ctx context.Context, tx *repo.Tx, ids []string) error {
	for _, id := range ids {
		sl, res, err := slotLocked(ctx, tx, id)
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
			continue
		}
		if err != nil {
			return err
		}
		if sl.Status == "busy" {
			if err := setSlotStatus(ctx, tx, sl, res, "free"); err != nil {
				return err
			}
		}
	}
	return nil
}

// participants are the Appointment's practitioner and location
// participants, from the slot's Schedule.
func (s *Service) participants(ctx context.Context, tx *repo.Tx, sl *Slot) ([]any, error) {
	// A search, not a read: PostgreSQL would lock the Schedule's row and
	// serialize every booking of the practitioner's day on it.
	_, id, _, _ := splitRef(sl.Schedule)
	q, err := s.query("Schedule", url.Values{"_id": {id}})
	if err != nil {
		return nil, err
	}
	found, err := tx.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(found.Records) == 0 {
		return nil, errs.E("book", errs.Conflict, fmt.Sprintf("the schedule of slot %s no longer exists", sl.ID))
	}
	res, err := parse(found.Records[0])
	if err != nil {
		return nil, err
	}
	var out []any
	for _, a := range fhir.List(res["actor"]) {
		r := fhir.RefOf(a)
		p := map[string]any{"actor": fhir.Reference(r), "required": "required", "status": "accepted"}
		switch {
		case strings.HasPrefix(r, "Practitioner/"), strings.HasPrefix(r, "PractitionerRole/"):
			p["type"] = []any{Code{System: participationSystem, Code: "PPRF", Display: "primary performer"}.concept()}
		case strings.HasPrefix(r, "Location/"):
		default:
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// Book books a free slot for a patient, in one transaction: the Slot
// becomes busy and the Appointment (status booked, the patient, the
// schedule's practitioner and location, start and end of the slot) is
// created. A slot that is not free, or already started, is refused with
// errs.Conflict (errs.Invalid) and a message for the user; of two
// concurrent bookings of one slot exactly one succeeds.
func (s *Service) Book(ctx context.Context, b Booking) (*Appointment, error) {
	const op = "book"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "slot", b.SlotID); err != nil {
		return nil, err
	}
	patID, err := checkRef(op, "patient", b.Patient, "Patient")
	if err != nil {
		return nil, err
	}
	if len(b.Reason) > 1000 {
		return nil, invalid(op, "reason", "the reason is limited to 1000 characters")
	}
	if b.Virtual && s.virtualBase == "" {
		return nil, errs.E(op, errs.NotSupported, "virtual visits are not set up in this clinic")
	}
	if err := forPatient(ctx, op, b.Patient); err != nil {
		return nil, err
	}
	cctx := clinicCtx(ctx)
	patRec, err := s.repo.Read(ctx, "Patient", patID)
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
		return nil, invalid(op, "patient", "there is no such patient")
	}
	if err != nil {
		return nil, err
	}
	pat, err := parse(patRec)
	if err != nil {
		return nil, err
	}
	name := PersonName(pat)
	var out *Appointment
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		sl, err := s.takeSlot(cctx, tx, op, b.SlotID)
		if err != nil {
			return err
		}
		parts, err := s.participants(cctx, tx, sl)
		if err != nil {
			return err
		}
		res, err := fhir.Normalize(s.newAppointment(b, sl, parts, name, tx.Now()))
		if err != nil {
			return err
		}
		o, err := tx.Create(ctx, res, repo.CreateOptions{})
		if err != nil {
			return err
		}
		rres, err := parse(o.Record)
		if err != nil {
			return err
		}
		out = appointmentOf(o.Record, rres)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// newAppointment is the Appointment of a booking in slot sl.
func (s *Service) newAppointment(b Booking, sl *Slot, parts []any, name string, now time.Time) map[string]any {
	actor := map[string]any{"reference": b.Patient}
	if name != "" {
		actor["display"] = name
	}
	patient := map[string]any{"actor": actor, "required": "required", "status": "accepted"}
	res := map[string]any{
		"resourceType": "Appointment",
		"status":       "booked",
		"start":        instant(sl.Start),
		"end":          instant(sl.End),
		"slot":         []any{fhir.Reference("Slot/" + sl.ID)},
		"created":      now.UTC().Format(time.RFC3339),
		"participant":  append([]any{patient}, parts...),
	}
	st := b.ServiceType
	if st.zero() {
		st = sl.ServiceType
	}
	if !st.zero() {
		res["serviceType"] = []any{st.concept()}
	}
	if r := strings.TrimSpace(b.Reason); r != "" {
		res["reasonCode"] = []any{map[string]any{"text": r}}
	}
	if c := strings.TrimSpace(b.Comment); c != "" {
		res["comment"] = c
	}
	if b.Virtual {
		res["extension"] = []any{map[string]any{"url": VirtualVisitURL, "valueUrl": s.roomURL()}}
	}
	return res
}

// change reads an appointment in a transaction, lets fn change it and
// stores the result.
//
// A patient user may change only the appointments of patients they act
// for; the write (and what fn does with cctx) is the clinic's bookkeeping
// (clinicCtx).
func (s *Service) change(ctx context.Context, op, id string, fn func(cctx context.Context, tx *repo.Tx, a *Appointment, res map[string]any) error) (*Appointment, error) {
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "appointment", id); err != nil {
		return nil, err
	}
	var out *Appointment
	err := s.repo.InTx(ctx, func(tx *repo.Tx) error {
		rec, err := tx.Read(ctx, "Appointment", id)
		if err != nil {
			return err
		}
		res, err := parse(rec)
		if err != nil {
			return err
		}
		a := appointmentOf(rec, res)
		if err := forPatient(ctx, op, a.Patient); err != nil {
			return err
		}
		cctx := clinicCtx(ctx)
		if err := fn(cctx, tx, a, res); err != nil {
			return err
		}
		if res, err = fhir.Normalize(res); err != nil {
			return err
		}
		o, err := tx.Update(cctx, "Appointment", id, res, repo.UpdateOptions{IfMatch: rec.Version})
		if err != nil {
			return err
		}
		nres, err := parse(o.Record)
		if err != nil {
			return err
		}
		out = appointmentOf(o.Record, nres)
		return nil
	})
	return out, err
}

// Cancel cancels an active appointment (status cancelled, with
// cancelationReason: code pat or prov by who asks, and the reason as
// text) and frees its slot, in one transaction. A patient must respect the
// notice period (PatientMayCancel).
func (s *Service) Cancel(ctx context.Context, id string, by Actor, reason string) (*Appointment, error) {
	const op = "cancel appointment"
	if _, ok := patientUser(ctx); ok {
		by = ByPatient // a patient's change is always under the clinic's rules
	}
	return s.change(ctx, op, id, func(cctx context.Context, tx *repo.Tx, a *Appointment, res map[string]any) error {
		if !active(a.Status) {
			return conflict(op, fmt.Sprintf("This appointment is already %s.", statusWords(a.Status)))
		}
		code := Code{System: CancelReasonSystem, Code: "prov", Display: "Provider"}
		if by == ByPatient {
			if ok, why := s.PatientMayCancel(a, s.now()); !ok {
				return errs.E(op, errs.Permission, why)
			}
			code = Code{System: CancelReasonSystem, Code: "pat", Display: "Patient"}
		}
		code.Text = strings.TrimSpace(reason)
		res["status"] = "cancelled"
		res["cancelationReason"] = code.concept()
		return releaseSlots(cctx, tx, a.Slots)
	})
}

// NoShow records that the patient did not come (status noshow). The slot
// stays busy: the time was spent. It is refused before the appointment
// starts.
func (s *Service) NoShow(ctx context.Context, id string) (*Appointment, error) {
	const op = "no-show"
	if err := staffOnly(ctx, op); err != nil {
		return nil, err
	}
	return s.change(ctx, op, id, func(_ context.Context, tx *repo.Tx, a *Appointment, res map[string]any) error {
		if a.Status != "booked" {
			return conflict(op, fmt.Sprintf("Only a booked appointment can be marked as missed; this one is %s.", statusWords(a.Status)))
		}
		if s.now().Before(a.Start) {
			return invalid(op, "appointment", "An appointment can be marked as missed only once it has started.")
		}
		res["status"] = "noshow"
		return nil
	})
}

// Reschedule moves an active appointment to another free slot, in one
// transaction: the Appointment keeps its id (so links, reminders and its
// history stay) and gets the new slot, start, end, practitioner and
// location; the old slot becomes free and the new one busy. A patient must
// respect the notice period on the appointment being moved.
func (s *Service) Reschedule(ctx context.Context, id, newSlotID string, by Actor) (*Appointment, error) {
	const op = "reschedule appointment"
	if err := checkID(op, "slot", newSlotID); err != nil {
		return nil, err
	}
	if _, ok := patientUser(ctx); ok {
		by = ByPatient
	}
	return s.change(ctx, op, id, func(cctx context.Context, tx *repo.Tx, a *Appointment, res map[string]any) error {
		if !active(a.Status) {
			return conflict(op, fmt.Sprintf("This appointment is %s and cannot be moved.", statusWords(a.Status)))
		}
		if by == ByPatient {
			if ok, why := s.PatientMayCancel(a, s.now()); !ok {
				return errs.E(op, errs.Permission, why)
			}
		}
		for _, old := range a.Slots {
			if old == newSlotID {
				return invalid(op, "slot", "The appointment is already in this time slot.")
			}
		}
		if err := releaseSlots(cctx, tx, a.Slots); err != nil {
			return err
		}
		sl, err := s.takeSlot(cctx, tx, op, newSlotID)
		if err != nil {
			return err
		}
		parts, err := s.participants(cctx, tx, sl)
		if err != nil {
			return err
		}
		keep := []any{}
		for _, p := range fhir.List(res["participant"]) {
			r := fhir.RefOf(fhir.Obj(p)["actor"])
			if !strings.HasPrefix(r, "Practitioner/") && !strings.HasPrefix(r, "PractitionerRole/") && !strings.HasPrefix(r, "Location/") {
				keep = append(keep, p)
			}
		}
		res["participant"] = append(keep, parts...)
		res["slot"] = []any{fhir.Reference("Slot/" + sl.ID)}
		res["start"], res["end"] = instant(sl.Start), instant(sl.End)
		return nil
	})
}

// CheckIn records the patient's arrival: the Appointment becomes arrived
// and the visit's Encounter (status in-progress, class AMB, or VR for a
// virtual visit, linked by Encounter.appointment) is created, in one
// transaction. Checking in again returns the same Encounter; an
// Encounter already linked to the appointment is used rather than a
// second one created. It returns the Encounter's id.
func (s *Service) CheckIn(ctx context.Context, id string) (string, error) {
	const op = "check in"
	if err := principal(ctx, op); err != nil {
		return "", err
	}
	if err := staffOnly(ctx, op); err != nil {
		return "", err
	}
	if err := checkID(op, "appointment", id); err != nil {
		return "", err
	}
	var encID string
	err := s.repo.InTx(ctx, func(tx *repo.Tx) error {
		encID = ""
		rec, err := tx.Read(ctx, "Appointment", id)
		if err != nil {
			return err
		}
		res, err := parse(rec)
		if err != nil {
			return err
		}
		a := appointmentOf(rec, res)
		switch a.Status {
		case "booked", "arrived", "checked-in", "fulfilled":
		default:
			return conflict(op, fmt.Sprintf("This appointment is %s and cannot be checked in.", statusWords(a.Status)))
		}
		q, err := s.query("Encounter", url.Values{"appointment": {"Appointment/" + id}, "_sort": {"_lastUpdated"}})
		if err != nil {
			return err
		}
		found, err := tx.Search(ctx, q)
		if err != nil {
			return err
		}
		if len(found.Records) > 0 {
			encID = found.Records[0].ID
		} else {
			enc, err := fhir.Normalize(encounter(a, serviceProvider(ctx), tx.Now()))
			if err != nil {
				return err
			}
			o, err := tx.Create(ctx, enc, repo.CreateOptions{})
			if err != nil {
				return err
			}
			encID = o.Record.ID
		}
		if a.Status == "booked" {
			res["status"] = "arrived"
			if res, err = fhir.Normalize(res); err != nil {
				return err
			}
			if _, err := tx.Update(ctx, "Appointment", id, res, repo.UpdateOptions{IfMatch: rec.Version}); err != nil {
				return err
			}
		}
		return nil
	})
	return encID, err
}

// serviceProvider is the organization the checking-in user acts for
// ("Organization/id"), or "" for operators and the system. It becomes
// Encounter.serviceProvider: the visit is that organization's care of the
// patient (which the access policy's treatment relationship reads).
func serviceProvider(ctx context.Context) string {
	p := access.From(ctx)
	if p == nil || p.Organization == "" {
		return ""
	}
	if strings.Contains(p.Organization, "/") {
		return p.Organization
	}
	return "Organization/" + p.Organization
}

// encounter is the Encounter of a visit that starts at now.
func encounter(a *Appointment, provider string, now time.Time) map[string]any {
	class := Code{System: actCodeSystem, Code: "AMB", Display: "ambulatory"}
	if a.Virtual() {
		class = Code{System: actCodeSystem, Code: "VR", Display: "virtual"}
	}
	enc := map[string]any{
		"resourceType": "Encounter",
		"status":       "in-progress",
		"class":        map[string]any{"system": class.System, "code": class.Code, "display": class.Display},
		"subject":      fhir.Reference(a.Patient),
		"appointment":  []any{fhir.Reference("Appointment/" + a.ID)},
		"period":       map[string]any{"start": now.UTC().Format(time.RFC3339)},
	}
	if !a.ServiceType.zero() {
		enc["serviceType"] = a.ServiceType.concept()
	}
	var parts []any
	for _, p := range a.Practitioners {
		parts = append(parts, map[string]any{
			"type":       []any{Code{System: participationSystem, Code: "PPRF", Display: "primary performer"}.concept()},
			"individual": fhir.Reference(p),
		})
	}
	if parts != nil {
		enc["participant"] = parts
	}
	var locs []any
	for _, l := range a.Locations {
		locs = append(locs, map[string]any{"location": fhir.Reference(l), "status": "active"})
	}
	if locs != nil {
		enc["location"] = locs
	}
	if a.Reason != "" {
		enc["reasonCode"] = []any{map[string]any{"text": a.Reason}}
	}
	if provider != "" {
		enc["serviceProvider"] = fhir.Reference(provider)
	}
	return enc
}

func splitRef(r string) (typ, id, vid string, ok bool) {
	typ, id, ok = strings.Cut(r, "/")
	return typ, id, "", ok
}
