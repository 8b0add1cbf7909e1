package schedule

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// AvailabilityURL is the extension on Schedule that holds its weekly
// template. R4's Schedule has no element for recurring availability
// (PractitionerRole.availableTime has no slot length or time zone), so the
// template is a complex extension in OpenChart's namespace.
const AvailabilityURL = "http://openchart.org/fhir/StructureDefinition/schedule-availability"

// Template is a weekly availability: in TimeZone, on each day of a
// Window, slots of SlotMinutes from Start to End.
type Template struct {
	TimeZone    string // an IANA zone, "America/New_York"
	SlotMinutes int
	Windows     []Window
}

// Window is one block of availability on some days of the week.
type Window struct {
	Days       []time.Weekday
	Start, End string // local times "09:00"
}

var dayCodes = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// clock parses "HH:MM" or "HH:MM:SS" into minutes after midnight.
func clock(s string) (int, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || len(p) != 2 {
			return 0, false
		}
		n[i] = v
	}
	if n[0] > 23 || n[1] > 59 || n[2] != 0 {
		return 0, false
	}
	return n[0]*60 + n[1], true
}

func invalid(op, field, msg string) error {
	return errs.E(op, errs.Invalid, msg, errs.Issue{Severity: "error", Code: "value", Diagnostics: msg, Expression: []string{field}})
}

// Check reports the first problem of the template, naming its field.
func (t Template) Check() error {
	const op = "schedule template"
	if _, err := time.LoadLocation(t.TimeZone); err != nil || t.TimeZone == "" || t.TimeZone == "Local" {
		return invalid(op, "timeZone", fmt.Sprintf("%q is not a known time zone (use an IANA name such as America/New_York)", t.TimeZone))
	}
	if t.SlotMinutes < 5 || t.SlotMinutes > 480 {
		return invalid(op, "slotMinutes", "a slot lasts 5 to 480 minutes")
	}
	if len(t.Windows) == 0 {
		return invalid(op, "window", "the template needs at least one window of availability")
	}
	for i, w := range t.Windows {
		field := fmt.Sprintf("window[%d]", i)
		if len(w.Days) == 0 {
			return invalid(op, field+".day", "each window needs at least one day of the week")
		}
		for _, d := range w.Days {
			if d < time.Sunday || d > time.Saturday {
				return invalid(op, field+".day", fmt.Sprintf("%d is not a day of the week", d))
			}
		}
		start, ok1 := clock(w.Start)
		end, ok2 := clock(w.End)
		switch {
		case !ok1:
			return invalid(op, field+".start", fmt.Sprintf("the start %q is not a time HH:MM", w.Start))
		case !ok2:
			return invalid(op, field+".end", fmt.Sprintf("the end %q is not a time HH:MM", w.End))
		case end <= start:
			return invalid(op, field+".end", fmt.Sprintf("the window ends (%s) before it starts (%s)", w.End, w.Start))
		case end-start < t.SlotMinutes:
			return invalid(op, field+".end", fmt.Sprintf("the window %s-%s is shorter than one slot", w.Start, w.End))
		}
	}
	return nil
}

func hms(s string) string {
	if len(s) == 5 {
		return s + ":00"
	}
	return s
}

// extension renders the template as the Schedule's availability extension.
func (t Template) extension() map[string]any {
	subs := []any{
		map[string]any{"url": "timeZone", "valueCode": t.TimeZone},
		map[string]any{"url": "slotMinutes", "valuePositiveInt": t.SlotMinutes},
	}
	for _, w := range t.Windows {
		var ws []any
		days := slices.Clone(w.Days)
		slices.Sort(days)
		for _, d := range slices.Compact(days) {
			ws = append(ws, map[string]any{"url": "day", "valueCode": dayCodes[d]})
		}
		ws = append(ws,
			map[string]any{"url": "start", "valueTime": hms(w.Start)},
			map[string]any{"url": "end", "valueTime": hms(w.End)})
		subs = append(subs, map[string]any{"url": "window", "extension": ws})
	}
	return map[string]any{"url": AvailabilityURL, "extension": subs}
}

// templateOf reads the availability extension of a Schedule.
func templateOf(res map[string]any) (Template, bool) {
	var t Template
	for _, e := range fhir.List(res["extension"]) {
		ext := fhir.Obj(e)
		if fhir.Str(ext["url"]) != AvailabilityURL {
			continue
		}
		for _, s := range fhir.List(ext["extension"]) {
			sub := fhir.Obj(s)
			switch fhir.Str(sub["url"]) {
			case "timeZone":
				t.TimeZone = fhir.Str(sub["valueCode"])
			case "slotMinutes":
				n, _ := sub["valuePositiveInt"].(json.Number)
				v, _ := n.Int64()
				t.SlotMinutes = int(v)
			case "window":
				var w Window
				for _, x := range fhir.List(sub["extension"]) {
					part := fhir.Obj(x)
					switch fhir.Str(part["url"]) {
					case "day":
						if i := slices.Index(dayCodes, fhir.Str(part["valueCode"])); i >= 0 {
							w.Days = append(w.Days, time.Weekday(i))
						}
					case "start":
						w.Start = strings.TrimSuffix(fhir.Str(part["valueTime"]), ":00")
					case "end":
						w.End = strings.TrimSuffix(fhir.Str(part["valueTime"]), ":00")
					}
				}
				t.Windows = append(t.Windows, w)
			}
		}
		return t, true
	}
	return t, false
}

// ScheduleSpec describes a new Schedule: whose time, where, for what.
type ScheduleSpec struct {
	Practitioner string // "Practitioner/id" (required)
	Location     string // "Location/id" (required)
	ServiceType  Code   // optional: copied to every slot
	Comment      string
	Template     Template
}

// Schedule is the view of a Schedule resource.
type Schedule struct {
	ID           string
	Practitioner string
	Location     string
	ServiceType  Code
	Comment      string
	Active       bool
	Template     Template
	HasTemplate  bool
}

func scheduleOf(id string, res map[string]any) *Schedule {
	s := &Schedule{ID: id, Comment: fhir.Str(res["comment"]), Active: res["active"] != false}
	for _, a := range fhir.List(res["actor"]) {
		r := fhir.RefOf(a)
		switch {
		case strings.HasPrefix(r, "Practitioner/") && s.Practitioner == "":
			s.Practitioner = r
		case strings.HasPrefix(r, "Location/") && s.Location == "":
			s.Location = r
		}
	}
	if st := fhir.List(res["serviceType"]); len(st) > 0 {
		s.ServiceType = codeOf(st[0])
	}
	s.Template, s.HasTemplate = templateOf(res)
	return s
}

// CreateSchedule stores a Schedule for a practitioner at a location, with
// its weekly template. It returns the Schedule's id.
func (s *Service) CreateSchedule(ctx context.Context, spec ScheduleSpec) (string, error) {
	const op = "create schedule"
	if err := principal(ctx, op); err != nil {
		return "", err
	}
	if err := staffOnly(ctx, op); err != nil {
		return "", err
	}
	if _, err := checkRef(op, "practitioner", spec.Practitioner, "Practitioner"); err != nil {
		return "", err
	}
	if _, err := checkRef(op, "location", spec.Location, "Location"); err != nil {
		return "", err
	}
	if err := spec.Template.Check(); err != nil {
		return "", err
	}
	res := map[string]any{
		"resourceType": "Schedule",
		"extension":    []any{spec.Template.extension()},
		"active":       true,
		"actor":        []any{fhir.Reference(spec.Practitioner), fhir.Reference(spec.Location)},
	}
	if !spec.ServiceType.zero() {
		res["serviceType"] = []any{spec.ServiceType.concept()}
	}
	if spec.Comment != "" {
		res["comment"] = spec.Comment
	}
	res, err := fhir.Normalize(res)
	if err != nil {
		return "", err
	}
	var id string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		out, err := tx.Create(ctx, res, repo.CreateOptions{})
		if err == nil {
			id = out.Record.ID
		}
		return err
	})
	return id, err
}

// SetTemplate replaces the weekly template of a Schedule. Slots already
// generated stay as they are.
func (s *Service) SetTemplate(ctx context.Context, scheduleID string, t Template) error {
	const op = "set schedule template"
	if err := principal(ctx, op); err != nil {
		return err
	}
	if err := staffOnly(ctx, op); err != nil {
		return err
	}
	if err := checkID(op, "schedule", scheduleID); err != nil {
		return err
	}
	if err := t.Check(); err != nil {
		return err
	}
	return s.repo.InTx(ctx, func(tx *repo.Tx) error {
		_, err := tx.Patch(ctx, "Schedule", scheduleID, func(cur map[string]any) (map[string]any, error) {
			ext, err := fhir.Normalize(t.extension())
			if err != nil {
				return nil, err
			}
			exts := []any{ext}
			for _, e := range fhir.List(cur["extension"]) {
				if fhir.Str(fhir.Obj(e)["url"]) != AvailabilityURL {
					exts = append(exts, e)
				}
			}
			cur["extension"] = exts
			return cur, nil
		}, repo.UpdateOptions{})
		return err
	})
}

// GetSchedule reads a Schedule.
func (s *Service) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	const op = "read schedule"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "schedule", id); err != nil {
		return nil, err
	}
	rec, err := s.repo.Read(ctx, "Schedule", id)
	if err != nil {
		return nil, err
	}
	res, err := parse(rec)
	if err != nil {
		return nil, err
	}
	return scheduleOf(id, res), nil
}
