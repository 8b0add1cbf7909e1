package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// SlotIdentifierSystem names the identifier every generated Slot carries:
// "Schedule/<id>@<start in UTC>", unique per schedule and start.
const SlotIdentifierSystem = "http://openchart.org/fhir/sid/slot"

// MaxGenerateSpan bounds one GenerateSlots call.
const MaxGenerateSpan = 366 * 24 * time.Hour

// Slot is the view of a Slot resource.
type Slot struct {
	ID          string
	Version     int64
	Schedule    string // "Schedule/id"
	Status      string // free, busy, busy-unavailable, busy-tentative, entered-in-error
	Start, End  time.Time
	ServiceType Code
}

func slotOf(rec *store.Record, res map[string]any) *Slot {
	sl := &Slot{ID: rec.ID, Version: rec.Version, Schedule: fhir.RefOf(res["schedule"]), Status: fhir.Str(res["status"]),
		Start: parseInstant(res["start"]), End: parseInstant(res["end"])}
	if st := fhir.List(res["serviceType"]); len(st) > 0 {
		sl.ServiceType = codeOf(st[0])
	}
	return sl
}

// slotID is the deterministic id of the slot of a schedule starting at
// start, so that generating twice cannot create two.
func slotID(scheduleID string, start time.Time) string {
	sum := sha256.Sum256([]byte(scheduleID + "|" + start.UTC().Format(time.RFC3339)))
	return "slot-" + hex.EncodeToString(sum[:16])
}

// occurrences lists the slot start times of the template that lie wholly
// in [from, to), in order. Local times that a daylight-saving change skips
// are moved forward by time.Date's normalisation; a slot is never emitted
// twice when the clocks go back because starts are kept unique.
func (t Template) occurrences(from, to time.Time) []time.Time {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil
	}
	length := time.Duration(t.SlotMinutes) * time.Minute
	var out []time.Time
	seen := map[int64]bool{}
	day := from.In(loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(to); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		for _, w := range t.Windows {
			if !slices.Contains(w.Days, day.Weekday()) {
				continue
			}
			start, _ := clock(w.Start)
			end, _ := clock(w.End)
			for m := start; m+t.SlotMinutes <= end; m += t.SlotMinutes {
				at := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc)
				if at.Before(from) || at.Add(length).After(to) || seen[at.Unix()] {
					continue
				}
				seen[at.Unix()] = true
				out = append(out, at)
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// GenerateSlots creates the free Slots of a Schedule's template that start
// in [from, to) and do not exist yet. It is idempotent: every slot has a
// deterministic id and identifier, and a slot of the schedule that already
// starts at the same instant (free, booked or blocked) is left alone. It
// returns how many slots it created.
func (s *Service) GenerateSlots(ctx context.Context, scheduleRef string, from, to time.Time) (int, error) {
	const op = "generate slots"
	if err := principal(ctx, op); err != nil {
		return 0, err
	}
	if err := staffOnly(ctx, op); err != nil {
		return 0, err
	}
	schedID, err := checkRef(op, "schedule", scheduleRef, "Schedule")
	if err != nil {
		return 0, err
	}
	switch {
	case !to.After(from):
		return 0, invalid(op, "to", "the end of the period must be after its start")
	case to.Sub(from) > MaxGenerateSpan:
		return 0, invalid(op, "to", "slots are generated for at most a year at a time")
	}
	sched, err := s.GetSchedule(ctx, schedID)
	if err != nil {
		return 0, err
	}
	switch {
	case !sched.Active:
		return 0, errs.E(op, errs.Conflict, "the schedule is not active")
	case !sched.HasTemplate:
		return 0, errs.E(op, errs.Conflict, "the schedule has no weekly template to generate slots from")
	}
	if err := sched.Template.Check(); err != nil {
		return 0, err
	}
	starts := sched.Template.occurrences(from, to)
	length := time.Duration(sched.Template.SlotMinutes) * time.Minute
	loc, _ := time.LoadLocation(sched.Template.TimeZone)
	// A concurrent run may create some of the same slots first: its
	// creates conflict with ours, and a second pass skips them.
	for attempt := 0; ; attempt++ {
		n, err := s.generate(ctx, sched, starts, length, loc, from, to)
		if err == nil || !errs.Is(err, errs.Conflict) || attempt == 2 {
			return n, err
		}
	}
}

func (s *Service) generate(ctx context.Context, sched *Schedule, starts []time.Time, length time.Duration, loc *time.Location, from, to time.Time) (int, error) {
	existing, err := s.all(ctx, "Slot", url.Values{
		"schedule": {"Schedule/" + sched.ID},
		"start":    {"ge" + from.UTC().Format(time.RFC3339), "lt" + to.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	taken := map[int64]bool{}
	for _, rec := range existing {
		res, err := parse(rec)
		if err != nil {
			return 0, err
		}
		have[rec.ID] = true
		taken[parseInstant(res["start"]).Unix()] = true
	}
	created := 0
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		created = 0
		for _, at := range starts {
			id := slotID(sched.ID, at)
			if have[id] || taken[at.Unix()] {
				continue
			}
			res := map[string]any{
				"resourceType": "Slot",
				"identifier": []any{map[string]any{"system": SlotIdentifierSystem,
					"value": fmt.Sprintf("Schedule/%s@%s", sched.ID, at.UTC().Format(time.RFC3339))}},
				"schedule": fhir.Reference("Schedule/" + sched.ID),
				"status":   "free",
				"start":    instant(at.In(loc)),
				"end":      instant(at.Add(length).In(loc)),
			}
			if !sched.ServiceType.zero() {
				res["serviceType"] = []any{sched.ServiceType.concept()}
			}
			res, err := fhir.Normalize(res)
			if err != nil {
				return err
			}
			if _, err := tx.Create(ctx, res, repo.CreateOptions{ID: id}); err != nil {
				return err
			}
			created++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// SlotFilter selects slots or appointments: by schedule, practitioner,
// location and service type (all optional, combined with AND).
type SlotFilter struct {
	Schedule     string // "Schedule/id"
	Practitioner string // "Practitioner/id"
	Location     string // "Location/id"
	ServiceType  Code   // System and Code
}

func (f SlotFilter) params(op string) (url.Values, error) {
	p := url.Values{}
	if f.Schedule != "" {
		if _, err := checkRef(op, "schedule", f.Schedule, "Schedule"); err != nil {
			return nil, err
		}
		p.Set("schedule", f.Schedule)
	}
	if f.Practitioner != "" {
		if _, err := checkRef(op, "practitioner", f.Practitioner, "Practitioner"); err != nil {
			return nil, err
		}
		p.Add("schedule.actor", f.Practitioner)
	}
	if f.Location != "" {
		if _, err := checkRef(op, "location", f.Location, "Location"); err != nil {
			return nil, err
		}
		p.Add("schedule.actor", f.Location)
	}
	if f.ServiceType.Code != "" {
		p.Set("service-type", f.ServiceType.System+"|"+f.ServiceType.Code)
	}
	return p, nil
}

// FreeSlots lists the free slots that start in [from, to), by start time.
func (s *Service) FreeSlots(ctx context.Context, f SlotFilter, from, to time.Time) ([]*Slot, error) {
	const op = "free slots"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, invalid(op, "to", "the end of the period must be after its start")
	}
	p, err := f.params(op)
	if err != nil {
		return nil, err
	}
	p.Set("status", "free")
	p["start"] = []string{"ge" + from.UTC().Format(time.RFC3339), "lt" + to.UTC().Format(time.RFC3339)}
	p.Set("_sort", "start")
	// The free slots are what the clinic publishes, to patients too.
	recs, err := s.all(clinicCtx(ctx), "Slot", p)
	if err != nil {
		return nil, err
	}
	out := make([]*Slot, 0, len(recs))
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, slotOf(rec, res))
	}
	return out, nil
}

// GetSlot reads one Slot.
func (s *Service) GetSlot(ctx context.Context, id string) (*Slot, error) {
	const op = "read slot"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "slot", id); err != nil {
		return nil, err
	}
	rec, err := s.repo.Read(clinicCtx(ctx), "Slot", id)
	if err != nil {
		return nil, err
	}
	res, err := parse(rec)
	if err != nil {
		return nil, err
	}
	return slotOf(rec, res), nil
}
