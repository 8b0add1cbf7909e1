package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/schedule"
)

// appointmentView is an appointment with what can be done to it.
type deskAppointmentView struct {
	A            *schedule.Appointment
	Status       string
	When         string
	Practitioner string
	Location     string
	PatientID    string
	Active       bool // booked: check-in, cancel, reschedule
	Started      bool // its start has passed: a no-show may be recorded
	Arrived      bool
	FreeSlots    []option
	Back         string
}

func (s *server) deskAppointmentView(r *http.Request) (*deskAppointmentView, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return nil, notFound
	}
	ctx := r.Context()
	a, err := s.cfg.Schedule.GetAppointment(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &deskAppointmentView{A: a, Status: deskStatusLabel(a.Status), PatientID: strings.TrimPrefix(a.Patient, "Patient/"),
		Active: a.Status == "booked", Started: !a.Start.After(time.Now()),
		Arrived: a.Status == "arrived" || a.Status == "checked-in" || a.Status == "fulfilled"}
	loc := time.UTC
	scheds, err := s.deskSchedules(ctx)
	if err != nil {
		return nil, err
	}
	var practitioner string
	if len(a.Practitioners) > 0 {
		practitioner = a.Practitioners[0]
	}
	for _, si := range scheds {
		if si.Practitioner == practitioner {
			v.Practitioner, v.Location = si.PractitionerName, si.LocationName
			if l, err := time.LoadLocation(si.Zone); err == nil {
				loc = l
			}
			break
		}
	}
	v.Practitioner = deskNameOr(v.Practitioner, practitioner)
	if v.Location == "" && len(a.Locations) > 0 {
		v.Location = a.Locations[0]
	}
	v.When = a.Start.In(loc).Format("Monday 2 January 2006, 15:04") + "–" + a.End.In(loc).Format("15:04 MST")
	v.Back = "/schedule?" + url.Values{"practitioner": {strings.TrimPrefix(practitioner, "Practitioner/")},
		"date": {a.Start.In(loc).Format("2006-01-02")}}.Encode()
	if v.Active && practitioner != "" {
		// The practitioner's free slots of the next four weeks, to move to.
		now := time.Now()
		slots, err := s.cfg.Schedule.FreeSlots(ctx, schedule.SlotFilter{Practitioner: practitioner}, now, now.AddDate(0, 0, 28))
		if err != nil {
			return nil, err
		}
		v.FreeSlots = append(v.FreeSlots, option{"", "Choose a free time"})
		for _, sl := range slots {
			v.FreeSlots = append(v.FreeSlots, option{sl.ID, sl.Start.In(loc).Format("Mon 2 Jan 2006, 15:04")})
		}
	}
	return v, nil
}

func (s *server) deskAppointmentPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.deskAppointmentView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "schedule_appointment", page{Title: "Appointment", Data: v, Form: url.Values{}})
	return nil
}

// appointmentAction checks in, records a no-show, cancels or reschedules.
func (s *server) deskAppointmentAction(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	ctx := r.Context()
	sc := s.cfg.Schedule
	form := url.Values{"reason": {strings.TrimSpace(r.PostForm.Get("reason"))}, "slot": {r.PostForm.Get("slot")}}
	fe := map[string]string{}
	var err error
	var done string
	switch r.PathValue("action") {
	case "checkin":
		var enc string
		enc, err = sc.CheckIn(ctx, id)
		if err == nil {
			a, gerr := sc.GetAppointment(ctx, id)
			if gerr != nil {
				return gerr
			}
			s.flash(w, deskNameOr(a.PatientName, a.Patient)+" is checked in.")
			http.Redirect(w, r, "/patients/"+strings.TrimPrefix(a.Patient, "Patient/")+"/visits/"+enc, http.StatusSeeOther)
			return nil
		}
	case "noshow":
		_, err = sc.NoShow(ctx, id)
		done = "The no-show is recorded."
	case "cancel":
		if form.Get("reason") == "" {
			fe["reason"] = "Say why the appointment is cancelled."
			break
		}
		if len(form.Get("reason")) > 500 {
			fe["reason"] = "Keep the reason under 500 characters."
			break
		}
		_, err = sc.Cancel(ctx, id, schedule.ByClinic, form.Get("reason"))
		done = "The appointment is cancelled; its time is free again."
	case "reschedule":
		if !validID(form.Get("slot")) {
			fe["slot"] = "Choose the new time."
			break
		}
		var a *schedule.Appointment
		a, err = sc.Reschedule(ctx, id, form.Get("slot"), schedule.ByClinic)
		if err == nil {
			done = "The appointment is moved to " + a.Start.UTC().Format("Mon 2 Jan 2006 15:04 UTC") + "."
		}
	default:
		return notFound
	}
	if err == nil && len(fe) == 0 {
		s.flash(w, done)
		http.Redirect(w, r, "/schedule/appointments/"+id, http.StatusSeeOther)
		return nil
	}
	p := page{Title: "Appointment", Form: form, Errors: fe, Error: "Nothing was changed: see the messages below."}
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict:
			p.Error = "Nothing was changed: " + messageOf(err)
			if r.PathValue("action") == "reschedule" {
				fe["slot"] = messageOf(err)
			}
		default:
			return err
		}
	}
	v, verr := s.deskAppointmentView(r)
	if verr != nil {
		return verr
	}
	p.Data = v
	s.render(w, r, http.StatusBadRequest, "schedule_appointment", p)
	return nil
}
