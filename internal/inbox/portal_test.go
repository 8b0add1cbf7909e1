package inbox

import (
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

// TestUnderThePolicy runs a conversation between a patient user and a
// physician, with real principals under the access policy.
func TestUnderThePolicy(t *testing.T) {
	for name, cfg := range stores() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cfg(t))
			ib := e.inbox
			other := e.create(`{"resourceType":"Patient","name":[{"family":"Hopper"}],"managingOrganization":{"reference":"` + e.clinic + `"}}`)
			ada := access.With(e.ctx, &access.Principal{Kind: access.User, Username: "ada", FHIRUser: e.pat, Patient: strings.TrimPrefix(e.pat, "Patient/")})
			doc := access.With(e.ctx, &access.Principal{Kind: access.User, Username: "osler", FHIRUser: e.doc, Organization: e.clinic, Roles: []string{"physician"}})
			adaReader, docReader := Reader{User: e.pat}, Reader{User: e.doc, Groups: []string{e.clinic}}

			if _, err := ib.Send(ada, NewMessage{From: e.doc, To: []string{e.clinic}, Patient: e.pat, Topic: "x", Text: "x"}); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient sending as the doctor: %v, want permission", err)
			}
			if _, err := ib.Send(ada, NewMessage{From: e.pat, To: []string{e.clinic}, Patient: other, Topic: "x", Text: "x"}); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient writing about someone else: %v, want permission", err)
			}
			sent, err := ib.Send(ada, NewMessage{From: e.pat, To: []string{e.clinic}, Patient: e.pat, Topic: "Refill", Text: "I need a refill.",
				Attachments: []Attachment{{ContentType: "application/pdf", Title: "rx.pdf", Data: pdf}}})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := ib.Counts(doc, docReader); err != nil || c.Unread != 1 {
				t.Fatalf("doctor's counts = %+v, %v", c, err)
			}
			page, err := ib.Threads(doc, ThreadQuery{Reader: docReader})
			if err != nil || len(page.Threads) != 1 || page.Threads[0].Messages[0].SenderName != "Ada Lovelace" {
				t.Fatalf("doctor's threads = %+v, %v", page, err)
			}
			if n, err := ib.MarkRead(doc, sent.ID, docReader); err != nil || n != 1 {
				t.Fatalf("doctor MarkRead = %d, %v", n, err)
			}
			if _, err := ib.Reply(doc, sent.ID, e.doc, "Sent to your pharmacy.", nil); err != nil {
				t.Fatal(err)
			}
			if c, err := ib.Counts(ada, adaReader); err != nil || c.Unread != 1 {
				t.Fatalf("patient's counts = %+v, %v", c, err)
			}
			if _, err := ib.MarkRead(ada, sent.ID, docReader); !errs.Is(err, errs.Permission) {
				t.Errorf("a patient marking the doctor's messages read: %v, want permission", err)
			}
			pp, err := ib.Threads(ada, ThreadQuery{Patient: e.pat, Reader: adaReader})
			if err != nil || len(pp.Threads) != 1 || len(pp.Threads[0].Messages) != 2 || pp.Threads[0].Unread != 1 {
				t.Fatalf("patient's threads = %+v, %v", pp, err)
			}
			if n, err := ib.MarkRead(ada, sent.ID, adaReader); err != nil || n != 1 {
				t.Fatalf("patient MarkRead = %d, %v", n, err)
			}
			if c, _ := ib.Counts(ada, adaReader); c.Unread != 0 {
				t.Errorf("patient's unread after reading = %d", c.Unread)
			}
			if _, err := ib.Reply(ada, sent.ID, e.pat, "Thank you!", nil); err != nil {
				t.Errorf("patient reply: %v", err)
			}
			// The physician reviews a result of her order.
			obs := e.lab(e.order(e.doc), "Potassium", e.inbox.now(), `,"valueQuantity":{"value":6.1,"unit":"mmol/L"},"interpretation":[{"coding":[{"code":"H"}]}]`)
			if q, err := ib.Results(doc, e.doc); err != nil || q.Total != 1 || q.Results[0].Ref != obs || !q.Results[0].Abnormal {
				t.Fatalf("physician's queue = %+v, %v", q, err)
			}
			if _, err := ib.SignOff(doc, obs, e.doc, "repeat"); err != nil {
				t.Fatalf("physician sign-off: %v", err)
			}
			if c, _ := ib.Counts(doc, docReader); c.Results != 0 {
				t.Errorf("results after sign-off = %d", c.Results)
			}
			// Another patient's thread is out of reach.
			theirs, err := ib.Send(e.ctx, NewMessage{From: e.doc, To: []string{other}, Patient: other, Topic: "Private", Text: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ib.Thread(ada, theirs.ID); err == nil {
				t.Errorf("a patient read someone else's thread")
			}
			if _, err := ib.Reply(ada, theirs.ID, e.pat, "hi", nil); err == nil {
				t.Errorf("a patient replied in someone else's thread")
			}
		})
	}
}
