package notify

import (
	"fmt"
	"strings"
	"time"
)

// The emails say that something waits in the portal and where to sign
// in; never what it is about. The date, time and place of one's own
// appointment are the exception, as in any clinic's reminder.

// compose writes the email of an event (n events of a group) for r.
func (s *Service) compose(ev event, r *recipient, n int) *outboxDoc {
	proxy := r.proxy(ev.patient)
	var subject, line, page string
	switch ev.kind {
	case EventMessage:
		subject, page = "New message in your OpenChart portal", "/portal/messages"
		line = "You have a new message from the care team in your OpenChart portal."
		if proxy {
			line = "There is a new message from the care team in the OpenChart portal, for someone you help with their care."
		}
	case EventResult:
		subject, page = "New test result in your OpenChart portal", "/portal/results"
		line = "A new test result is available in your OpenChart portal."
		if n > 1 {
			subject, line = "New test results in your OpenChart portal", "New test results are available in your OpenChart portal."
		}
		if proxy {
			line = strings.TrimSuffix(line, ".") + ", for someone you help with their care."
		}
	default:
		page = "/portal/appointments"
		when := s.when(ev.start)
		at := ""
		if ev.place != "" {
			at = " at " + ev.place
		}
		whose := "Your appointment"
		if proxy {
			whose = "The appointment of someone you help with their care"
		}
		switch ev.what {
		case "booked":
			subject = "Appointment booked"
			line = fmt.Sprintf("%s on %s%s was booked.", whose, when, at)
		case "moved":
			subject = "Appointment changed"
			line = fmt.Sprintf("%s was moved to %s%s.", whose, when, at)
		case "cancelled":
			subject = "Appointment cancelled"
			line = fmt.Sprintf("%s on %s%s was cancelled.", whose, when, at)
		default:
			subject = "Appointment reminder"
			line = fmt.Sprintf("Reminder: %s is on %s%s.", strings.ToLower(whose[:1])+whose[1:], when, at)
		}
	}
	body := "Hello,\n\n" + line + "\n\n" +
		"Sign in to the portal to see it:\n" + s.portal + page + "\n\n" +
		"For your privacy, this email never includes details of anyone's health or care.\n\n" +
		"You get this email because you asked for notifications in the OpenChart portal. " +
		"To change or stop them, sign in and go to My account:\n" + s.portal + "/portal/account\n"
	d := &outboxDoc{User: r.user.ID, Patient: ev.patient, Event: ev.kind, Ref: ev.ref, Subject: subject, Body: body}
	if ev.kind == EventReminder {
		d.Until = ev.start
	}
	return d
}

// when writes an appointment's time in the clinic's zone: "Tuesday 1
// December 2026 at 09:30".
func (s *Service) when(t time.Time) string {
	return t.In(s.loc).Format("Monday 2 January 2006 at 15:04")
}
