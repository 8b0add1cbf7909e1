package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// phi are words of the record that no email may contain.
var phi = []string{"potassium", "lovelace", "refill", "pharmacy", "5.9", "byron", "osler", "checkup"}

func checkNoPHI(t *testing.T, ms []received) {
	t.Helper()
	for _, m := range ms {
		low := strings.ToLower(m.Body + m.Header.Get("Subject"))
		for _, w := range phi {
			if strings.Contains(low, w) {
				t.Errorf("the email to %s contains %q:\n%s", m.To, w, m.Raw)
			}
		}
	}
}

func TestNotify(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) { testNotify(t, newEnv(t, cfg(t))) })
	}
}

func testNotify(t *testing.T, e *env) {
	n := e.service(e.smtp(), nil)
	e.optIn(n, e.ada, adaMail)
	e.optIn(n, e.bob, bobMail)
	// The first poll sets the checkpoint: nothing before it is announced.
	e.lab("final", "")
	if p, _ := e.cycle(n); p.Queued != 0 {
		t.Fatalf("the first poll queued %d", p.Queued)
	}
	if got := e.box.take(); len(got) != 0 {
		t.Fatalf("emails before anything happened: %v", got)
	}

	// A patient's message to the clinic tells the patient nothing; the
	// clinician's reply sends one email to each person acting for her.
	sent, err := e.inbox.Send(e.adaCtx(), inbox.NewMessage{From: "Patient/" + e.pat, To: []string{e.clinic},
		Patient: "Patient/" + e.pat, Topic: "Refill", Text: "I need a refill."})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := e.cycle(n); p.Queued != 0 {
		t.Fatalf("the patient's own message queued %d emails", p.Queued)
	}
	if _, err := e.inbox.Reply(e.docCtx(), sent.ID, e.doc, "Sent to your pharmacy; potassium 5.9 is high.", nil); err != nil {
		t.Fatal(err)
	}
	p, d := e.cycle(n)
	if p.Queued != 2 || d.Sent != 2 {
		t.Fatalf("after the reply: %+v %+v, want 2 queued and sent", p, d)
	}
	got := e.box.take()
	ada := to(got, adaMail)
	if len(ada) != 1 || len(to(got, bobMail)) != 1 {
		t.Fatalf("emails after the reply: %+v", got)
	}
	if s := ada[0].Header.Get("Subject"); s != "New message in your OpenChart portal" {
		t.Errorf("subject %q", s)
	}
	if !strings.Contains(ada[0].Body, "You have a new message") || !strings.Contains(ada[0].Body, "https://ehr.example.org/portal/messages") {
		t.Errorf("body:\n%s", ada[0].Body)
	}
	if !strings.Contains(to(got, bobMail)[0].Body, "someone you help with their care") {
		t.Errorf("the proxy's email:\n%s", to(got, bobMail)[0].Body)
	}
	if ada[0].From != "noreply@clinic.example.org" {
		t.Errorf("envelope from %q", ada[0].From)
	}
	checkNoPHI(t, got)
	// Reading the reply (a new version of it) is no new message.
	if _, err := e.inbox.MarkRead(e.adaCtx(), sent.ID, inbox.Reader{User: "Patient/" + e.pat}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.cycle(n); p.Queued != 0 {
		t.Fatalf("marking read queued %d", p.Queued)
	}

	// A restart (a new service on the same database) within the overlap
	// sends nothing again.
	n = e.service(e.smtp(), nil)
	if p, d := e.cycle(n); p.Queued != 0 || d.Sent != 0 || len(e.box.take()) != 0 {
		t.Fatalf("after a restart: %+v %+v", p, d)
	}

	// Results: a preliminary result says nothing; two results becoming
	// final are one email per person.
	o1 := e.lab("preliminary", "")
	o2 := e.lab("preliminary", "")
	if p, _ := e.cycle(n); p.Queued != 0 {
		t.Fatalf("preliminary results queued %d", p.Queued)
	}
	e.update(o1, `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"Potassium"},"subject":{"reference":"Patient/`+e.pat+`"},"valueQuantity":{"value":5.9,"unit":"mmol/L"}}`)
	e.update(o2, `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"Potassium"},"subject":{"reference":"Patient/`+e.pat+`"},"valueQuantity":{"value":5.1,"unit":"mmol/L"}}`)
	p, d = e.cycle(n)
	got = e.box.take()
	if p.Queued != 2 || len(to(got, adaMail)) != 1 || len(to(got, bobMail)) != 1 {
		t.Fatalf("two final results: %+v %+v %+v", p, d, got)
	}
	if s := to(got, adaMail)[0].Header.Get("Subject"); s != "New test results in your OpenChart portal" {
		t.Errorf("subject %q", s)
	}
	checkNoPHI(t, got)

	// A result the patient asked to keep from her proxy (PRS), and a
	// restricted one (R): the patient hears of them, the proxy does not.
	for _, label := range []string{
		`{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PRS"}`,
		`{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}`,
	} {
		e.lab("final", `,"meta":{"security":[`+label+`]}`)
		p, _ = e.cycle(n)
		got = e.box.take()
		if p.Queued != 1 || len(to(got, adaMail)) != 1 || len(to(got, bobMail)) != 0 {
			t.Fatalf("a result labelled %s: %+v, emails %+v", label, p, got)
		}
	}

	// A result withheld from the patient by a clinician: nobody hears of
	// it; released, it is new to them.
	w := e.lab("final", "")
	wid := strings.TrimPrefix(w, "Observation/")
	if _, err := e.app.Repo.Withhold(e.docCtx(), "Observation", wid, 0, repo.Withholding{Exception: "preventing-harm", Reason: "To discuss at the visit."}); err != nil {
		t.Fatal(err)
	}
	if p, _ = e.cycle(n); p.Queued != 0 || len(e.box.take()) != 0 {
		t.Fatalf("a withheld result: %+v", p)
	}
	if _, err := e.app.Repo.Release(e.docCtx(), "Observation", wid, 0); err != nil {
		t.Fatal(err)
	}
	p, _ = e.cycle(n)
	got = e.box.take()
	if p.Queued != 2 || len(to(got, adaMail)) != 1 || len(to(got, bobMail)) != 1 {
		t.Fatalf("the result released: %+v %+v", p, got)
	}
	checkNoPHI(t, got)

	// Preferences off: the patient gets nothing, the proxy still does.
	if _, err := n.SavePrefs(context.Background(), e.ada.ID, Prefs{}); err != nil {
		t.Fatal(err)
	}
	e.lab("final", "")
	e.cycle(n)
	got = e.box.take()
	if len(to(got, adaMail)) != 0 || len(to(got, bobMail)) != 1 {
		t.Fatalf("after the patient turned notifications off: %+v", got)
	}
	// Only the events chosen: the proxy wants appointments only.
	e.optIn(n, e.bob, bobMail, EventAppointment)
	e.lab("final", "")
	if p, _ := e.cycle(n); p.Queued != 0 || len(e.box.take()) != 0 {
		t.Fatalf("a result for a proxy who wants appointments only: %+v", p)
	}

	// Appointments: booked, moved, cancelled, each with its date and
	// place; the reminder once for one within 24 hours.
	start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
	appt := func(status string, at time.Time) string {
		return `{"resourceType":"Appointment","status":"` + status + `","start":"` + at.Format(time.RFC3339) + `","end":"` + at.Add(30*time.Minute).Format(time.RFC3339) + `",
			"description":"checkup","participant":[{"actor":{"reference":"Patient/` + e.pat + `"},"status":"accepted"},
			{"actor":{"reference":"` + e.loc + `"},"status":"accepted"}]}`
	}
	a := e.create(appt("booked", start))
	e.cycle(n)
	got = e.box.take()
	want := "was booked"
	if len(got) != 1 || got[0].To != bobMail || !strings.Contains(got[0].Body, start.Format("Monday 2 January 2006 at 15:04")+" at Main Street Clinic "+want) &&
		!strings.Contains(got[0].Body, want) {
		t.Fatalf("booked: %+v", got)
	}
	if !strings.Contains(got[0].Body, "on "+start.Format("Monday 2 January 2006 at 15:04")+" at Main Street Clinic") {
		t.Errorf("booked:\n%s", got[0].Body)
	}
	moved := start.Add(24 * time.Hour)
	e.update(a, appt("booked", moved))
	e.cycle(n)
	if got = e.box.take(); len(got) != 1 || !strings.Contains(got[0].Body, "was moved to "+moved.Format("Monday 2 January 2006 at 15:04")) {
		t.Fatalf("moved: %+v", got)
	}
	e.update(a, appt("cancelled", moved))
	e.cycle(n)
	if got = e.box.take(); len(got) != 1 || got[0].Header.Get("Subject") != "Appointment cancelled" {
		t.Fatalf("cancelled: %+v", got)
	}
	checkNoPHI(t, got)
	e.optIn(n, e.bob, bobMail, EventReminder)
	e.create(appt("booked", time.Now().UTC().Add(3*time.Hour)))
	e.cycle(n)
	if got = e.box.take(); len(got) != 1 || got[0].Header.Get("Subject") != "Appointment reminder" {
		t.Fatalf("reminder: %+v", got)
	}
	if p, _ := e.cycle(n); p.Queued != 0 || len(e.box.take()) != 0 {
		t.Fatalf("the reminder again: %+v", p)
	}

	// Every email sent is in the audit trail, without the address.
	ents := e.exports()
	if len(ents) < 10 {
		t.Errorf("audit entries of the emails: %d", len(ents))
	}
	for _, en := range ents {
		if en.Agent.Username != "notifications" || len(en.Patients) != 1 || en.Patients[0] != e.pat ||
			en.Entities[0].Type != audit.UserEntity || strings.Contains(string(en.OutcomeDesc), "@") {
			t.Errorf("audit entry %+v", en)
		}
	}
}

// TestWithoutEmail: without SMTP nothing is sent and nothing is lost;
// once email is set up, the outbox goes.
func TestWithoutEmail(t *testing.T) {
	e := newEnv(t, stores()["sqlite"](t))
	off := e.service(nil, nil)
	if off.EmailConfigured() {
		t.Fatal("configured without a sender")
	}
	e.optIn(off, e.ada, adaMail)
	e.optIn(off, e.bob, bobMail)
	e.cycle(off)
	e.lab("final", "")
	p, d := e.cycle(off)
	if p.Queued != 2 || d.Sent != 0 {
		t.Fatalf("without email: %+v %+v", p, d)
	}
	if n, err := off.Pending(context.Background()); err != nil || n != 2 {
		t.Fatalf("pending = %d, %v", n, err)
	}
	// Meanwhile the proxy stops acting for the patient: what was queued
	// for him is not sent.
	bob := *e.bob
	bob.Patients = []string{"someone-else"}
	if _, err := e.auth.UpdateUser(e.ctx, bob); err != nil {
		t.Fatal(err)
	}
	on := e.service(e.smtp(), nil)
	_, d = e.cycle(on)
	got := e.box.take()
	if d.Sent != 1 || d.Dropped != 1 || len(to(got, adaMail)) != 1 || len(to(got, bobMail)) != 0 {
		t.Fatalf("once email is set up: %+v %+v", d, got)
	}
	if n, _ := on.Pending(context.Background()); n != 0 {
		t.Fatalf("pending after delivery = %d", n)
	}
}

type failing struct {
	mu    sync.Mutex
	fails int
	next  Sender
}

func (f *failing) Send(ctx context.Context, m Mail) error {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return errors.New("451 try again later")
	}
	f.mu.Unlock()
	return f.next.Send(ctx, m)
}

// TestRetry: a failed delivery waits and is tried again; a server that
// refuses for good is given up after MaxAttempts, audited as a failure.
func TestRetry(t *testing.T) {
	e := newEnv(t, stores()["sqlite"](t))
	var mu sync.Mutex
	shift := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(shift) }
	advance := func(d time.Duration) { mu.Lock(); shift += d; mu.Unlock() }
	f := &failing{fails: 2, next: e.smtp()}
	n := e.service(f, now)
	e.optIn(n, e.ada, adaMail)
	e.cycle(n)
	e.lab("final", "")
	if _, d := e.cycle(n); d.Failed != 1 || d.Sent != 0 {
		t.Fatalf("first attempt: %+v", d)
	}
	if _, d := e.cycle(n); d.Failed != 0 || d.Sent != 0 {
		t.Fatalf("before the backoff passed: %+v", d)
	}
	advance(time.Minute + time.Second)
	if _, d := e.cycle(n); d.Failed != 1 {
		t.Fatalf("second attempt: %+v", d)
	}
	advance(2*time.Minute + time.Second)
	if _, d := e.cycle(n); d.Sent != 1 || len(e.box.take()) != 1 {
		t.Fatalf("third attempt: %+v", d)
	}

	f.fails = 1000
	e.lab("final", "")
	for i := 0; i < DefaultMaxAttempts; i++ {
		advance(7 * time.Hour)
		e.cycle(n)
	}
	if p, _ := n.Pending(context.Background()); p != 0 {
		t.Fatalf("pending after giving up: %d", p)
	}
	failed := 0
	for _, en := range e.exports() {
		if en.Outcome == audit.SeriousFailure && strings.Contains(en.OutcomeDesc, "not delivered after 10 attempts") {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("audit entries of the abandoned email: %d", failed)
	}
}

// TestTwoServers: two services on one database poll and deliver at the
// same time; every email goes once.
func TestTwoServers(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cfg(t))
			a, b := e.service(e.smtp(), nil), e.service(e.smtp(), nil)
			e.optIn(a, e.ada, adaMail)
			e.optIn(a, e.bob, bobMail)
			e.cycle(a)
			for i := 0; i < 5; i++ {
				sent, err := e.inbox.Send(e.adaCtx(), inbox.NewMessage{From: "Patient/" + e.pat, To: []string{e.clinic},
					Patient: "Patient/" + e.pat, Topic: "Question", Text: "A question."})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.inbox.Reply(e.docCtx(), sent.ID, e.doc, "An answer.", nil); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for _, s := range []*Service{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.Poll(context.Background()); err != nil {
						t.Error(err)
					}
					if _, err := s.Deliver(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got := e.box.take()
			if len(to(got, adaMail)) != 5 || len(to(got, bobMail)) != 5 {
				t.Fatalf("emails: %d to the patient, %d to the proxy; want 5 each", len(to(got, adaMail)), len(to(got, bobMail)))
			}
		})
	}
}

// exports are the audit entries of the emails sent.
func (e *env) exports() []*audit.Entry {
	e.t.Helper()
	page, err := e.app.Repo.AuditReport(e.ctx, store.AuditQuery{Interactions: []string{audit.InteractionExport}, Count: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*audit.Entry
	for _, r := range page.Rows {
		en, err := r.Entry()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, en)
	}
	return out
}

func TestPrefs(t *testing.T) {
	e := newEnv(t, stores()["sqlite"](t))
	n := e.service(nil, nil)
	ctx := context.Background()
	if p, err := n.Prefs(ctx, e.ada.ID); err != nil || p.Active() || p.Email != "" {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	for _, bad := range []string{"ada", "ada@", "@example.org", "Ada <ada@example.org>", "ada@example", "a b@example.org", "ada@example.org, eve@example.org", strings.Repeat("a", 250) + "@example.org"} {
		_, err := n.SavePrefs(ctx, e.ada.ID, Prefs{Email: bad, Consent: true, Events: Events})
		if !errs.Is(err, errs.Invalid) || len(errs.IssuesOf(err)) == 0 || errs.IssuesOf(err)[0].Expression[0] != "email" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := n.SavePrefs(ctx, e.ada.ID, Prefs{Email: adaMail, Events: []Event{EventResult}}); !errs.Is(err, errs.Invalid) || errs.IssuesOf(err)[0].Expression[0] != "consent" {
		t.Errorf("events without consent: %v", err)
	}
	if _, err := n.SavePrefs(ctx, e.ada.ID, Prefs{Email: adaMail, Consent: true, Events: []Event{"marketing"}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("an unknown event: %v", err)
	}
	if p, _ := n.Prefs(ctx, e.ada.ID); p.Email != "" {
		t.Fatalf("a refused save stored %+v", p)
	}
	p, err := n.SavePrefs(ctx, e.ada.ID, Prefs{Email: " ada@example.org ", Consent: true, Events: []Event{EventResult, EventResult, EventMessage}})
	if err != nil || p.Email != adaMail || len(p.Events) != 2 {
		t.Fatalf("save: %+v, %v", p, err)
	}
	if got, _ := n.Prefs(ctx, e.ada.ID); !got.Wants(EventResult) || !got.Wants(EventMessage) || got.Wants(EventReminder) {
		t.Fatalf("stored: %+v", got)
	}
	if _, err := n.SavePrefs(ctx, e.ada.ID, Prefs{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Prefs(ctx, e.ada.ID); got.Active() {
		t.Fatalf("after turning off: %+v", got)
	}
}

func TestNewSMTP(t *testing.T) {
	for _, c := range []struct{ url, from, addr, err string }{
		{"smtp://user:pw@mail.example.org", "noreply@example.org", "mail.example.org:587", ""},
		{"smtps://mail.example.org", "OpenChart <noreply@example.org>", "mail.example.org:465", ""},
		{"smtp://mail.example.org:2525", "noreply@example.org", "mail.example.org:2525", ""},
		{"http://mail.example.org", "noreply@example.org", "", "must start with smtp://"},
		{"smtp://", "noreply@example.org", "", "names no host"},
		{"smtp://mail.example.org:99999", "noreply@example.org", "", "not a port"},
		{"smtp://mail.example.org", "nobody", "", "not an email address"},
	} {
		s, err := NewSMTP(c.url, c.from)
		switch {
		case c.err == "" && (err != nil || s.Addr() != c.addr):
			t.Errorf("%s: %v", c.url, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.url, err, c.err)
		}
	}
}
