package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/schedule"
)

// pAppt is an appointment as the portal shows it.
type pAppt struct {
	ID, When, Status, Kind, Reason, JoinURL, With string
	Start                                         time.Time
	CanChange                                     bool
	WhyNot                                        string
}

func (s *server) apptRowOf(a *schedule.Appointment, now time.Time) pAppt {
	ok, why := s.cfg.Schedule.PatientMayCancel(a, now)
	return pAppt{ID: a.ID, When: a.Start.UTC().Format("Mon 2 Jan 2006, 15:04 UTC"), Start: a.Start, Status: a.Status,
		Kind: a.ServiceType.Label(), Reason: a.Reason, JoinURL: a.JoinURL, CanChange: ok, WhyNot: why}
}

// pSlot is a free slot offered for booking.
type pSlot struct {
	ID, When, Kind, With string
}

// careNames names practitioners and locations (published data of the
// clinic, read as OpenChart for the user: a Schedule is no patient's
// record, so the access policy's patient rules do not reach it).
type careNames struct {
	s     *server
	ctx   context.Context
	cache map[string]string
}

func (s *server) careNames(r *http.Request) *careNames {
	return &careNames{s: s, ctx: portalSystem(r.Context(), "scheduling"), cache: map[string]string{}}
}

// of is the name of a Practitioner or Location reference ("" when unknown).
func (c *careNames) of(ref string) string {
	if n, ok := c.cache[ref]; ok {
		return n
	}
	n := ""
	if typ, id, ok := strings.Cut(ref, "/"); ok && (typ == "Practitioner" || typ == "Location") && validID(id) {
		if rec, err := c.s.cfg.Repo.Read(c.ctx, typ, id); err == nil {
			var res map[string]any
			if json.Unmarshal(rec.JSON, &res) == nil {
				if typ == "Location" {
					n = pStr(res, "name")
				} else {
					n = schedule.PersonName(res)
				}
			}
		}
	}
	c.cache[ref] = n
	return n
}

// with describes who and where: "with Greg House at Room 1".
func (c *careNames) with(practitioners, locations []string) string {
	var out []string
	for _, p := range practitioners {
		if n := c.of(p); n != "" {
			out = append(out, "with "+n)
		}
	}
	for _, l := range locations {
		if n := c.of(l); n != "" {
			out = append(out, "at "+n)
		}
	}
	return strings.Join(out, " ")
}

// slotWith describes a slot's schedule.
func (c *careNames) slotWith(scheduleRef string) string {
	key := "with:" + scheduleRef
	if n, ok := c.cache[key]; ok {
		return n
	}
	n := ""
	if sc, err := c.s.cfg.Schedule.GetSchedule(c.ctx, strings.TrimPrefix(scheduleRef, "Schedule/")); err == nil {
		n = c.with([]string{sc.Practitioner}, []string{sc.Location})
	}
	c.cache[key] = n
	return n
}

type portalApptView struct {
	Upcoming, Past []pAppt
	Slots          []pSlot
}

// bookingWindow is how far ahead the portal offers slots.
const bookingWindow = 60 * 24 * time.Hour

func (s *server) portalAppointments(w http.ResponseWriter, r *http.Request) error {
	return s.appointmentsPage(w, r, http.StatusOK, page{})
}

func (s *server) appointmentsPage(w http.ResponseWriter, r *http.Request, status int, p page) error {
	if s.cfg.Schedule == nil {
		return notFound
	}
	pc := portalOf(r)
	ctx := r.Context()
	now := time.Now()
	appts, err := s.cfg.Schedule.PatientAppointments(ctx, pc.Ref)
	if err != nil {
		return err
	}
	v := portalApptView{}
	names := s.careNames(r)
	for _, a := range appts {
		row := s.apptRowOf(a, now)
		row.With = names.with(a.Practitioners, a.Locations)
		if a.Start.After(now) && a.Status != "cancelled" && a.Status != "entered-in-error" {
			v.Upcoming = append(v.Upcoming, row)
		} else {
			v.Past = append([]pAppt{row}, v.Past...)
		}
	}
	slots, err := s.cfg.Schedule.FreeSlots(ctx, schedule.SlotFilter{}, now.Add(s.cfg.Schedule.CancelNotice()), now.Add(bookingWindow))
	if err != nil {
		return err
	}
	for _, sl := range slots {
		v.Slots = append(v.Slots, pSlot{ID: sl.ID, When: sl.Start.UTC().Format("Mon 2 Jan 2006, 15:04 UTC"), Kind: sl.ServiceType.Label(),
			With: names.slotWith(sl.Schedule)})
	}
	s.renderPortal(w, r, status, "portal/appointments", "Appointments", "appointments", p, v)
	return nil
}

func (s *server) portalBook(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Schedule == nil {
		return notFound
	}
	pc := portalOf(r)
	slot, reason := pForm(r, "slot"), pForm(r, "reason")
	form := url.Values{"slot": {slot}, "reason": {reason}, "virtual": {r.PostForm.Get("virtual")}}
	fe := map[string]string{}
	if slot == "" || !validID(slot) {
		fe["slot"] = "Choose a time."
	}
	if len(reason) > 500 {
		fe["reason"] = "Keep the reason under 500 characters."
	}
	if len(fe) == 0 {
		a, err := s.cfg.Schedule.Book(r.Context(), schedule.Booking{SlotID: slot, Patient: pc.Ref, Reason: reason,
			Virtual: r.PostForm.Get("virtual") == "yes"})
		if err == nil {
			s.flash(w, "Your appointment is booked for "+a.Start.UTC().Format("Mon 2 Jan 2006, 15:04 UTC")+".")
			http.Redirect(w, r, "/portal/appointments", http.StatusSeeOther)
			return nil
		}
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict, errs.NotFound, errs.Precondition:
			fe["slot"] = "This time cannot be booked: " + messageOf(err) + " Choose another time."
		default:
			return err
		}
	}
	return s.appointmentsPage(w, r, http.StatusBadRequest, page{Form: form, Errors: fe,
		Error: "The appointment was not booked: see the messages below."})
}

// ownAppointment reads an appointment of the patient acted for.
func (s *server) ownAppointment(r *http.Request) (*schedule.Appointment, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return nil, notFound
	}
	a, err := s.cfg.Schedule.GetAppointment(r.Context(), id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Permission || k == errs.Gone || k == errs.Invalid {
			return nil, notFound
		}
		return nil, err
	}
	if a.Patient != portalOf(r).Ref {
		return nil, notFound
	}
	return a, nil
}

func (s *server) portalCancel(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Schedule == nil {
		return notFound
	}
	a, err := s.ownAppointment(r)
	if err != nil {
		return err
	}
	if ok, why := s.cfg.Schedule.PatientMayCancel(a, time.Now()); !ok {
		return s.appointmentsPage(w, r, http.StatusBadRequest, page{Error: why})
	}
	if _, err := s.cfg.Schedule.Cancel(r.Context(), a.ID, schedule.ByPatient, pForm(r, "reason")); err != nil {
		if errs.KindOf(err) == errs.Invalid || errs.KindOf(err) == errs.Conflict || errs.KindOf(err) == errs.Precondition {
			return s.appointmentsPage(w, r, http.StatusBadRequest, page{Error: messageOf(err)})
		}
		return err
	}
	s.flash(w, "Your appointment is cancelled.")
	http.Redirect(w, r, "/portal/appointments", http.StatusSeeOther)
	return nil
}

func (s *server) portalReschedule(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Schedule == nil {
		return notFound
	}
	a, err := s.ownAppointment(r)
	if err != nil {
		return err
	}
	slot := pForm(r, "slot")
	field := "slot-" + a.ID
	if slot == "" || !validID(slot) {
		return s.appointmentsPage(w, r, http.StatusBadRequest, page{Errors: map[string]string{field: "Choose a new time."},
			Error: "The appointment was not moved: see the messages below."})
	}
	if _, err := s.cfg.Schedule.Reschedule(r.Context(), a.ID, slot, schedule.ByPatient); err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict, errs.NotFound, errs.Precondition, errs.Permission:
			return s.appointmentsPage(w, r, http.StatusBadRequest, page{Errors: map[string]string{field: messageOf(err)},
				Error: "The appointment was not moved: see the messages below."})
		}
		return err
	}
	s.flash(w, "Your appointment is moved.")
	http.Redirect(w, r, "/portal/appointments", http.StatusSeeOther)
	return nil
}
