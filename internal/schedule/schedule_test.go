package schedule

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

func TestOccurrencesAcrossDaylightSaving(t *testing.T) {
	// 2030-03-10 is the day New York moves from 02:00 EST to 03:00 EDT:
	// the 02:00 slot does not exist and must not appear twice.
	tpl := Template{TimeZone: "America/New_York", SlotMinutes: 60, Windows: []Window{{Days: []time.Weekday{time.Sunday}, Start: "01:00", End: "04:00"}}}
	ny, _ := time.LoadLocation("America/New_York")
	from := time.Date(2030, 3, 10, 0, 0, 0, 0, ny)
	got := tpl.occurrences(from, from.AddDate(0, 0, 1))
	var s []string
	for _, g := range got {
		s = append(s, g.Format("15:04 MST"))
	}
	if want := "01:00 EST,03:00 EDT"; strings.Join(s, ",") != want {
		t.Errorf("occurrences = %v, want %s", s, want)
	}
}

func TestTemplateCheck(t *testing.T) {
	good := weekdays()
	cases := map[string]struct {
		mod   func(*Template)
		field string
	}{
		"unknown zone":     {func(t *Template) { t.TimeZone = "Mars/Olympus" }, "timeZone"},
		"short slot":       {func(t *Template) { t.SlotMinutes = 2 }, "slotMinutes"},
		"no windows":       {func(t *Template) { t.Windows = nil }, "window"},
		"bad start":        {func(t *Template) { t.Windows = []Window{{Days: []time.Weekday{1}, Start: "9am", End: "12:00"}} }, "window[0].start"},
		"ends before":      {func(t *Template) { t.Windows = []Window{{Days: []time.Weekday{1}, Start: "12:00", End: "09:00"}} }, "window[0].end"},
		"no day":           {func(t *Template) { t.Windows = []Window{{Start: "09:00", End: "12:00"}} }, "window[0].day"},
		"shorter than one": {func(t *Template) { t.Windows = []Window{{Days: []time.Weekday{1}, Start: "09:00", End: "09:10"}} }, "window[0].end"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tpl := good
			c.mod(&tpl)
			err := tpl.Check()
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Issues) == 0 || e.Issues[0].Expression[0] != c.field {
				t.Fatalf("Check() = %v, want invalid on %s", err, c.field)
			}
		})
	}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestScheduling(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Run("slots", func(t *testing.T) { testSlots(t, newEnv(t, cfg(t))) })
			t.Run("booking", func(t *testing.T) { testBooking(t, newEnv(t, cfg(t))) })
			t.Run("concurrent", func(t *testing.T) { testConcurrent(t, newEnv(t, cfg(t))) })
			t.Run("visit", func(t *testing.T) { testVisit(t, newEnv(t, cfg(t))) })
			t.Run("concurrent generation", func(t *testing.T) { testConcurrentGeneration(t, newEnv(t, cfg(t))) })
		})
	}
}

func testSlots(t *testing.T, e *env) {
	id, err := e.svc.CreateSchedule(e.ctx, ScheduleSpec{Practitioner: e.prac, Location: e.loc, Template: weekdays()})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := e.svc.GetSchedule(e.ctx, id)
	if err != nil || !sched.HasTemplate {
		t.Fatalf("GetSchedule: %+v %v", sched, err)
	}
	if fmt.Sprint(sched.Template) != fmt.Sprint(weekdays()) {
		t.Errorf("template read back = %+v, want %+v", sched.Template, weekdays())
	}
	e.valid("Schedule", id)
	from := e.clock.Now()
	to := from.AddDate(0, 0, 7)
	n, err := e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, to)
	if err != nil || n != 5*21 {
		t.Fatalf("GenerateSlots = %d, %v; want 105", n, err)
	}
	n, err = e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, to)
	if err != nil || n != 0 {
		t.Fatalf("second GenerateSlots = %d, %v; want 0 (idempotent)", n, err)
	}
	// A longer period creates only the new days.
	n, err = e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, from.AddDate(0, 0, 8))
	if err != nil || n != 21 {
		t.Fatalf("GenerateSlots over 8 days = %d, %v; want 21 more", n, err)
	}
	free, err := e.svc.FreeSlots(e.ctx, SlotFilter{Practitioner: e.prac}, from, to)
	if err != nil || len(free) != 105 {
		t.Fatalf("FreeSlots = %d, %v; want 105", len(free), err)
	}
	first := free[0]
	ny, _ := time.LoadLocation("America/New_York")
	if want := time.Date(2030, 3, 4, 9, 0, 0, 0, ny); !first.Start.Equal(want) || first.End.Sub(first.Start) != 20*time.Minute {
		t.Errorf("first slot %v-%v, want 09:00 for 20 minutes", first.Start, first.End)
	}
	for i := 1; i < len(free); i++ {
		if !free[i-1].Start.Before(free[i].Start) {
			t.Fatalf("slots out of order at %d", i)
		}
	}
	e.valid("Slot", first.ID)
	if got, _ := e.svc.FreeSlots(e.ctx, SlotFilter{Location: "Location/elsewhere"}, from, to); len(got) != 0 {
		t.Errorf("FreeSlots at another location = %d, want 0", len(got))
	}
	// A new template applies to the slots generated from then on.
	mornings := Template{TimeZone: "America/New_York", SlotMinutes: 30, Windows: []Window{{Days: []time.Weekday{time.Saturday}, Start: "09:00", End: "11:00"}}}
	if err := e.svc.SetTemplate(e.ctx, id, mornings); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetTemplate(e.ctx, id, Template{TimeZone: "Nowhere/Nothing"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("SetTemplate with a bad zone: %v", err)
	}
	if sched, _ := e.svc.GetSchedule(e.ctx, id); fmt.Sprint(sched.Template) != fmt.Sprint(mornings) {
		t.Errorf("template after SetTemplate = %+v", sched.Template)
	}
	if n, err := e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, to); err != nil || n != 4 {
		t.Errorf("GenerateSlots with the Saturday template = %d, %v; want 4", n, err)
	}
	e.valid("Schedule", id)
	if _, err := e.svc.GenerateSlots(e.ctx, "Patient/x", from, to); !errs.Is(err, errs.Invalid) {
		t.Errorf("GenerateSlots on a patient reference: %v, want invalid", err)
	}
	if _, err := e.svc.GenerateSlots(e.ctx, "Schedule/"+id, to, from); !errs.Is(err, errs.Invalid) {
		t.Errorf("GenerateSlots backwards: %v, want invalid", err)
	}
}

func testBooking(t *testing.T, e *env) {
	e.schedule()
	pat := e.patient("Ada", "Lovelace")
	day := e.clock.Now()
	free, err := e.svc.FreeSlots(e.ctx, SlotFilter{Practitioner: e.prac, Location: e.loc}, day, day.AddDate(0, 0, 1))
	if err != nil || len(free) != 21 {
		t.Fatalf("FreeSlots = %d, %v", len(free), err)
	}
	slot := free[3]
	appt, err := e.svc.Book(e.ctx, Booking{SlotID: slot.ID, Patient: pat, Reason: "cough for two weeks"})
	if err != nil {
		t.Fatal(err)
	}
	if appt.Status != "booked" || !appt.Start.Equal(slot.Start) || !appt.End.Equal(slot.End) || appt.Patient != pat ||
		len(appt.Practitioners) != 1 || appt.Practitioners[0] != e.prac || len(appt.Locations) != 1 || appt.Reason != "cough for two weeks" ||
		appt.ServiceType.Code != "124" || appt.Virtual() {
		t.Errorf("booked appointment = %+v", appt)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, slot.ID); sl.Status != "busy" {
		t.Errorf("slot after booking is %s, want busy", sl.Status)
	}
	e.valid("Appointment", appt.ID)
	e.valid("Slot", slot.ID)

	// The day calendar shows it with the patient's name, and the slot no
	// longer as free.
	cal, err := e.svc.Day(e.ctx, CalendarFilter{Practitioner: e.prac}, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Entries) != 21 {
		t.Fatalf("day has %d entries, want 21", len(cal.Entries))
	}
	got := cal.Entries[3]
	if got.Free() || got.Appointment.ID != appt.ID || got.Appointment.PatientName != "Ada Lovelace" {
		t.Errorf("entry 3 = %+v", got)
	}
	for i, en := range cal.Entries {
		if i != 3 && !en.Free() {
			t.Errorf("entry %d is not free", i)
		}
	}
	week, err := e.svc.Week(e.ctx, CalendarFilter{Location: e.loc}, day.AddDate(0, 0, 2))
	if err != nil || len(week) != 7 || len(week[0].Entries) != 21 || week[0].Entries[3].Appointment == nil || len(week[5].Entries) != 0 {
		t.Fatalf("Week: %v %v", week, err)
	}

	// Double booking is refused with a conflict and changes nothing.
	other := e.patient("Grace", "Hopper")
	if _, err := e.svc.Book(e.ctx, Booking{SlotID: slot.ID, Patient: other}); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.Message(err), "no longer available") {
		t.Errorf("double booking: %v, want a conflict", err)
	}
	if list, _ := e.svc.PatientAppointments(e.ctx, other); len(list) != 0 {
		t.Errorf("the refused booking left %d appointments", len(list))
	}
	if _, err := e.svc.Book(e.ctx, Booking{SlotID: free[4].ID, Patient: "Patient/nobody"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("booking for an unknown patient: %v, want invalid", err)
	}
	if _, err := e.svc.Book(e.ctx, Booking{SlotID: "no-such-slot", Patient: pat}); !errs.Is(err, errs.NotFound) {
		t.Errorf("booking an unknown slot: %v, want not found", err)
	}

	// Cancel frees the slot; cancelling again is a conflict.
	c, err := e.svc.Cancel(e.ctx, appt.ID, ByClinic, "doctor ill")
	if err != nil || c.Status != "cancelled" || c.CancelReason.Code != "prov" || c.CancelReason.Text != "doctor ill" {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, slot.ID); sl.Status != "free" {
		t.Errorf("slot after cancel is %s, want free", sl.Status)
	}
	e.valid("Appointment", appt.ID)
	if _, err := e.svc.Cancel(e.ctx, appt.ID, ByClinic, ""); !errs.Is(err, errs.Conflict) {
		t.Errorf("second cancel: %v, want conflict", err)
	}
	cal, _ = e.svc.Day(e.ctx, CalendarFilter{Practitioner: e.prac}, day)
	if !cal.Entries[3].Free() {
		t.Errorf("the cancelled appointment still shows on the calendar")
	}

	// The patient's own cancellation respects the notice period: the
	// 10:00 slot today is two hours away.
	b, err := e.svc.Book(e.ctx, Booking{SlotID: slot.ID, Patient: other})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := e.svc.PatientMayCancel(b, e.clock.Now()); ok || why == "" {
		t.Errorf("PatientMayCancel two hours ahead = %v", ok)
	}
	if _, err := e.svc.Cancel(e.ctx, b.ID, ByPatient, "busy"); !errs.Is(err, errs.Permission) {
		t.Errorf("late patient cancel: %v, want permission", err)
	}
	// Rescheduling moves the same appointment to tomorrow: old slot free,
	// new slot busy; the patient may then cancel it.
	tomorrow, _ := e.svc.FreeSlots(e.ctx, SlotFilter{Schedule: "Schedule/" + strings.TrimPrefix(slotSchedule(t, e, slot.ID), "Schedule/")}, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2))
	if len(tomorrow) == 0 {
		t.Fatal("no free slot tomorrow")
	}
	if _, err := e.svc.Reschedule(e.ctx, b.ID, tomorrow[0].ID, ByPatient); !errs.Is(err, errs.Permission) {
		t.Errorf("late patient reschedule: %v, want permission", err)
	}
	moved, err := e.svc.Reschedule(e.ctx, b.ID, tomorrow[0].ID, ByClinic)
	if err != nil || moved.ID != b.ID || !moved.Start.Equal(tomorrow[0].Start) || moved.Status != "booked" || len(moved.Slots) != 1 || moved.Slots[0] != tomorrow[0].ID {
		t.Fatalf("Reschedule = %+v, %v", moved, err)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, slot.ID); sl.Status != "free" {
		t.Errorf("old slot after reschedule is %s, want free", sl.Status)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, tomorrow[0].ID); sl.Status != "busy" {
		t.Errorf("new slot after reschedule is %s, want busy", sl.Status)
	}
	e.valid("Appointment", b.ID)
	// Rescheduling into a busy slot fails and leaves everything as it was.
	third, err := e.svc.Book(e.ctx, Booking{SlotID: slot.ID, Patient: pat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reschedule(e.ctx, third.ID, tomorrow[0].ID, ByClinic); !errs.Is(err, errs.Conflict) {
		t.Errorf("reschedule into a busy slot: %v, want conflict", err)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, slot.ID); sl.Status != "busy" {
		t.Errorf("failed reschedule freed the old slot")
	}
	if ok, _ := e.svc.PatientMayCancel(moved, e.clock.Now()); !ok {
		t.Errorf("PatientMayCancel a day ahead = false")
	}
	if c, err := e.svc.Cancel(e.ctx, b.ID, ByPatient, "feeling better"); err != nil || c.CancelReason.Code != "pat" {
		t.Errorf("patient cancel a day ahead: %+v %v", c, err)
	}
	list, err := e.svc.PatientAppointments(e.ctx, other)
	if err != nil || len(list) != 1 || list[0].Status != "cancelled" || list[0].PatientName != "Grace Hopper" {
		t.Errorf("PatientAppointments = %+v, %v", list, err)
	}
}

func slotSchedule(t *testing.T, e *env, id string) string {
	sl, err := e.svc.GetSlot(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return sl.Schedule
}

func testConcurrent(t *testing.T, e *env) {
	e.schedule()
	day := e.clock.Now()
	free, err := e.svc.FreeSlots(e.ctx, SlotFilter{Practitioner: e.prac}, day, day.AddDate(0, 0, 1))
	if err != nil || len(free) == 0 {
		t.Fatal(err)
	}
	const n = 8
	pats := make([]string, n)
	for i := range pats {
		pats[i] = e.patient(fmt.Sprintf("P%d", i), "Racer")
	}
	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, results[i] = e.svc.Book(e.ctx, Booking{SlotID: free[0].ID, Patient: pats[i]})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case errs.Is(err, errs.Conflict):
		default:
			t.Errorf("a losing booking failed with %v, want a conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d bookings of one slot succeeded, want exactly 1 (%v)", won, results)
	}
	booked := 0
	for _, p := range pats {
		list, err := e.svc.PatientAppointments(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		booked += len(list)
	}
	if booked != 1 {
		t.Errorf("%d appointments exist for the slot, want 1", booked)
	}
}

func testVisit(t *testing.T, e *env) {
	e.schedule()
	pat := e.patient("Ada", "Lovelace")
	day := e.clock.Now()
	free, _ := e.svc.FreeSlots(e.ctx, SlotFilter{Practitioner: e.prac}, day, day.AddDate(0, 0, 1))
	appt, err := e.svc.Book(e.ctx, Booking{SlotID: free[0].ID, Patient: pat, Virtual: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(appt.JoinURL, "https://meet.example.org/openchart/") || len(appt.JoinURL) != len("https://meet.example.org/openchart/")+26 {
		t.Errorf("join link %q", appt.JoinURL)
	}
	enc, err := e.svc.CheckIn(e.ctx, appt.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.CheckIn(e.ctx, appt.ID)
	if err != nil || again != enc {
		t.Errorf("second check-in = %s, %v; want the same encounter %s", again, err, enc)
	}
	a, _ := e.svc.GetAppointment(e.ctx, appt.ID)
	if a.Status != "arrived" {
		t.Errorf("status after check-in = %s", a.Status)
	}
	res := e.valid("Encounter", enc)
	if res["status"] != "in-progress" || fhir.RefOf(fhir.List(res["appointment"])[0]) != "Appointment/"+appt.ID || fhir.RefOf(res["subject"]) != pat {
		t.Errorf("encounter = %v", res)
	}
	if cls, _ := res["class"].(map[string]any); cls["code"] != "VR" {
		t.Errorf("virtual visit encounter class = %v, want VR", cls)
	}
	e.valid("Appointment", appt.ID)
	if _, err := e.svc.NoShow(e.ctx, appt.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("no-show after check-in: %v, want conflict", err)
	}

	// No-show: refused before the start, then recorded; the slot stays busy.
	b, err := e.svc.Book(e.ctx, Booking{SlotID: free[1].ID, Patient: pat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.NoShow(e.ctx, b.ID); !errs.Is(err, errs.Invalid) {
		t.Errorf("no-show before the start: %v, want invalid", err)
	}
	e.clock.Set(b.Start.Add(15 * time.Minute))
	ns, err := e.svc.NoShow(e.ctx, b.ID)
	if err != nil || ns.Status != "noshow" {
		t.Fatalf("NoShow = %+v, %v", ns, err)
	}
	if sl, _ := e.svc.GetSlot(e.ctx, free[1].ID); sl.Status != "busy" {
		t.Errorf("slot after no-show is %s, want busy", sl.Status)
	}
	if _, err := e.svc.CheckIn(e.ctx, b.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("check-in of a no-show: %v, want conflict", err)
	}
	// A slot that has started can no longer be booked.
	if _, err := e.svc.Book(e.ctx, Booking{SlotID: free[0].ID, Patient: pat}); err == nil {
		t.Errorf("booking a past slot succeeded")
	}
}

func testConcurrentGeneration(t *testing.T, e *env) {
	id, err := e.svc.CreateSchedule(e.ctx, ScheduleSpec{Practitioner: e.prac, Location: e.loc, Template: weekdays()})
	if err != nil {
		t.Fatal(err)
	}
	from := e.clock.Now()
	var wg sync.WaitGroup
	created := make([]int, 3)
	errors := make([]error, 3)
	for i := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i], errors[i] = e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, from.AddDate(0, 0, 7))
		}()
	}
	wg.Wait()
	sum := 0
	for i := range created {
		if errors[i] != nil {
			t.Errorf("run %d: %v", i, errors[i])
		}
		sum += created[i]
	}
	free, err := e.svc.FreeSlots(e.ctx, SlotFilter{Schedule: "Schedule/" + id}, from, from.AddDate(0, 0, 7))
	if err != nil || len(free) != 105 || sum != 105 {
		t.Errorf("concurrent runs created %v, %d slots exist (%v); want 105 in all", created, len(free), err)
	}
}
