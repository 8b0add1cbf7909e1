package web

// The front desk, scheduling and inbox pages.
//
// Their form field names and button labels are stable (other tests and
// people's habits depend on them):
//
// Registration, GET/POST /patients/new, and demographics, GET/POST
// /patients/{id}/edit (same form; the edit carries a hidden "version"):
//
//	family, given          Family name, Given names (required)
//	birthdate              Birth date, YYYY-MM-DD (required)
//	sex                    Sex: female, male, other, unknown
//	phone, email           Phone, Email
//	line, city, state, postal, country   the address
//	language               Preferred language (BCP-47: en, es, fr, ...)
//	contact_name, contact_relationship (C, N, E, O...), contact_phone
//	payer, member_id, plan the insurance (a Coverage)
//	duplicate_ok=yes       the "Register anyway" checkbox, shown with the
//	                       likely duplicates
//	button "Register patient" (new) / "Save changes" (edit)
//
// After registering, the browser goes to /patients/{id}/edit with the
// message "Registered NAME, MRN NNNNNNNN.".
//
// Calendars, GET /schedule: query practitioner (id), location (id),
// view=day|week, date=YYYY-MM-DD; each free slot is a link "Book" to
// /schedule/slots/{id}/book.
//
// Booking, GET /schedule/slots/{id}/book (?q= finds patients, ?patient=id
// chooses one), POST /schedule/slots/{id}/book:
//
//	patient                the Patient id (radio buttons of the search)
//	reason                 Reason for the visit
//	virtual=yes            "Virtual visit" checkbox
//	button "Book appointment"
//
// The booking lands on /schedule/appointments/{id}, whose buttons are
// "Check in" (POST .../checkin, then the visit page
// /patients/{patient}/visits/{encounter}), "No-show" (POST .../noshow),
// "Cancel appointment" (POST .../cancel, field reason) and
// "Reschedule" (POST .../reschedule, field slot: a free slot id).
//
// Schedules, GET/POST /schedule/setup (administrators and the front desk):
// practitioner, location, timezone, slot_minutes, days (mon..sun,
// repeated), start, end (HH:MM), weeks; button "Create schedule".
//
// Inbox, GET /inbox?tab=results|messages|tasks; a result at
// /inbox/results/{type}/{id} with the form "Sign off" (field note); a
// thread at /inbox/messages/{id} with "Reply" (field text) and
// "Mark as read"; tasks with "Complete" and "Cancel task" (field note).

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/inbox"
)

// deskRoutes registers registration, scheduling and the inbox.
func (s *server) deskRoutes(mux *http.ServeMux) {
	mux.Handle("GET /patients/new", s.user(s.deskRegisterPage))
	mux.Handle("POST /patients/new", s.user(s.deskRegisterSubmit))
	mux.Handle("GET /patients/{id}/edit", s.user(s.deskEditPage))
	mux.Handle("POST /patients/{id}/edit", s.user(s.deskEditSubmit))
	s.scheduleRoutes(mux)
	s.inboxRoutes(mux)
}

// navView is what the navigation shows beside its links.
type deskNav struct {
	Schedule bool // the user works at the desk or sees patients
	Inbox    bool // the user has an inbox (clinicians)
	Counts   inbox.Counts
	Total    int
}

// clinician reports whether the user's current roles review results and
// read messages and tasks.
func deskClinician(st *state) bool {
	roles := currentRoles(st)
	return slices.Contains(roles, auth.RolePhysician) || slices.Contains(roles, auth.RoleNurse)
}

// deskStaff reports whether the user may use the calendars.
func deskStaff(st *state) bool {
	roles := currentRoles(st)
	return deskClinician(st) || slices.Contains(roles, auth.RoleFrontDesk) || slices.Contains(roles, auth.RoleAdmin)
}

// reader is the signed-in clinician's inbox: messages and tasks addressed
// to them or to the organization they act for, and the organization's
// results to review (the practice's shared queue).
func inboxReader(st *state) inbox.Reader {
	org := st.session.Organization
	r := inbox.Reader{User: org}
	if f := st.user.FHIRUser; strings.HasPrefix(f, "Practitioner/") || strings.HasPrefix(f, "PractitionerRole/") {
		r.Groups = []string{f}
	}
	return r
}

// navCounts is what the navigation shows beside its links for the
// signed-in user (nil: nothing). Staff without an inbox get the schedule
// link only; patient users get nothing (the portal has its own
// navigation). The counts are inbox.Counts: count-only searches.
func (s *server) navCounts(r *http.Request) any {
	st := stateOf(r)
	if st.user == nil || st.session == nil || st.session.Organization == "" || !deskStaff(st) {
		return nil
	}
	v := &deskNav{Schedule: s.cfg.Schedule != nil}
	if s.cfg.Inbox != nil && deskClinician(st) {
		v.Inbox = true
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		c, err := s.cfg.Inbox.Counts(ctx, inboxReader(st))
		if err != nil {
			s.log.Warn("web: inbox counts", "err", err)
		}
		v.Counts, v.Total = c, c.Unread+c.Results+c.Tasks
	}
	return v
}
