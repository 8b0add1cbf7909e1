package schedule

import (
	"context"
	"net/url"
	"slices"
	"time"
)

// CalendarFilter selects whose calendar: a practitioner's, a location's, or
// a practitioner's at one location. At least one is required.
type CalendarFilter struct {
	Practitioner string // "Practitioner/id"
	Location     string // "Location/id"
}

// Entry is one line of a calendar: an appointment or a free slot.
type Entry struct {
	Start, End  time.Time
	Appointment *Appointment // nil for a free slot
	Slot        *Slot        // the free slot (nil for an appointment)
}

// Free reports whether the entry is a free slot.
func (e Entry) Free() bool { return e.Appointment == nil }

// Day is one day of a calendar.
type Day struct {
	Date    time.Time // midnight, in the zone the calendar was asked in
	Entries []Entry   // by start time; appointments before free slots at the same time
}

// Day returns the calendar of the day of date (midnight to midnight in
// date's location): its appointments, cancelled ones left out (their slot
// shows free again), and its free slots, in order, with the patients'
// names.
func (s *Service) Day(ctx context.Context, f CalendarFilter, date time.Time) (*Day, error) {
	start := time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, date.Location())
	days, err := s.calendar(ctx, "day calendar", f, start, 1)
	if err != nil {
		return nil, err
	}
	return days[0], nil
}

// Week returns the calendar of the week (Monday to Sunday) that holds
// date, one Day each, as Day does.
func (s *Service) Week(ctx context.Context, f CalendarFilter, date time.Time) ([]*Day, error) {
	back := (int(date.Weekday()) + 6) % 7 // days since Monday
	start := time.Date(date.Year(), date.Month(), date.Day()-back, 0, 0, 0, 0, date.Location())
	return s.calendar(ctx, "week calendar", f, start, 7)
}

// calendar builds n days from start with two searches: the appointments
// and the free slots of the whole period.
func (s *Service) calendar(ctx context.Context, op string, f CalendarFilter, start time.Time, n int) ([]*Day, error) {
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if f.Practitioner == "" && f.Location == "" {
		return nil, invalid(op, "practitioner", "choose a practitioner or a location")
	}
	end := time.Date(start.Year(), start.Month(), start.Day()+n, 0, 0, 0, 0, start.Location())
	p := url.Values{
		"date":  {"ge" + start.UTC().Format(time.RFC3339), "lt" + end.UTC().Format(time.RFC3339)},
		"_sort": {"date"},
	}
	if f.Practitioner != "" {
		if _, err := checkRef(op, "practitioner", f.Practitioner, "Practitioner"); err != nil {
			return nil, err
		}
		p.Set("practitioner", f.Practitioner)
	}
	if f.Location != "" {
		if _, err := checkRef(op, "location", f.Location, "Location"); err != nil {
			return nil, err
		}
		p.Set("location", f.Location)
	}
	recs, err := s.all(ctx, "Appointment", p)
	if err != nil {
		return nil, err
	}
	appts, err := s.appointments(ctx, recs)
	if err != nil {
		return nil, err
	}
	free, err := s.FreeSlots(ctx, SlotFilter{Practitioner: f.Practitioner, Location: f.Location}, start, end)
	if err != nil {
		return nil, err
	}
	days := make([]*Day, n)
	for i := range days {
		days[i] = &Day{Date: time.Date(start.Year(), start.Month(), start.Day()+i, 0, 0, 0, 0, start.Location())}
	}
	index := func(t time.Time) int {
		for i := n - 1; i >= 0; i-- {
			if !t.Before(days[i].Date) {
				return i
			}
		}
		return 0
	}
	for _, a := range appts {
		if a.Status == "cancelled" || a.Status == "entered-in-error" {
			continue
		}
		d := days[index(a.Start)]
		d.Entries = append(d.Entries, Entry{Start: a.Start.In(start.Location()), End: a.End.In(start.Location()), Appointment: a})
	}
	for _, sl := range free {
		d := days[index(sl.Start)]
		d.Entries = append(d.Entries, Entry{Start: sl.Start.In(start.Location()), End: sl.End.In(start.Location()), Slot: sl})
	}
	for _, d := range days {
		slices.SortStableFunc(d.Entries, func(a, b Entry) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			switch {
			case !a.Free() && b.Free():
				return -1
			case a.Free() && !b.Free():
				return 1
			}
			return 0
		})
	}
	return days, nil
}
