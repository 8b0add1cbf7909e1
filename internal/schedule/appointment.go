package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// VirtualVisitURL is the extension on Appointment that holds the join link
// of a virtual visit (valueUrl). R4's Appointment has no element for it
// (R5's virtualService came later).
const VirtualVisitURL = "http://openchart.org/fhir/StructureDefinition/virtual-visit-url"

// CancelReasonSystem is the code system of Appointment.cancelationReason
// (the R4 example value set appointment-cancellation-reason).
const CancelReasonSystem = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"

const (
	participationSystem = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	actCodeSystem       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// Appointment is the view of an Appointment resource.
type Appointment struct {
	ID      string
	Version int64
	// Status is the R4 status: proposed, pending, booked, arrived,
	// fulfilled, cancelled, noshow, entered-in-error, checked-in, waitlist.
	Status        string
	Start, End    time.Time
	Patient       string // "Patient/id"
	PatientName   string
	Practitioners []string // "Practitioner/id"
	Locations     []string // "Location/id"
	Slots         []string // Slot ids
	ServiceType   Code
	Reason        string
	Comment       string
	// JoinURL is the link to a virtual visit ("" for an in-person one).
	JoinURL      string
	CancelReason Code
}

// Virtual reports whether the visit is virtual.
func (a *Appointment) Virtual() bool { return a.JoinURL != "" }

func appointmentOf(rec *store.Record, res map[string]any) *Appointment {
	a := &Appointment{ID: rec.ID, Version: rec.Version, Status: fhir.Str(res["status"]),
		Start: parseInstant(res["start"]), End: parseInstant(res["end"]), Comment: fhir.Str(res["comment"])}
	for _, p := range fhir.List(res["participant"]) {
		m := fhir.Obj(p)
		actor := fhir.Obj(m["actor"])
		r := fhir.Str(actor["reference"])
		switch {
		case strings.HasPrefix(r, "Patient/") && a.Patient == "":
			a.Patient, a.PatientName = r, fhir.Str(actor["display"])
		case strings.HasPrefix(r, "Practitioner/"):
			a.Practitioners = append(a.Practitioners, r)
		case strings.HasPrefix(r, "Location/"):
			a.Locations = append(a.Locations, r)
		}
	}
	for _, sl := range fhir.List(res["slot"]) {
		if _, id, ok := strings.Cut(fhir.RefOf(sl), "Slot/"); ok {
			a.Slots = append(a.Slots, id)
		}
	}
	if st := fhir.List(res["serviceType"]); len(st) > 0 {
		a.ServiceType = codeOf(st[0])
	}
	if rc := fhir.List(res["reasonCode"]); len(rc) > 0 {
		a.Reason = codeOf(rc[0]).Label()
	}
	if cr, ok := res["cancelationReason"]; ok {
		a.CancelReason = codeOf(cr)
	}
	for _, e := range fhir.List(res["extension"]) {
		if m := fhir.Obj(e); fhir.Str(m["url"]) == VirtualVisitURL {
			a.JoinURL = fhir.Str(m["valueUrl"])
		}
	}
	return a
}

// roomURL returns a fresh join link: the configured base and a random
// room id of 128 bits (26 base32 characters), unguessable.
func (s *Service) roomURL() string {
	var b [16]byte
	rand.Read(b[:])
	return s.virtualBase + "/" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Actor says who asks for a change: the patient (or their proxy), whom the
// clinic's notice rule binds, or the clinic's staff.
type Actor int

const (
	// ByClinic is a change made by the clinic's staff.
	ByClinic Actor = iota
	// ByPatient is a change the patient makes, through the portal.
	ByPatient
)

// PatientMayCancel reports whether the patient may still cancel or
// reschedule the appointment by themselves at now: it must be active
// (proposed, pending, booked or waitlist) and start at least the notice
// period (Config.CancelNotice) after now. When not, why says so in words
// for the patient.
func (s *Service) PatientMayCancel(a *Appointment, now time.Time) (ok bool, why string) {
	if !active(a.Status) {
		return false, fmt.Sprintf("This appointment is %s and can no longer be changed.", statusWords(a.Status))
	}
	if a.Start.Sub(now) < s.notice {
		return false, fmt.Sprintf("Appointments can be changed online until %s before they start; please call the clinic.", noticeWords(s.notice))
	}
	return true, ""
}

func active(status string) bool {
	return slices.Contains([]string{"proposed", "pending", "booked", "waitlist"}, status)
}

func statusWords(status string) string {
	switch status {
	case "noshow":
		return "marked as missed"
	case "entered-in-error":
		return "withdrawn"
	case "checked-in", "arrived":
		return "checked in"
	}
	return status
}

func noticeWords(d time.Duration) string {
	if d%time.Hour == 0 {
		if h := int(d / time.Hour); h != 1 {
			return fmt.Sprintf("%d hours", h)
		}
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}

// GetAppointment reads one Appointment.
func (s *Service) GetAppointment(ctx context.Context, id string) (*Appointment, error) {
	const op = "read appointment"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "appointment", id); err != nil {
		return nil, err
	}
	rec, err := s.repo.Read(ctx, "Appointment", id)
	if err != nil {
		return nil, err
	}
	res, err := parse(rec)
	if err != nil {
		return nil, err
	}
	return appointmentOf(rec, res), nil
}

// PatientAppointments lists a patient's appointments, by start time, for
// the portal's upcoming and past visits (cancelled ones included; the
// caller chooses what to show).
func (s *Service) PatientAppointments(ctx context.Context, patient string) ([]*Appointment, error) {
	const op = "patient appointments"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "patient", patient, "Patient"); err != nil {
		return nil, err
	}
	recs, err := s.all(ctx, "Appointment", url.Values{"patient": {patient}, "_sort": {"date"}})
	if err != nil {
		return nil, err
	}
	return s.appointments(ctx, recs)
}

// appointments parses records and fills in the patients' names.
func (s *Service) appointments(ctx context.Context, recs []*store.Record) ([]*Appointment, error) {
	out := make([]*Appointment, 0, len(recs))
	var pats []string
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		a := appointmentOf(rec, res)
		out = append(out, a)
		pats = append(pats, a.Patient)
	}
	names, err := s.names(ctx, pats)
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		if n := names[a.Patient]; n != "" {
			a.PatientName = n
		}
	}
	return out, nil
}

func conflict(op, msg string) error {
	return errs.E(op, errs.Conflict, msg)
}
