package web_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/schedule"
)

// portalPut stores a resource as the test operator.
func (e *env) portalPut(js string) {
	e.t.Helper()
	res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatalf("parsing %s: %v", js, err)
	}
	if _, err := e.app.Repo.Update(operator(), res["resourceType"].(string), res["id"].(string), res, repo.UpdateOptions{}); err != nil {
		e.t.Fatalf("storing %s: %v", js, err)
	}
}

// portalServices are the scheduling and inbox services over the test stack
// (the same store the pages use).
func (e *env) portalServices() (*schedule.Service, *inbox.Inbox) {
	e.t.Helper()
	sc, err := schedule.New(schedule.Config{Repo: e.app.Repo, Compiler: e.app.Compiler})
	if err != nil {
		e.t.Fatal(err)
	}
	ib, err := inbox.New(inbox.Config{Repo: e.app.Repo, Compiler: e.app.Compiler})
	if err != nil {
		e.t.Fatal(err)
	}
	return sc, ib
}

// portalData stores, beside the test patients, Zoë's glucose results (the
// newest high), Omar's result, a child with a parent proxy and a
// confidential problem, a practitioner's schedule with free slots.
func (e *env) portalData() (slots int) {
	e.t.Helper()
	e.patients()
	obs := func(id, patient, day, value, flag string) {
		e.portalPut(`{"resourceType":"Observation","id":"` + id + `","status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose [Mass/volume] in Serum or Plasma"}],"text":"Glucose"},
			"subject":{"reference":"Patient/` + patient + `"},"effectiveDateTime":"` + day + `T08:00:00Z",
			"valueQuantity":{"value":` + value + `,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
			"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"` + flag + `"}]}],
			"referenceRange":[{"low":{"value":70,"unit":"mg/dL"},"high":{"value":99,"unit":"mg/dL"}}]}`)
	}
	now := time.Now().UTC()
	obs("glu1", "zoe", now.AddDate(-1, 0, 0).Format("2006-01-02"), "88", "N")
	obs("glu2", "zoe", now.AddDate(0, -6, 0).Format("2006-01-02"), "97", "N")
	obs("glu3", "zoe", now.AddDate(0, 0, -3).Format("2006-01-02"), "130", "H")
	obs("omar-glu", "omar", now.AddDate(0, 0, -3).Format("2006-01-02"), "90", "N")
	e.portalPut(`{"resourceType":"Patient","id":"kid","managingOrganization":{"reference":"Organization/clinic"},"name":[{"family":"Müller","given":["Mia"]}],"gender":"female","birthDate":"2011-05-05"}`)
	e.portalPut(`{"resourceType":"RelatedPerson","id":"parent","patient":{"reference":"Patient/kid"},"name":[{"family":"Müller","given":["Anna"]}],
		"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}]}`)
	e.portalPut(`{"resourceType":"Condition","id":"kid-asthma","subject":{"reference":"Patient/kid"},"code":{"text":"Asthma"},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}`)
	e.portalPut(`{"resourceType":"Condition","id":"kid-private","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PRS"}]},
		"subject":{"reference":"Patient/kid"},"code":{"text":"Confidential counselling"},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}`)
	e.portalPut(`{"resourceType":"Practitioner","id":"doc","name":[{"family":"House","given":["Greg"]}]}`)
	e.portalPut(`{"resourceType":"Location","id":"room1","name":"Room 1"}`)
	ctx := operator()
	sc, _ := e.portalServices()
	sid, err := sc.CreateSchedule(ctx, schedule.ScheduleSpec{Practitioner: "Practitioner/doc", Location: "Location/room1",
		Template: schedule.Template{TimeZone: "UTC", SlotMinutes: 30, Windows: []schedule.Window{{
			Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: "09:00", End: "11:00"}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	day := now.Truncate(24*time.Hour).AddDate(0, 0, 3)
	n, err := sc.GenerateSlots(ctx, "Schedule/"+sid, day, day.AddDate(0, 0, 2))
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

var portalCodeRE = regexp.MustCompile(`id="invite-code">([^<]+)<`)

// portalInvite has the clinician (signed in with b) invite a patient or proxy
// and returns the code.
func portalInvite(t *testing.T, b *browser, patient, username, proxy string) string {
	t.Helper()
	r := b.get("/patients/" + patient + "/invite")
	wantStatus(t, r, http.StatusOK)
	r = b.post("/patients/"+patient+"/invite", url.Values{"username": {username}, "proxy": {proxy}})
	wantStatus(t, r, http.StatusOK)
	m := portalCodeRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no code on the invitation:\n%s", r.body)
	}
	return m[1]
}

// portalActivate activates an account and signs in; it returns the browser.
func portalActivate(t *testing.T, e *env, username, code, birth string) *browser {
	t.Helper()
	p := e.browser()
	p.get("/portal/activate")
	r := p.post("/portal/activate", url.Values{"username": {username}, "code": {code}, "birthdate": {birth},
		"password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusSeeOther)
	p.login(username)
	r = p.get("/")
	if r.status != http.StatusSeeOther || r.location() != "/portal" {
		t.Fatalf("a patient's home: %d %s", r.status, r.location())
	}
	return p
}

// postFiles submits a multipart form with one file, as a page of the
// server would.
func (b *browser) postFiles(path string, fields url.Values, file, contentType string, data []byte) response {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields.Set("csrf", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment"; filename="`+file+`"`)
	h.Set("Content-Type", contentType)
	w, _ := mw.CreatePart(h)
	w.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.origin)
	return b.do(req)
}

func TestPortal(t *testing.T) { onStores(t, testPortal) }

func testPortal(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	if n := e.portalData(); n == 0 {
		t.Fatal("no slots")
	}
	sc, ib := e.portalServices()
	e.user("alice", auth.RolePhysician)
	doc := e.browser()
	doc.login("alice")

	// Signed out: the sign-in page; staff: refused.
	wantStatus(t, e.browser().get("/portal"), http.StatusSeeOther)
	wantStatus(t, doc.get("/portal"), http.StatusForbidden)

	// Invitation and activation: a wrong birth date is refused and leaves
	// the code good.
	code := portalInvite(t, doc, "zoe", "zoe.m", "")
	p := e.browser()
	p.get("/portal/activate")
	r := p.post("/portal/activate", url.Values{"username": {"zoe.m"}, "code": {code}, "birthdate": {"1984-03-28"},
		"password": {testPassword}, "confirm": {testPassword}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "does not match our records")
	r = p.post("/portal/activate", url.Values{"username": {"zoe.m"}, "code": {code}, "birthdate": {"1984-03-27"},
		"password": {"short"}, "confirm": {"short"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="password-error"`)
	// A weak password gets the same answer with a wrong birth date: the
	// page never tells whether the date was right.
	r = p.post("/portal/activate", url.Values{"username": {"zoe.m"}, "code": {code}, "birthdate": {"1984-03-28"},
		"password": {"short"}, "confirm": {"short"}})
	wantBody(t, r, `id="password-error"`)
	p = portalActivate(t, e, "zoe.m", code, "1984-03-27")
	// The code is spent.
	r = e.browser().post("/portal/activate", url.Values{"username": {"zoe.m"}, "code": {code}, "birthdate": {"1984-03-27"},
		"password": {testPassword}, "confirm": {testPassword}, "csrf": {"x"}})
	wantStatus(t, r, http.StatusForbidden) // no page read: no pre-sign-in token

	// Home, health, results, a result with its trend.
	r = p.get("/portal")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Glucose", "Higher than the usual range.")
	wantStatus(t, p.get("/portal/health"), http.StatusOK)
	r = p.get("/portal/results")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `/portal/results/glu3`)
	r = p.get("/portal/results/glu3")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "70 to 99 mg/dL", "Higher than the usual range.", "<svg", "88", "97", "130")

	// Messages: send, the clinic replies, the patient sees it.
	r = p.post("/portal/messages", url.Values{"topic": {""}, "text": {""}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="topic-error"`, `id="text-error"`)
	r = p.post("/portal/messages", url.Values{"topic": {"Sugar"}, "text": {"Is my glucose a worry?"}})
	wantStatus(t, r, http.StatusSeeOther)
	thread := strings.TrimPrefix(r.location(), "/portal/messages/")
	staff := access.With(t.Context(), &access.Principal{Kind: access.User, Username: "alice", FHIRUser: "Practitioner/doc",
		Organization: "Organization/clinic", Roles: []string{auth.RolePhysician}})
	if _, err := ib.Reply(staff, thread, "Practitioner/doc", "Not a worry; let us recheck it.", nil); err != nil {
		t.Fatal(err)
	}
	r = p.get("/portal/messages")
	wantBody(t, r, "1 unread")
	r = p.get("/portal/messages/" + thread)
	wantBody(t, r, "Not a worry; let us recheck it.", "Is my glucose a worry?")
	wantStatus(t, p.post("/portal/messages/"+thread+"/reply", url.Values{"text": {"Thanks"}}), http.StatusSeeOther)
	// Attachments: a photo goes with the message; a file that is not what
	// it claims is refused next to the field, and nothing is sent.
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, make([]byte, 64)...)
	p.get("/portal/messages/" + thread)
	r = p.postFiles("/portal/messages/"+thread+"/reply", url.Values{"text": {"A photo of my meter"}}, "meter.png", "image/png", png)
	wantStatus(t, r, http.StatusSeeOther)
	r = p.postFiles("/portal/messages/"+thread+"/reply", url.Values{"text": {"Not a PDF"}}, "x.pdf", "application/pdf", png)
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `id="attachment-error"`)
	r = p.get("/portal/messages/" + thread)
	wantBody(t, r, "Download meter.png</a> (image/png)")
	if strings.Contains(r.body, "Not a PDF") {
		t.Error("a refused message was stored")
	}
	// The patient downloads the file as it was sent; other indexes and
	// messages are the 404 page.
	link := regexp.MustCompile(`href="(/portal/messages/[^"]+/attachments/([^"/]+)/0)"`).FindStringSubmatch(r.body)
	if link == nil {
		t.Fatalf("no download link:\n%s", r.body)
	}
	r = p.get(link[1])
	wantStatus(t, r, http.StatusOK)
	if r.body != string(png) || r.header.Get("Content-Type") != "image/png" ||
		!strings.Contains(r.header.Get("Content-Disposition"), `attachment; filename=meter.png`) ||
		r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download: %d bytes, headers %v", len(r.body), r.header)
	}
	wantStatus(t, p.get(strings.TrimSuffix(link[1], "/0")+"/1"), http.StatusNotFound)
	wantStatus(t, p.get("/portal/messages/"+thread+"/attachments/nosuch/0"), http.StatusNotFound)
	wantStatus(t, p.get("/portal/messages/nosuch/attachments/"+link[2]+"/0"), http.StatusNotFound)

	// Appointments: book the first free slot.
	r = p.get("/portal/appointments")
	slot := regexp.MustCompile(`<option value="([^"]+)">`).FindStringSubmatch(r.body)
	if slot == nil {
		t.Fatalf("no slot offered:\n%s", r.body)
	}
	wantStatus(t, p.post("/portal/appointments", url.Values{"slot": {""}}), http.StatusBadRequest)
	r = p.post("/portal/appointments", url.Values{"slot": {slot[1]}, "reason": {"Recheck"}})
	wantStatus(t, r, http.StatusSeeOther)
	appts, err := sc.PatientAppointments(operator(), "Patient/zoe")
	if err != nil || len(appts) != 1 {
		t.Fatalf("appointments %v %v", appts, err)
	}
	r = p.get("/portal/appointments")
	wantBody(t, r, "with Greg House at Room 1", "Recheck")
	// A video visit has its join link; a visit moves to another time.
	free := regexp.MustCompile(`<option value="([^"]+)"\s*>`).FindAllStringSubmatch(r.body, -1)
	if len(free) < 2 {
		t.Fatalf("slots offered: %v", free)
	}
	wantStatus(t, p.post("/portal/appointments", url.Values{"slot": {free[0][1]}, "virtual": {"yes"}}), http.StatusSeeOther)
	wantBody(t, p.get("/portal/appointments"), "Join the video visit", "https://meet.example.org/openchart")
	wantStatus(t, p.post("/portal/appointments/"+appts[0].ID+"/reschedule", url.Values{"slot": {free[1][1]}}), http.StatusSeeOther)
	if a, err := sc.GetAppointment(operator(), appts[0].ID); err != nil || len(a.Slots) != 1 || a.Slots[0] != free[1][1] {
		t.Errorf("after moving: %+v %v", a, err)
	}

	// Download: the Bundle holds the record and nothing of Omar.
	r = p.get("/portal/data/record.json")
	wantStatus(t, r, http.StatusOK)
	var b struct {
		ResourceType string
		Entry        []struct{ Resource map[string]any }
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.ResourceType != "Bundle" {
		t.Fatalf("download: %v %s", err, r.body[:min(200, len(r.body))])
	}
	ids := map[string]bool{}
	for _, en := range b.Entry {
		ids[en.Resource["resourceType"].(string)+"/"+en.Resource["id"].(string)] = true
	}
	if !ids["Patient/zoe"] || !ids["Observation/glu3"] || ids["Observation/omar-glu"] || ids["Patient/omar"] {
		t.Errorf("the download holds %v", ids)
	}
	wantBody(t, p.get("/portal/data/summary"), "Glucose", "Health summary")

	// Sharing with the other organization opens the record to its staff,
	// and revoking closes it.
	other := access.With(t.Context(), &access.Principal{Kind: access.User, Username: "bob", Organization: "Organization/other",
		Roles: []string{auth.RolePhysician}})
	if _, err := e.app.Repo.Read(other, "Patient", "zoe"); err == nil {
		t.Fatal("the other organization reads Zoë before any share")
	}
	wantStatus(t, p.post("/portal/data/shares", url.Values{"organization": {"nope"}}), http.StatusBadRequest)
	wantStatus(t, p.post("/portal/data/shares", url.Values{"organization": {"other"}}), http.StatusSeeOther)
	if _, err := e.app.Repo.Read(other, "Observation", "glu3"); err != nil {
		t.Fatalf("after the share: %v", err)
	}
	r = p.get("/portal/data")
	share := regexp.MustCompile(`/portal/data/shares/([^/]+)/revoke`).FindStringSubmatch(r.body)
	if share == nil {
		t.Fatalf("no share listed:\n%s", r.body)
	}
	wantStatus(t, p.post("/portal/data/shares/"+share[1]+"/revoke", url.Values{}), http.StatusSeeOther)
	if _, err := e.app.Repo.Read(other, "Observation", "glu3"); err == nil {
		t.Fatal("the other organization still reads Zoë after the revocation")
	}

	// Who viewed my record: the clinician's invitation read, an emergency
	// access flagged.
	// erin, of the other organization, opens the record in an emergency.
	erin := access.With(t.Context(), &access.Principal{Kind: access.User, Username: "erin", Organization: "Organization/other",
		Roles: []string{auth.RolePhysician}, BreakGlass: []access.BreakGlass{{Patient: "zoe",
			Reason: "Unconscious in the emergency room", Until: time.Now().Add(time.Hour)}}})
	if _, err := e.app.Repo.Read(erin, "Patient", "zoe"); err != nil {
		t.Fatalf("emergency access: %v", err)
	}
	r = p.get("/portal/access")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "alice", "Emergency access", "Unconscious in the emergency room")

	// URL tampering: other patients' ids are not found.
	wantStatus(t, p.get("/portal/results/omar-glu"), http.StatusNotFound)
	wantStatus(t, p.get("/portal/results/..%2f"), http.StatusNotFound)
	wantStatus(t, p.post("/portal/patient", url.Values{"patient": {"omar"}}), http.StatusNotFound)
	wantStatus(t, p.get("/portal/messages/"+thread+"x"), http.StatusNotFound)
	wantStatus(t, p.post("/portal/appointments/"+appts[0].ID+"x/cancel", url.Values{}), http.StatusNotFound)
	wantStatus(t, p.post("/portal/data/shares/kid-asthma/revoke", url.Values{}), http.StatusNotFound)
	wantStatus(t, p.get("/patients/omar/invite"), http.StatusForbidden)
	// Cancel the own appointment (it is days away).
	wantStatus(t, p.post("/portal/appointments/"+appts[0].ID+"/cancel", url.Values{}), http.StatusSeeOther)

	// A proxy sees the child's record but not the confidential problem.
	code = portalInvite(t, doc, "kid", "anna.m", "parent")
	q := portalActivate(t, e, "anna.m", code, "2011-05-05")
	r = q.get("/portal/health")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Asthma", "You are acting for")
	if strings.Contains(r.body, "Confidential counselling") {
		t.Error("the proxy sees the confidential problem")
	}
	wantStatus(t, q.get("/portal/results/glu3"), http.StatusNotFound)
}
