package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// put stores a resource as the test operator.
func (e *env) put(js string) {
	e.t.Helper()
	res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.app.Repo.Update(operator(), res["resourceType"].(string), res["id"].(string), res, repo.UpdateOptions{}); err != nil {
		e.t.Fatalf("storing %s: %v", js, err)
	}
}

// staff creates an account linked to a FHIR resource, with roles in the
// test organization.
func (e *env) staff(name, fhirUser string, roles ...string) {
	e.t.Helper()
	u := auth.User{Username: name, DisplayName: name, FHIRUser: fhirUser,
		Memberships: []auth.Membership{{Organization: e.org, Roles: roles}}}
	if _, err := e.auth.CreateUser(operator(), u, testPassword); err != nil {
		e.t.Fatal(err)
	}
}

// find searches as the operator.
func (e *env) find(typ string, params url.Values) []*store.Record {
	e.t.Helper()
	c, err := search.NewCompilerFrom(e.app.Registry).Compile(typ, params, true)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.app.Repo.Search(operator(), c.Query)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Records
}

func resourceOf(t *testing.T, rec *store.Record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.JSON, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// deskClinic stores the clinic's practitioner and room and the test
// patients, and a front desk account "fran" and a physician "phil"
// (Practitioner/doc).
func deskClinic(e *env) {
	e.patients()
	e.put(`{"resourceType":"Practitioner","id":"doc","name":[{"family":"House","given":["Greg"]}]}`)
	e.put(`{"resourceType":"Location","id":"room1","name":"Room 1","status":"active"}`)
	e.staff("fran", "", auth.RoleFrontDesk)
	e.staff("phil", "Practitioner/doc", auth.RolePhysician)
}

func registration(extra url.Values) url.Values {
	f := url.Values{"family": {"Novak"}, "given": {"Ana Maria"}, "birthdate": {"1975-06-15"}, "sex": {"female"},
		"phone": {"+1 555 0199"}, "email": {"ana@example.org"}, "line": {"1 Main St"}, "city": {"Springfield"},
		"state": {"IL"}, "postal": {"62701"}, "country": {"US"}, "language": {"es"},
		"contact_name": {"Petr Novak"}, "contact_relationship": {"C"}, "contact_phone": {"555-0150"},
		"payer": {"Acme Health"}, "member_id": {"ACM-778899"}, "plan": {"Gold PPO"}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func TestRegistration(t *testing.T) {
	onStores(t, testRegistration)
}

func testRegistration(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	deskClinic(e)
	b := e.browser()
	b.login("fran")
	r := b.get("/patients/new")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Register a patient", `name="family"`, `name="birthdate"`, `name="language"`, `name="payer"`, "Register patient",
		`href="/schedule"`, ">Register</a>")

	// Bad input: each message next to its field, nothing stored.
	r = b.post("/patients/new", registration(url.Values{"family": {""}, "birthdate": {"2023-02-30"}, "email": {"not-an-email"},
		"phone": {"12"}, "member_id": {""}}))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="family-error"`, "This date does not exist", `id="email-error"`, `id="phone-error"`,
		`id="member_id-error"`, `aria-describedby="birthdate-error birthdate-hint"`, "The patient was not registered")
	r = b.post("/patients/new", registration(url.Values{"birthdate": {time.Now().AddDate(0, 0, 2).Format("2006-01-02")}}))
	wantBody(t, r, "cannot be in the future")
	if n := len(e.find("Patient", url.Values{"family": {"Novak"}})); n != 0 {
		t.Fatalf("%d patients stored by refused forms", n)
	}

	// A likely duplicate (the same family name without its accent and the
	// same birth date as Zoë Müller) needs "Register anyway".
	r = b.post("/patients/new", registration(url.Values{"family": {"Muller"}, "given": {"Zoe"}, "birthdate": {"1984-03-27"}, "phone": {""}}))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Possible duplicates", "Müller", "Register anyway", `id="duplicate_ok-error"`)
	if n := len(e.find("Patient", url.Values{"birthdate": {"1984-03-27"}})); n != 1 {
		t.Fatalf("%d patients born 1984-03-27, want only Zoë", n)
	}
	// The same phone number is a likely duplicate too.
	r = b.post("/patients/new", registration(url.Values{"phone": {"555-0101"}}))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Possible duplicates", "Müller")

	r = b.post("/patients/new", registration(url.Values{"family": {"Muller"}, "given": {"Zoe"}, "birthdate": {"1984-03-27"},
		"phone": {""}, "duplicate_ok": {"yes"}}))
	wantStatus(t, r, http.StatusSeeOther)
	if !regexp.MustCompile(`^/patients/[A-Za-z0-9.-]+/edit$`).MatchString(r.location()) {
		t.Fatalf("went to %q", r.location())
	}

	// The registration of Ana Novak with everything.
	r = b.post("/patients/new", registration(nil))
	wantStatus(t, r, http.StatusSeeOther)
	id := strings.Split(r.location(), "/")[2]
	r = b.get(r.location())
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Registered Ana Maria Novak, MRN ", "Demographics", `value="Springfield"`, `value="Acme Health"`, "Save changes")
	rec, err := e.app.Repo.Read(operator(), "Patient", id)
	if err != nil {
		t.Fatal(err)
	}
	pat := resourceOf(t, rec)
	js := string(rec.JSON)
	for _, want := range []string{`"system":"urn:openchart:mrn:clinic"`, `"code":"MR"`, `"reference":"Organization/clinic"`,
		`"code":"es"`, `"preferred":true`, `"given":["Ana","Maria"]`, `"postalCode":"62701"`, `"text":"Petr Novak"`, `"code":"C"`} {
		if !strings.Contains(js, want) {
			t.Errorf("the stored Patient lacks %s:\n%s", want, js)
		}
	}
	mrn := pat["identifier"].([]any)[0].(map[string]any)["value"].(string)
	if !regexp.MustCompile(`^[1-9][0-9]{7}$`).MatchString(mrn) {
		t.Errorf("MRN %q is not 8 digits", mrn)
	}
	covs := e.find("Coverage", url.Values{"beneficiary": {"Patient/" + id}})
	if len(covs) != 1 || !strings.Contains(string(covs[0].JSON), `"subscriberId":"ACM-778899"`) ||
		!strings.Contains(string(covs[0].JSON), `"value":"Gold PPO"`) {
		t.Fatalf("coverage: %d records", len(covs))
	}
	// The search finds the patient by the new MRN.
	wantBody(t, b.get("/?mrn="+mrn), "Novak, Ana Maria")

	// Editing: the version read with the form guards against lost updates.
	r = b.get("/patients/" + id + "/edit")
	ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(r.body)
	if ver == nil {
		t.Fatalf("no version in the form:\n%s", r.body)
	}
	edit := registration(url.Values{"city": {"Shelbyville"}, "version": {ver[1]}, "plan": {"Silver"}})
	wantStatus(t, b.post("/patients/"+id+"/edit", edit), http.StatusSeeOther)
	r = b.post("/patients/"+id+"/edit", registration(url.Values{"city": {"Capital City"}, "version": {ver[1]}}))
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "Someone else changed this patient", `value="Shelbyville"`)
	rec, _ = e.app.Repo.Read(operator(), "Patient", id)
	if !strings.Contains(string(rec.JSON), "Shelbyville") || strings.Contains(string(rec.JSON), "Capital City") {
		t.Errorf("stored after the conflict: %s", rec.JSON)
	}
	covs = e.find("Coverage", url.Values{"beneficiary": {"Patient/" + id}})
	if len(covs) != 1 || !strings.Contains(string(covs[0].JSON), "Silver") {
		t.Errorf("the coverage was not updated in place: %d", len(covs))
	}
	r = b.post("/patients/"+id+"/edit", registration(url.Values{"birthdate": {"1975-13-01"}, "version": {"99"}}))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="birthdate-error"`)

	// Another organization's patient is not found.
	wantStatus(t, b.get("/patients/zara/edit"), http.StatusNotFound)
}

var slotRE = regexp.MustCompile(`/schedule/slots/(slot-[0-9a-f]+)/book`)

func TestScheduling(t *testing.T) {
	onStores(t, testScheduling)
}

func testScheduling(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	deskClinic(e)
	b := e.browser()
	b.login("fran")
	wantBody(t, b.get("/schedule"), "No practitioner has a schedule yet")

	// Set-up: a bad time zone is refused next to its field.
	b.get("/schedule/setup")
	setup := url.Values{"practitioner": {"doc"}, "location": {"room1"}, "timezone": {"Mars/Olympus"}, "slot_minutes": {"30"},
		"days": {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "start": {"09:00"}, "end": {"12:00"}, "weeks": {"1"}}
	r := b.post("/schedule/setup", setup)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="timezone-error"`, "not a known time zone")
	setup.Set("timezone", "UTC")
	r = b.post("/schedule/setup", setup)
	wantStatus(t, r, http.StatusSeeOther)
	wantBody(t, b.get("/schedule/setup"), "The schedule is ready", "House", "Room 1")

	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	r = b.get("/schedule?practitioner=doc&date=" + tomorrow)
	wantStatus(t, r, http.StatusOK)
	slots := slotRE.FindAllStringSubmatch(r.body, -1)
	if len(slots) != 6 {
		t.Fatalf("%d free slots tomorrow, want 6:\n%s", len(slots), r.body)
	}
	first, second := slots[0][1], slots[1][1]
	wantBody(t, b.get("/schedule?view=week&practitioner=doc&date="+tomorrow), "Week of", "desk-week")

	// Booking.
	r = b.get("/schedule/slots/" + first + "/book?q=M%C3%BCll")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `id="patient-zoe"`, "09:00")
	r = b.post("/schedule/slots/"+first+"/book", url.Values{"reason": {"Cough"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="patient-error"`)
	r = b.post("/schedule/slots/"+first+"/book", url.Values{"patient": {"zoe"}, "reason": {"Cough"}, "virtual": {"yes"}})
	wantStatus(t, r, http.StatusSeeOther)
	appt := r.location()
	r = b.get(appt)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Booked Zoë Müller", "Cough", "https://meet.example.org/openchart/", "Check in", "Cancel appointment", "Reschedule")
	r = b.post("/schedule/slots/"+first+"/book", url.Values{"patient": {"omar"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "no longer available")
	r = b.get("/schedule?practitioner=doc&date=" + tomorrow)
	wantBody(t, r, "Zoë Müller", "Booked")

	// Reschedule to the second slot: the first is free again.
	b.get(appt)
	wantStatus(t, b.post(appt+"/reschedule", url.Values{"slot": {""}}), http.StatusBadRequest)
	wantStatus(t, b.post(appt+"/reschedule", url.Values{"slot": {second}}), http.StatusSeeOther)
	wantBody(t, b.get(appt), "moved to", "09:30")
	r = b.get("/schedule?practitioner=doc&date=" + tomorrow)
	if !strings.Contains(r.body, first) || strings.Contains(r.body, second) {
		t.Errorf("after the reschedule the first slot should be free and the second taken")
	}

	// Cancel needs a reason.
	r = b.post(appt+"/cancel", url.Values{"reason": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="reason-error"`)
	wantStatus(t, b.post(appt+"/cancel", url.Values{"reason": {"Feeling better"}}), http.StatusSeeOther)
	wantBody(t, b.get(appt), "Cancelled", "Feeling better")

	// Book Omar in person and check him in: the visit page is next.
	b.get("/schedule/slots/" + first + "/book?patient=omar")
	r = b.post("/schedule/slots/"+first+"/book", url.Values{"patient": {"omar"}, "reason": {"Check-up"}})
	wantStatus(t, r, http.StatusSeeOther)
	appt = r.location()
	b.get(appt)
	r = b.post(appt+"/checkin", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	m := regexp.MustCompile(`^/patients/omar/visits/([A-Za-z0-9.-]+)$`).FindStringSubmatch(r.location())
	if m == nil {
		t.Fatalf("check-in went to %q", r.location())
	}
	enc, err := e.app.Repo.Read(operator(), "Encounter", m[1])
	if err != nil || !strings.Contains(string(enc.JSON), `"in-progress"`) {
		t.Fatalf("encounter: %v", err)
	}
	wantBody(t, b.get(appt), "Checked in", "Open the visit")
	// A no-show only after the start.
	wantStatus(t, b.post(appt+"/noshow", url.Values{}), http.StatusBadRequest)

	// A biller may not use the calendars.
	e.staff("bill", "", auth.RoleBiller)
	b2 := e.browser()
	b2.login("bill")
	wantStatus(t, b2.get("/schedule"), http.StatusForbidden)
	wantStatus(t, b2.get("/inbox"), http.StatusForbidden)
}

func TestInboxPages(t *testing.T) {
	onStores(t, testInboxPages)
}

func testInboxPages(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	deskClinic(e)
	e.put(potassium("k9", time.Now().UTC().Format(time.RFC3339), "6.1", "H", ""))
	ib, err := inbox.New(inbox.Config{Repo: e.app.Repo, Compiler: e.app.Compiler})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ib.Send(operator(), inbox.NewMessage{From: "Patient/zoe", To: []string{"Organization/clinic"}, Patient: "Patient/zoe",
		Topic: "Dizzy since Monday", Text: "Should I stop the new tablets?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ib.CreateTask(operator(), inbox.NewTask{Owner: "Practitioner/doc", Patient: "Patient/zoe",
		Description: "Call back about the potassium", Priority: "urgent"}); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.login("phil")
	r := b.get("/inbox")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Inbox (3)", "Results to review (1)", "Messages (1)", "Tasks (1)", "Potassium", "◆ Abnormal", "Zoë Müller")
	r = b.get("/inbox/results/Observation/k9")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "6.1 mmol/L", "3.5–5.1 mmol/L", "▲ High", "<svg", "Sign off")
	r = b.post("/inbox/results/Observation/k9/signoff", url.Values{"note": {strings.Repeat("x", 2001)}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="note-error"`)
	wantStatus(t, b.post("/inbox/results/Observation/k9/signoff", url.Values{"note": {"Seen"}}), http.StatusSeeOther)
	wantBody(t, b.get("/inbox"), "Signed off", "No results are waiting", "Inbox (2)")
	r = b.post("/inbox/results/Observation/k9/signoff", url.Values{"note": {"again"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "The result was not signed off")
	wantBody(t, b.get("/inbox/results/Observation/k9"), "signed off", "Seen")

	// Messages: read, reply.
	wantBody(t, b.get("/inbox?tab=messages"), "Dizzy since Monday", "1 unread")
	r = b.get("/inbox/messages/" + msg.ID)
	wantBody(t, r, "Should I stop the new tablets?", "Mark as read")
	r = b.post("/inbox/messages/"+msg.ID+"/reply", url.Values{"text": {"  "}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="text-error"`)
	wantStatus(t, b.post("/inbox/messages/"+msg.ID+"/reply", url.Values{"text": {"Keep taking them; come in tomorrow."}}), http.StatusSeeOther)
	r = b.get("/inbox/messages/" + msg.ID)
	wantBody(t, r, "Keep taking them", "Your reply was sent")
	wantBody(t, b.get("/inbox?tab=messages"), "Messages (0)")

	// Tasks.
	r = b.get("/inbox?tab=tasks")
	wantBody(t, r, "Call back about the potassium", "urgent")
	id := regexp.MustCompile(`/inbox/tasks/([A-Za-z0-9.-]+)/complete`).FindStringSubmatch(r.body)
	if id == nil {
		t.Fatalf("no task form:\n%s", r.body)
	}
	wantStatus(t, b.post("/inbox/tasks/"+id[1]+"/complete", url.Values{"note": {"Called"}}), http.StatusSeeOther)
	wantBody(t, b.get("/inbox?tab=tasks"), "The task is done", "No open tasks", "Inbox (0)")
	wantStatus(t, b.post("/inbox/tasks/"+id[1]+"/cancel", url.Values{}), http.StatusSeeOther)
	wantBody(t, b.get("/inbox?tab=tasks"), "Nothing was changed")

	// The front desk has no inbox.
	b2 := e.browser()
	b2.login("fran")
	wantStatus(t, b2.get("/inbox"), http.StatusForbidden)
	if r := b2.get("/schedule"); strings.Contains(r.body, `href="/inbox"`) {
		t.Error("the front desk's navigation links the inbox")
	}
}
