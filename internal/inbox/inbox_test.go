package inbox

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

var (
	png = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, bytes.Repeat([]byte{1}, 100)...)
	pdf = []byte("%PDF-1.4\n%test\n")
)

func TestInbox(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			t.Run("messages", func(t *testing.T) { testMessages(t, newEnv(t, cfg(t))) })
			t.Run("attachments", func(t *testing.T) { testAttachmentLimits(t, newEnv(t, cfg(t))) })
			t.Run("results", func(t *testing.T) { testResults(t, newEnv(t, cfg(t))) })
			t.Run("tasks", func(t *testing.T) { testTasks(t, newEnv(t, cfg(t))) })
		})
	}
}

func testMessages(t *testing.T, e *env) {
	ib := e.inbox
	doc := Reader{User: e.doc, Groups: []string{e.clinic}}
	patient := Reader{User: e.pat}
	sent, err := ib.Send(e.ctx, NewMessage{From: e.pat, To: []string{e.clinic}, Patient: e.pat, Topic: "Rash on my arm",
		Text: "It started on Monday. Photo attached.", Attachments: []Attachment{{ContentType: "image/png", Title: "arm.png", Data: png}}})
	if err != nil {
		t.Fatal(err)
	}
	e.valid("Communication", sent.ID)
	if n, _ := ib.Unread(e.ctx, doc); n != 1 {
		t.Errorf("doctor's unread = %d, want 1 (the care team's message)", n)
	}
	if n, _ := ib.Unread(e.ctx, Reader{User: e.other}); n != 0 {
		t.Errorf("a practitioner outside the care team has %d unread", n)
	}
	if n, _ := ib.Unread(e.ctx, patient); n != 0 {
		t.Errorf("patient's unread = %d, want 0", n)
	}
	if by, err := ib.UnreadByPatient(e.ctx, doc); err != nil || by[e.pat] != 1 || len(by) != 1 {
		t.Errorf("UnreadByPatient = %v, %v", by, err)
	}
	page, err := ib.Threads(e.ctx, ThreadQuery{Reader: doc})
	if err != nil || len(page.Threads) != 1 || page.Threads[0].Unread != 1 || page.Threads[0].Topic != "Rash on my arm" {
		t.Fatalf("doctor's threads = %+v, %v", page, err)
	}
	th, err := ib.Thread(e.ctx, sent.ID)
	if err != nil || len(th.Messages) != 1 {
		t.Fatalf("Thread = %+v, %v", th, err)
	}
	m := th.Messages[0]
	if m.Text != "It started on Monday. Photo attached." || len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, png) ||
		m.Attachments[0].Title != "arm.png" || m.SenderName != "Ada Lovelace" || !m.Unread() {
		t.Errorf("message read back = %+v", m)
	}

	// The doctor opens the thread: unread goes down, received and read-by
	// record it.
	if n, err := ib.MarkRead(e.ctx, sent.ID, doc); err != nil || n != 1 {
		t.Fatalf("MarkRead = %d, %v", n, err)
	}
	if n, _ := ib.Unread(e.ctx, doc); n != 0 {
		t.Errorf("doctor's unread after reading = %d", n)
	}
	if n, _ := ib.MarkRead(e.ctx, sent.ID, doc); n != 0 {
		t.Errorf("second MarkRead marked %d", n)
	}
	res := e.valid("Communication", sent.ID)
	if res["received"] == nil || !strings.Contains(string(fmt.Sprint(res["extension"])), e.doc) {
		t.Errorf("read message = %v", res)
	}

	// The reply goes back to the patient, in the same thread.
	reply, err := ib.Reply(e.ctx, sent.ID, e.doc, "Please come in tomorrow.", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.valid("Communication", reply.ID)
	if reply.Thread != sent.ID || reply.InResponseTo != sent.ID || len(reply.Recipients) != 1 || reply.Recipients[0] != e.pat || reply.Topic != "Rash on my arm" {
		t.Errorf("reply = %+v", reply)
	}
	if c, _ := ib.Counts(e.ctx, patient); c.Unread != 1 {
		t.Errorf("patient's counts after the reply = %+v", c)
	}
	pp, err := ib.Threads(e.ctx, ThreadQuery{Patient: e.pat, Reader: patient})
	if err != nil || len(pp.Threads) != 1 || len(pp.Threads[0].Messages) != 2 || pp.Threads[0].Unread != 1 ||
		pp.Threads[0].Last().ID != reply.ID || pp.Threads[0].Last().SenderName != "William Osler" {
		t.Fatalf("patient's threads = %+v, %v", pp, err)
	}
	if th, _ := ib.Thread(e.ctx, reply.ID); th.ID != sent.ID || len(th.Messages) != 2 {
		t.Errorf("Thread from the reply = %+v", th)
	}
	if n, _ := ib.MarkRead(e.ctx, sent.ID, patient); n != 1 {
		t.Errorf("patient MarkRead = %d", n)
	}
	if c, _ := ib.Counts(e.ctx, patient); c.Unread != 0 {
		t.Errorf("patient's counts after reading = %+v", c)
	}
	// A second thread, started by the doctor, comes first (newest).
	if _, err := ib.Send(e.ctx, NewMessage{From: e.doc, To: []string{e.pat}, Patient: e.pat, Topic: "Your results", Text: "All normal."}); err != nil {
		t.Fatal(err)
	}
	page, _ = ib.Threads(e.ctx, ThreadQuery{Reader: doc})
	if len(page.Threads) != 2 || page.Threads[0].Topic != "Your results" {
		t.Errorf("doctor's threads after a new one: %d, first %q", len(page.Threads), page.Threads[0].Topic)
	}
	if page, _ := ib.Threads(e.ctx, ThreadQuery{Reader: doc, Count: 1}); len(page.Threads) != 1 || !page.More {
		t.Errorf("page of 1: %d threads, more %v", len(page.Threads), page.More)
	}
	if _, err := ib.Send(e.ctx, NewMessage{From: e.pat, To: []string{e.clinic}, Patient: e.pat, Topic: " ", Text: "x"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("message without subject: %v", err)
	}
	if _, err := ib.Send(e.ctx, NewMessage{From: e.pat, Patient: e.pat, Topic: "x", Text: "x"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("message without recipient: %v", err)
	}
}

func testAttachmentLimits(t *testing.T, e *env) {
	ib := e.inbox
	big := append([]byte("%PDF-"), bytes.Repeat([]byte{'a'}, DefaultMaxAttachmentBytes)...)
	cases := map[string]struct {
		atts  []Attachment
		kind  errs.Kind
		words string
	}{
		"type":      {[]Attachment{{ContentType: "image/gif", Title: "a.gif", Data: []byte("GIF89a")}}, errs.Invalid, "only photos"},
		"content":   {[]Attachment{{ContentType: "application/pdf", Title: "x.pdf", Data: png}}, errs.Invalid, "not a application/pdf file"},
		"size":      {[]Attachment{{ContentType: "application/pdf", Title: "big.pdf", Data: big}}, errs.TooLarge, "limited to 5 MB"},
		"empty":     {[]Attachment{{ContentType: "image/png", Title: "e.png"}}, errs.Invalid, "empty"},
		"too many":  {[]Attachment{{"application/pdf", "1", pdf}, {"application/pdf", "2", pdf}, {"application/pdf", "3", pdf}, {"application/pdf", "4", pdf}, {"application/pdf", "5", pdf}}, errs.TooLarge, "at most 4"},
		"gif reply": {[]Attachment{{ContentType: "image/gif", Data: []byte("GIF89a")}}, errs.Invalid, "only photos"},
	}
	first, err := ib.Send(e.ctx, NewMessage{From: e.pat, To: []string{e.doc}, Patient: e.pat, Topic: "Letter", Text: "see attached",
		Attachments: []Attachment{{ContentType: "application/pdf", Title: "letter.pdf", Data: pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	before := e.total("Communication")
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			if name == "gif reply" {
				_, err = ib.Reply(e.ctx, first.ID, e.doc, "ok", c.atts)
			} else {
				_, err = ib.Send(e.ctx, NewMessage{From: e.pat, To: []string{e.doc}, Patient: e.pat, Topic: "t", Text: "x", Attachments: c.atts})
			}
			if !errs.Is(err, c.kind) || !strings.Contains(errs.Message(err), c.words) {
				t.Errorf("error %v (%v), want %v mentioning %q", err, errs.KindOf(err), c.kind, c.words)
			}
		})
	}
	if after := e.total("Communication"); after != before {
		t.Errorf("refused messages stored something: %d communications, want %d", after, before)
	}
}

func testResults(t *testing.T, e *env) {
	ib := e.inbox
	mine, theirs := e.order(e.doc), e.order(e.other)
	t0 := time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)
	normal := e.lab(mine, "Glucose", t0.Add(5*time.Hour), `,"valueQuantity":{"value":5.1,"unit":"mmol/L"},"referenceRange":[{"low":{"value":3.9,"unit":"mmol/L"},"high":{"value":5.5,"unit":"mmol/L"}}]`)
	high := e.lab(mine, "Potassium", t0.Add(1*time.Hour), `,"valueQuantity":{"value":5.9,"unit":"mmol/L"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}]`)
	critical := e.lab(mine, "Sodium", t0, `,"valueQuantity":{"value":118,"unit":"mmol/L"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"LL"}]}]`)
	byRange := e.lab(mine, "Hemoglobin", t0.Add(2*time.Hour), `,"valueQuantity":{"value":19.2,"unit":"g/dL"},"referenceRange":[{"low":{"value":12,"unit":"g/dL"},"high":{"value":16,"unit":"g/dL"}}]`)
	member := e.lab(mine, "ALT", t0.Add(3*time.Hour), `,"valueQuantity":{"value":30,"unit":"U/L"}`)
	e.lab(theirs, "Calcium", t0, `,"valueQuantity":{"value":2.3,"unit":"mmol/L"}`)                                                                                                                                                                                                                                     // another doctor's order
	e.create(strings.Replace(`{"resourceType":"Observation","status":"preliminary","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"TSH"},"subject":{"reference":"PAT"},"basedOn":[{"reference":"`+mine+`"}]}`, "PAT", e.pat, 1)) // not final
	report := e.create(`{"resourceType":"DiagnosticReport","status":"final","code":{"text":"Liver panel"},"subject":{"reference":"` + e.pat + `"},
		"basedOn":[{"reference":"` + mine + `"}],"issued":"2030-01-02T12:00:00Z","result":[{"reference":"` + member + `"}]}`)

	q, err := ib.Results(e.ctx, e.doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range q.Results {
		got = append(got, r.Ref)
	}
	// Critical first, then abnormal newest first, then the rest newest first.
	want := []string{critical, byRange, high, normal, report, member}
	if fmt.Sprint(got) != fmt.Sprint(want) || q.Total != 6 {
		t.Fatalf("queue = %v (total %d)\nwant    %v", got, q.Total, want)
	}
	if r := q.Results[1]; !r.Abnormal || r.Critical || fmt.Sprint(r.Flags) != "[H]" || r.PatientName != "Ada Lovelace" || r.Value != "19.2 g/dL" {
		t.Errorf("range-flagged result = %+v", r)
	}
	c, err := ib.Counts(e.ctx, Reader{User: e.doc})
	if err != nil || c.Results != 6 {
		t.Errorf("Counts = %+v, %v; want 6 results", c, err)
	}
	if q, _ := ib.Results(e.ctx, e.clinic); q.Total != 7 {
		t.Errorf("the clinic's queue holds %d, want all 7 final results of its patient", q.Total)
	}

	task, err := ib.SignOff(e.ctx, critical, e.doc, "Called the patient; repeat tomorrow.")
	if err != nil {
		t.Fatal(err)
	}
	tres := e.valid("Task", task)
	if tres["status"] != "completed" || fhir.RefOf(tres["focus"]) != critical || fhir.RefOf(tres["owner"]) != e.doc {
		t.Errorf("review task = %v", tres)
	}
	e.valid(strings.Split(critical, "/")[0], strings.Split(critical, "/")[1])
	if _, err := ib.SignOff(e.ctx, critical, e.other, ""); !errs.Is(err, errs.Conflict) {
		t.Errorf("second sign-off: %v, want conflict", err)
	}
	rv, err := ib.Reviews(e.ctx, critical)
	if err != nil || len(rv) != 1 || rv[0].Reviewer != e.doc || rv[0].Note != "Called the patient; repeat tomorrow." {
		t.Errorf("Reviews = %+v, %v", rv, err)
	}
	// Signing off the report takes its member observation along.
	if _, err := ib.SignOff(e.ctx, report, e.doc, ""); err != nil {
		t.Fatal(err)
	}
	q, _ = ib.Results(e.ctx, e.doc)
	got = nil
	for _, r := range q.Results {
		got = append(got, r.Ref)
	}
	if want := []string{byRange, high, normal}; fmt.Sprint(got) != fmt.Sprint(want) || q.Total != 3 {
		t.Errorf("queue after sign-off = %v (total %d), want %v", got, q.Total, want)
	}
	if c, _ := ib.Counts(e.ctx, Reader{User: e.doc}); c.Results != 3 {
		t.Errorf("count after sign-off = %d", c.Results)
	}
	if rv, _ := ib.Reviews(e.ctx, member); len(rv) != 1 {
		t.Errorf("member observation reviews = %d, want 1", len(rv))
	}
	if _, err := ib.SignOff(e.ctx, "Patient/x", e.doc, ""); !errs.Is(err, errs.Invalid) {
		t.Errorf("sign-off of a patient: %v", err)
	}
	if _, err := ib.Results(e.ctx, e.pat); !errs.Is(err, errs.Invalid) {
		t.Errorf("a patient's review queue: %v", err)
	}
}

func testTasks(t *testing.T, e *env) {
	ib := e.inbox
	doc := Reader{User: e.doc, Groups: []string{e.clinic}}
	routine, err := ib.CreateTask(e.ctx, NewTask{Owner: e.doc, Patient: e.pat, Description: "Call back about the referral"})
	if err != nil {
		t.Fatal(err)
	}
	e.valid("Task", routine.ID)
	stat, err := ib.CreateTask(e.ctx, NewTask{Owner: e.clinic, Description: "Refill request", Priority: "stat", Due: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ib.CreateTask(e.ctx, NewTask{Owner: e.other, Description: "Not mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.CreateTask(e.ctx, NewTask{Owner: e.doc, Description: "x", Priority: "whenever"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad priority: %v", err)
	}
	list, err := ib.Tasks(e.ctx, doc)
	if err != nil || len(list) != 2 || list[0].ID != stat.ID || list[1].ID != routine.ID {
		t.Fatalf("Tasks = %+v, %v", list, err)
	}
	if c, _ := ib.Counts(e.ctx, doc); c.Tasks != 2 {
		t.Errorf("Counts.Tasks = %d", c.Tasks)
	}
	done, err := ib.CompleteTask(e.ctx, routine.ID, e.doc, "Called, left a message.")
	if err != nil || done.Status != "completed" || done.Note != "Called, left a message." {
		t.Fatalf("CompleteTask = %+v, %v", done, err)
	}
	e.valid("Task", routine.ID)
	if _, err := ib.CompleteTask(e.ctx, routine.ID, e.doc, ""); !errs.Is(err, errs.Conflict) {
		t.Errorf("completing twice: %v", err)
	}
	if _, err := ib.CancelTask(e.ctx, stat.ID, e.doc, "duplicate"); err != nil {
		t.Fatal(err)
	}
	if c, _ := ib.Counts(e.ctx, doc); c.Tasks != 0 {
		t.Errorf("Counts.Tasks after closing = %d", c.Tasks)
	}
}
