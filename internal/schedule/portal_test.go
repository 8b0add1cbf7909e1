package schedule

import (
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// TestUnderThePolicy runs the front desk and the portal with real
// principals: the access policy applies to staff, and the clinic's rules
// to patients.
func TestUnderThePolicy(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cfg(t))
			org := e.create(`{"resourceType":"Organization","name":"Main Street Clinic"}`)
			mine := e.create(`{"resourceType":"Patient","name":[{"family":"Lovelace","given":["Ada"]}],"managingOrganization":{"reference":"` + org + `"}}`)
			theirs := e.create(`{"resourceType":"Patient","name":[{"family":"Hopper","given":["Grace"]}],"managingOrganization":{"reference":"` + org + `"}}`)
			desk := access.With(e.ctx, &access.Principal{Kind: access.User, Username: "desk", Organization: org, Roles: []string{"frontdesk"}})
			ada := access.With(e.ctx, &access.Principal{Kind: access.User, Username: "ada", FHIRUser: mine, Patient: strings.TrimPrefix(mine, "Patient/")})

			id, err := e.svc.CreateSchedule(desk, ScheduleSpec{Practitioner: e.prac, Location: e.loc, Template: weekdays()})
			if err != nil {
				t.Fatal(err)
			}
			now := e.clock.Now()
			if _, err := e.svc.GenerateSlots(desk, "Schedule/"+id, now, now.AddDate(0, 0, 3)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.GenerateSlots(ada, "Schedule/"+id, now, now.AddDate(0, 0, 4)); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient generating slots: %v, want permission", err)
			}
			// The patient sees the published free slots and books her own visit.
			free, err := e.svc.FreeSlots(ada, SlotFilter{Practitioner: e.prac}, now, now.AddDate(0, 0, 3))
			if err != nil || len(free) != 63 {
				t.Fatalf("patient's FreeSlots = %d, %v; want 63", len(free), err)
			}
			if _, err := e.svc.Book(ada, Booking{SlotID: free[0].ID, Patient: theirs}); !errs.Is(err, errs.Permission) {
				t.Errorf("booking for someone else: %v, want permission", err)
			}
			today, err := e.svc.Book(ada, Booking{SlotID: free[0].ID, Patient: mine, Reason: "check-up"})
			if err != nil {
				t.Fatal(err)
			}
			later, err := e.svc.Book(ada, Booking{SlotID: free[40].ID, Patient: mine})
			if err != nil {
				t.Fatal(err)
			}
			// It shows on the clinic's calendar.
			day, err := e.svc.Day(desk, CalendarFilter{Practitioner: e.prac}, now)
			if err != nil || day.Entries[0].Appointment == nil || day.Entries[0].Appointment.ID != today.ID || day.Entries[0].Appointment.PatientName != "Ada Lovelace" {
				t.Fatalf("front desk's day = %+v, %v", day, err)
			}
			// The desk books another patient; Ada can neither see nor cancel it.
			other, err := e.svc.Book(desk, Booking{SlotID: free[1].ID, Patient: theirs})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Cancel(ada, other.ID, ByPatient, ""); err == nil {
				t.Errorf("a patient cancelled someone else's appointment")
			}
			// Under the notice period, even claiming to be the clinic.
			if _, err := e.svc.Cancel(ada, today.ID, ByClinic, "late"); !errs.Is(err, errs.Permission) {
				t.Errorf("late cancel by the patient: %v, want permission", err)
			}
			if _, err := e.svc.CheckIn(ada, today.ID); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient checking in: %v", err)
			}
			if _, err := e.svc.NoShow(ada, today.ID); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient marking a no-show: %v", err)
			}
			// Outside the notice period she reschedules and cancels herself.
			moved, err := e.svc.Reschedule(ada, later.ID, free[45].ID, ByPatient)
			if err != nil || !moved.Start.Equal(free[45].Start) {
				t.Fatalf("patient reschedule: %+v, %v", moved, err)
			}
			c, err := e.svc.Cancel(ada, later.ID, ByPatient, "feeling better")
			if err != nil || c.Status != "cancelled" || c.CancelReason.Code != "pat" {
				t.Fatalf("patient cancel: %+v, %v", c, err)
			}
			for _, id := range []string{free[40].ID, free[45].ID} {
				if sl, _ := e.svc.GetSlot(e.ctx, id); sl.Status != "free" {
					t.Errorf("slot %s is %s after the patient's changes, want free", id, sl.Status)
				}
			}
			mineList, err := e.svc.PatientAppointments(ada, mine)
			if err != nil || len(mineList) != 2 {
				t.Errorf("patient's appointments = %d, %v", len(mineList), err)
			}
			// The desk checks her in.
			enc, err := e.svc.CheckIn(desk, today.ID)
			if err != nil {
				t.Fatalf("front desk check-in: %v", err)
			}
			if res := e.valid("Encounter", enc); fhir.RefOf(res["serviceProvider"]) != org {
				t.Errorf("the encounter's serviceProvider is %v, want the desk's organization %s", res["serviceProvider"], org)
			}
		})
	}
}
