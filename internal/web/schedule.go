package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/schedule"
)

// scheduleRoutes registers the calendars, booking, the appointment's
// actions and the schedules' set-up.
func (s *server) scheduleRoutes(mux *http.ServeMux) {
	mux.Handle("GET /schedule", s.user(s.deskOnly(s.deskCalendarPage)))
	mux.Handle("GET /schedule/slots/{id}/book", s.user(s.deskOnly(s.deskBookPage)))
	mux.Handle("POST /schedule/slots/{id}/book", s.user(s.deskOnly(s.deskBookSubmit)))
	mux.Handle("GET /schedule/appointments/{id}", s.user(s.deskOnly(s.deskAppointmentPage)))
	mux.Handle("POST /schedule/appointments/{id}/{action}", s.user(s.deskOnly(s.deskAppointmentAction)))
	mux.Handle("GET /schedule/setup", s.user(s.deskOnly(s.deskSetupPage)))
	mux.Handle("POST /schedule/setup", s.user(s.deskOnly(s.deskSetupSubmit)))
}

// desk wraps the scheduling pages: staff who work with the calendars,
// when the scheduling service is configured.
func (s *server) deskOnly(fn handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.Schedule == nil {
			return notFound
		}
		if !deskStaff(stateOf(r)) {
			return errs.E(errs.Permission, "The calendars are for the clinic's staff.")
		}
		return fn(w, r)
	}
}

// scheduleInfo is one Schedule as the calendar's choices show it.
type deskSchedule struct {
	ID, Practitioner, PractitionerName, Location, LocationName, Zone string
}

// schedules lists the active schedules with their practitioners' and
// locations' names.
func (s *server) deskSchedules(ctx context.Context) ([]deskSchedule, error) {
	c, err := s.cfg.Search.Compile("Schedule", url.Values{"active": {"true"}, "_count": {"200"}}, true)
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		return nil, err
	}
	var out []deskSchedule
	names := map[string]string{}
	for _, rec := range res.Records {
		if rec.Type != "Schedule" || rec.Deleted {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			return nil, err
		}
		si := deskSchedule{ID: rec.ID, Zone: "UTC"}
		for _, a := range deskList(m["actor"]) {
			ref := deskStr(deskObj(a)["reference"])
			switch {
			case strings.HasPrefix(ref, "Practitioner/"):
				si.Practitioner = ref
			case strings.HasPrefix(ref, "Location/"):
				si.Location = ref
			}
			names[ref] = deskStr(deskObj(a)["display"])
		}
		for _, e := range deskList(m["extension"]) {
			if deskStr(deskObj(e)["url"]) != schedule.AvailabilityURL {
				continue
			}
			for _, sub := range deskList(deskObj(e)["extension"]) {
				if deskStr(deskObj(sub)["url"]) == "timeZone" {
					si.Zone = deskStr(deskObj(sub)["valueCode"])
				}
			}
		}
		out = append(out, si)
	}
	for ref := range names {
		typ, id, _ := strings.Cut(ref, "/")
		rec, err := s.cfg.Repo.Read(ctx, typ, id)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound || errs.KindOf(err) == errs.Permission || errs.KindOf(err) == errs.Gone {
				continue
			}
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			return nil, err
		}
		if typ == "Location" {
			names[ref] = deskStr(m["name"])
		} else if n := schedule.PersonName(m); n != "" {
			names[ref] = n
		}
	}
	for i := range out {
		out[i].PractitionerName = deskNameOr(names[out[i].Practitioner], out[i].Practitioner)
		out[i].LocationName = deskNameOr(names[out[i].Location], out[i].Location)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PractitionerName < out[j].PractitionerName })
	return out, nil
}

func deskNameOr(name, ref string) string {
	if name != "" {
		return name
	}
	return ref
}

// calendarView is the day or week calendar.
type deskCalendarView struct {
	Schedules     []deskSchedule
	Practitioners []option
	Locations     []option
	Views         []option
	Week          bool
	Title         string
	Zone          string
	Days          []deskDayView
	Prev, Next    string
	Today         string
	Patient       string // the patient being booked (from registration)
	Empty         bool   // no schedule at all
}

type deskDayView struct {
	Heading string
	ID      string
	Entries []deskEntryView
}

type deskEntryView struct {
	Time, End     string
	Free          bool
	Past          bool // a free slot that has started: no longer bookable
	SlotID        string
	Appointment   string
	PatientName   string
	Status        string
	Reason        string
	Virtual       bool
	JoinURL       string
	Practitioners string
}

func (s *server) deskCalendarPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	scheds, err := s.deskSchedules(ctx)
	if err != nil {
		return err
	}
	v := deskCalendarView{Schedules: scheds, Empty: len(scheds) == 0,
		Views: []option{{"day", "Day"}, {"week", "Week"}}, Week: q.Get("view") == "week"}
	if p := q.Get("patient"); validID(p) {
		v.Patient = p
	}
	seen := map[string]bool{}
	v.Practitioners = append(v.Practitioners, option{"", "Any practitioner"})
	v.Locations = append(v.Locations, option{"", "Any location"})
	for _, sc := range scheds {
		if id := strings.TrimPrefix(sc.Practitioner, "Practitioner/"); id != "" && !seen[sc.Practitioner] {
			seen[sc.Practitioner] = true
			v.Practitioners = append(v.Practitioners, option{id, sc.PractitionerName})
		}
		if id := strings.TrimPrefix(sc.Location, "Location/"); id != "" && !seen[sc.Location] {
			seen[sc.Location] = true
			v.Locations = append(v.Locations, option{id, sc.LocationName})
		}
	}
	form := url.Values{"practitioner": {q.Get("practitioner")}, "location": {q.Get("location")}, "view": {"day"}}
	if v.Week {
		form.Set("view", "week")
	}
	fe := map[string]string{}
	if p := form.Get("practitioner"); p != "" && !seen["Practitioner/"+p] {
		fe["practitioner"] = "Choose a practitioner from the list."
	}
	if l := form.Get("location"); l != "" && !seen["Location/"+l] {
		fe["location"] = "Choose a location from the list."
	}
	if form.Get("practitioner") == "" && form.Get("location") == "" && len(scheds) > 0 {
		// The signed-in practitioner's own calendar, else the first.
		pick := scheds[0].Practitioner
		if inboxMe := stateOf(r).user.FHIRUser; seen[inboxMe] {
			pick = inboxMe
		}
		form.Set("practitioner", strings.TrimPrefix(pick, "Practitioner/"))
	}
	filter := schedule.CalendarFilter{}
	if p := form.Get("practitioner"); p != "" {
		filter.Practitioner = "Practitioner/" + p
	}
	if l := form.Get("location"); l != "" {
		filter.Location = "Location/" + l
	}
	// The calendar's time zone is its schedule's.
	v.Zone = "UTC"
	for _, sc := range scheds {
		if (filter.Practitioner == "" || sc.Practitioner == filter.Practitioner) && (filter.Location == "" || sc.Location == filter.Location) {
			v.Zone = sc.Zone
			break
		}
	}
	loc, err := time.LoadLocation(v.Zone)
	if err != nil {
		loc = time.UTC
	}
	now := time.Now().In(loc)
	date := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d := strings.TrimSpace(q.Get("date")); d != "" {
		if t, err := time.ParseInLocation("2006-01-02", d, loc); err == nil {
			date = t
		} else {
			fe["date"] = "Enter the date as YYYY-MM-DD, for example " + now.Format("2006-01-02") + "."
		}
	}
	form.Set("date", date.Format("2006-01-02"))
	p := page{Title: "Schedule", Form: form, Errors: fe}
	status := http.StatusOK
	if len(fe) > 0 {
		p.Error = "Correct the choices: see the messages below."
		status = http.StatusBadRequest
	} else if !v.Empty {
		var days []*schedule.Day
		step := 1
		if v.Week {
			days, err = s.cfg.Schedule.Week(ctx, filter, date)
			step = 7
		} else {
			var d *schedule.Day
			d, err = s.cfg.Schedule.Day(ctx, filter, date)
			days = []*schedule.Day{d}
		}
		if err != nil {
			return err
		}
		for _, d := range days {
			v.Days = append(v.Days, deskDayOf(d, loc, now))
		}
		link := func(t time.Time) string {
			l := url.Values{"practitioner": {form.Get("practitioner")}, "location": {form.Get("location")},
				"view": {form.Get("view")}, "date": {t.Format("2006-01-02")}}
			if v.Patient != "" {
				l.Set("patient", v.Patient)
			}
			return "/schedule?" + l.Encode()
		}
		v.Prev, v.Next, v.Today = link(date.AddDate(0, 0, -step)), link(date.AddDate(0, 0, step)), link(now)
		if v.Week {
			v.Title = "Week of " + days[0].Date.Format("Monday 2 January 2006")
		} else {
			v.Title = date.Format("Monday 2 January 2006")
		}
	}
	p.Data = v
	s.render(w, r, status, "schedule", p)
	return nil
}

func deskDayOf(d *schedule.Day, loc *time.Location, now time.Time) deskDayView {
	dv := deskDayView{Heading: d.Date.Format("Mon 2 Jan"), ID: "day-" + d.Date.Format("2006-01-02")}
	for _, e := range d.Entries {
		ev := deskEntryView{Time: e.Start.In(loc).Format("15:04"), End: e.End.In(loc).Format("15:04"), Free: e.Free()}
		if e.Free() {
			ev.SlotID, ev.Past = e.Slot.ID, !e.Start.After(now)
		} else {
			a := e.Appointment
			ev.Appointment, ev.PatientName, ev.Status, ev.Reason = a.ID, deskNameOr(a.PatientName, a.Patient), deskStatusLabel(a.Status), a.Reason
			ev.Virtual, ev.JoinURL = a.Virtual(), a.JoinURL
		}
		dv.Entries = append(dv.Entries, ev)
	}
	return dv
}

// statusLabel says an appointment's status in words.
func deskStatusLabel(status string) string {
	switch status {
	case "booked":
		return "Booked"
	case "arrived", "checked-in":
		return "Checked in"
	case "fulfilled":
		return "Seen"
	case "noshow":
		return "No-show"
	case "cancelled":
		return "Cancelled"
	case "proposed", "pending":
		return "Requested"
	case "waitlist":
		return "Waiting list"
	}
	return status
}

// slotContext is a slot with its schedule's practitioner, location and
// time zone.
type deskSlotContext struct {
	Slot             *schedule.Slot
	Info             deskSchedule
	Loc              *time.Location
	When             string
	PractitionerName string
	LocationName     string
}

func (s *server) deskSlotContext(ctx context.Context, id string) (*deskSlotContext, error) {
	if !validID(id) {
		return nil, notFound
	}
	sl, err := s.cfg.Schedule.GetSlot(ctx, id)
	if err != nil {
		return nil, err
	}
	sc := &deskSlotContext{Slot: sl, Loc: time.UTC}
	scheds, err := s.deskSchedules(ctx)
	if err != nil {
		return nil, err
	}
	for _, si := range scheds {
		if "Schedule/"+si.ID == sl.Schedule {
			sc.Info = si
			if loc, err := time.LoadLocation(si.Zone); err == nil {
				sc.Loc = loc
			}
		}
	}
	sc.When = sl.Start.In(sc.Loc).Format("Monday 2 January 2006, 15:04") + "–" + sl.End.In(sc.Loc).Format("15:04 MST")
	return sc, nil
}

// bookView is the booking form.
type deskBookView struct {
	Slot     *deskSlotContext
	Query    string
	Patients []patientRow
	Searched bool
	Back     string
}

func (s *server) deskBookPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	form := url.Values{"q": {strings.TrimSpace(q.Get("q"))}, "patient": {q.Get("patient")}}
	v, err := s.deskBookView(r, form)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "schedule_book", page{Title: "Book an appointment", Data: v, Form: form})
	return nil
}

// bookView finds the patients to choose from: the one chosen before and
// the search's results.
func (s *server) deskBookView(r *http.Request, form url.Values) (*deskBookView, error) {
	ctx := r.Context()
	sc, err := s.deskSlotContext(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &deskBookView{Slot: sc, Query: form.Get("q"),
		Back: "/schedule?" + url.Values{"practitioner": {strings.TrimPrefix(sc.Info.Practitioner, "Practitioner/")},
			"date": {sc.Slot.Start.In(sc.Loc).Format("2006-01-02")}}.Encode()}
	if id := form.Get("patient"); validID(id) {
		if rec, _, err := s.deskReadPatient(ctx, id); err == nil {
			v.Patients = append(v.Patients, patientRowOf(rec))
		} else if errs.KindOf(err) != errs.NotFound && errs.KindOf(err) != errs.Gone && errs.KindOf(err) != errs.Permission {
			return nil, err
		}
	}
	if v.Query != "" {
		rows, _, err := s.searchPatients(ctx, url.Values{"name": {v.Query}})
		if err != nil && errs.KindOf(err) != errs.Invalid {
			return nil, err
		}
		v.Searched = true
		for _, row := range rows {
			if !slices.ContainsFunc(v.Patients, func(p patientRow) bool { return p.ID == row.ID }) {
				v.Patients = append(v.Patients, row)
			}
		}
	}
	return v, nil
}

func (s *server) deskBookSubmit(w http.ResponseWriter, r *http.Request) error {
	form := url.Values{}
	for _, k := range []string{"patient", "reason", "virtual", "q"} {
		form.Set(k, strings.TrimSpace(r.PostForm.Get(k)))
	}
	v, err := s.deskBookView(r, form)
	if err != nil {
		return err
	}
	fe := map[string]string{}
	if !validID(form.Get("patient")) {
		fe["patient"] = "Choose the patient: search by name, then pick one."
	}
	if len(form.Get("reason")) > 500 {
		fe["reason"] = "Keep the reason under 500 characters."
	}
	p := page{Title: "Book an appointment", Data: v, Form: form, Errors: fe}
	if len(fe) == 0 {
		a, err := s.cfg.Schedule.Book(r.Context(), schedule.Booking{SlotID: v.Slot.Slot.ID, Patient: "Patient/" + form.Get("patient"),
			Reason: form.Get("reason"), Virtual: form.Get("virtual") == "yes"})
		if err == nil {
			s.flash(w, "Booked "+deskNameOr(a.PatientName, a.Patient)+" on "+v.Slot.When+".")
			http.Redirect(w, r, "/schedule/appointments/"+a.ID, http.StatusSeeOther)
			return nil
		}
		switch errs.KindOf(err) {
		case errs.Conflict:
			p.Error = messageOf(err)
		case errs.NotSupported:
			fe["virtual"] = "Virtual visits are not set up on this server: book an in-person visit."
		case errs.Invalid:
			p.Error = "The appointment was not booked: " + messageOf(err)
		default:
			return err
		}
	}
	if p.Error == "" {
		p.Error = "The appointment was not booked: see the messages below."
	}
	s.render(w, r, http.StatusBadRequest, "schedule_book", p)
	return nil
}
