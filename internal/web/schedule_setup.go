package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/schedule"
)

// The set-up page creates a practitioner's schedule at a location with a
// weekly template, and generates its slots for the next weeks
// (schedule.CreateSchedule, schedule.GenerateSlots); existing schedules
// get more weeks of slots from the same page. Generation is idempotent, so
// running it again never duplicates a slot.

// maxSetupWeeks bounds one generation from the page.
const deskMaxWeeks = 26

var deskWeekdays = []struct {
	Code, Label string
	Day         time.Weekday
}{
	{"mon", "Monday", time.Monday}, {"tue", "Tuesday", time.Tuesday}, {"wed", "Wednesday", time.Wednesday},
	{"thu", "Thursday", time.Thursday}, {"fri", "Friday", time.Friday}, {"sat", "Saturday", time.Saturday},
	{"sun", "Sunday", time.Sunday},
}

type deskSetupView struct {
	Schedules     []deskSchedule
	Practitioners []option
	Locations     []option
	Days          []deskDayChoice
}

type deskDayChoice struct {
	Code, Label string
	Checked     bool
}

// choices lists the resources of a type (Practitioner, Location) as
// options, by name.
func (s *server) deskChoices(ctx context.Context, typ string) ([]option, error) {
	c, err := s.cfg.Search.Compile(typ, url.Values{"_count": {"200"}}, true)
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		return nil, err
	}
	out := []option{{"", "Choose"}}
	for _, rec := range res.Records {
		if rec.Type != typ || rec.Deleted {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			return nil, err
		}
		name := deskStr(m["name"])
		if typ != "Location" {
			name = schedule.PersonName(m)
		}
		out = append(out, option{rec.ID, deskNameOr(name, typ+"/"+rec.ID)})
	}
	slices.SortStableFunc(out[1:], func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

func (s *server) deskSetupView(ctx context.Context, form url.Values) (*deskSetupView, error) {
	v := &deskSetupView{}
	var err error
	if v.Schedules, err = s.deskSchedules(ctx); err != nil {
		return nil, err
	}
	if v.Practitioners, err = s.deskChoices(ctx, "Practitioner"); err != nil {
		return nil, err
	}
	if v.Locations, err = s.deskChoices(ctx, "Location"); err != nil {
		return nil, err
	}
	for _, d := range deskWeekdays {
		v.Days = append(v.Days, deskDayChoice{d.Code, d.Label, slices.Contains(form["days"], d.Code)})
	}
	return v, nil
}

func (s *server) deskSetupPage(w http.ResponseWriter, r *http.Request) error {
	form := url.Values{"timezone": {"UTC"}, "slot_minutes": {"20"}, "start": {"09:00"}, "end": {"17:00"}, "weeks": {"4"},
		"days": {"mon", "tue", "wed", "thu", "fri"}}
	v, err := s.deskSetupView(r.Context(), form)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "schedule_setup", page{Title: "Schedules", Data: v, Form: form})
	return nil
}

func (s *server) deskSetupSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	form := url.Values{}
	for _, k := range []string{"practitioner", "location", "timezone", "slot_minutes", "start", "end", "weeks", "schedule"} {
		form.Set(k, strings.TrimSpace(r.PostForm.Get(k)))
	}
	form["days"] = r.PostForm["days"]
	fe := map[string]string{}
	weeks, err := strconv.Atoi(form.Get("weeks"))
	if err != nil || weeks < 1 || weeks > deskMaxWeeks {
		fe["weeks"] = fmt.Sprintf("Enter a number of weeks from 1 to %d.", deskMaxWeeks)
	}
	var scheduleID string
	if form.Get("schedule") != "" {
		// More weeks of slots for an existing schedule.
		if !validID(form.Get("schedule")) {
			return notFound
		}
		scheduleID = form.Get("schedule")
	} else {
		if !validID(form.Get("practitioner")) {
			fe["practitioner"] = "Choose the practitioner."
		}
		if !validID(form.Get("location")) {
			fe["location"] = "Choose the location."
		}
		minutes, err := strconv.Atoi(form.Get("slot_minutes"))
		if err != nil {
			fe["slot_minutes"] = "Enter the length of a slot in minutes, for example 20."
		}
		var days []time.Weekday
		for _, d := range deskWeekdays {
			if slices.Contains(form["days"], d.Code) {
				days = append(days, d.Day)
			}
		}
		if len(days) == 0 {
			fe["days"] = "Choose at least one day of the week."
		}
		t := schedule.Template{TimeZone: form.Get("timezone"), SlotMinutes: minutes,
			Windows: []schedule.Window{{Days: days, Start: form.Get("start"), End: form.Get("end")}}}
		if len(fe) == 0 {
			if err := t.Check(); err != nil {
				deskTemplateErrors(err, fe)
			}
		}
		if len(fe) == 0 {
			scheduleID, err = s.cfg.Schedule.CreateSchedule(ctx, schedule.ScheduleSpec{
				Practitioner: "Practitioner/" + form.Get("practitioner"), Location: "Location/" + form.Get("location"), Template: t})
			if err != nil {
				if errs.KindOf(err) != errs.Invalid {
					return err
				}
				deskTemplateErrors(err, fe)
			}
		}
	}
	if len(fe) == 0 {
		now := time.Now()
		from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		n, err := s.cfg.Schedule.GenerateSlots(ctx, "Schedule/"+scheduleID, from, from.AddDate(0, 0, 7*weeks+1))
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				return err
			}
			fe["weeks"] = messageOf(err)
		} else {
			s.flash(w, fmt.Sprintf("The schedule is ready: %d new slot%s for the next %d week%s.", n, deskPlural(n), weeks, deskPlural(weeks)))
			http.Redirect(w, r, "/schedule/setup", http.StatusSeeOther)
			return nil
		}
	}
	v, err := s.deskSetupView(ctx, form)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusBadRequest, "schedule_setup", page{Title: "Schedules", Data: v, Form: form, Errors: fe,
		Error: "The schedule was not set up: see the messages below."})
	return nil
}

func deskPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// templateErrors puts a template's refusal next to its field.
func deskTemplateErrors(err error, fe map[string]string) {
	msg := messageOf(err)
	field := "start"
	for _, is := range errs.IssuesOf(err) {
		for _, ex := range is.Expression {
			switch {
			case ex == "timeZone":
				field = "timezone"
			case ex == "slotMinutes":
				field = "slot_minutes"
			case strings.HasSuffix(ex, ".day"):
				field = "days"
			case strings.HasSuffix(ex, ".end"):
				field = "end"
			case ex == "practitioner" || ex == "location":
				field = ex
			}
		}
	}
	fe[field] = msg
}
