package web_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/inbox"
)

// TestInboxAttachment: the clinician's thread page links each attachment,
// and the link serves its bytes as a download to the staff of the
// organization that manages the patient, and a 404 to anyone else.
func TestInboxAttachment(t *testing.T) {
	e := newEnv(t, envOptions{})
	deskClinic(e)
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: "olga", DisplayName: "Olga", FHIRUser: "Practitioner/doc",
		Memberships: []auth.Membership{{Organization: "Organization/other", Roles: []string{auth.RolePhysician}}}}, testPassword); err != nil {
		t.Fatal(err)
	}
	ib, err := inbox.New(inbox.Config{Repo: e.app.Repo, Compiler: e.app.Compiler})
	if err != nil {
		t.Fatal(err)
	}
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, bytes.Repeat([]byte{7}, 3000)...)
	pdf := []byte("%PDF-1.4\n% a letter\n")
	msg, err := ib.Send(operator(), inbox.NewMessage{From: "Patient/zoe", To: []string{"Organization/clinic"}, Patient: "Patient/zoe",
		Topic: "Rash on my arm", Text: "Here are photos and the letter.", Attachments: []inbox.Attachment{
			{ContentType: "image/png", Title: `..\..\rash "left"` + "\r\n" + `arm`, Data: png},
			{ContentType: "application/pdf", Title: "Letter from Dr. Ödön.pdf", Data: pdf},
		}})
	if err != nil {
		t.Fatal(err)
	}
	base := "/inbox/messages/" + msg.ID + "/attachments/" + msg.ID + "/"

	b := e.browser()
	b.login("phil")
	r := b.get("/inbox/messages/" + msg.ID)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `href="`+base+`0" download>`, `href="`+base+`1" download>`)
	wantText(t, r, "(PNG image, 3 KB)", "Download Letter from Dr. Ödön.pdf (PDF document, 1 KB)")

	r = b.get(base + "0")
	wantStatus(t, r, http.StatusOK)
	if r.body != string(png) {
		t.Errorf("the photo's bytes differ: %d bytes, want %d", len(r.body), len(png))
	}
	for k, want := range map[string]string{
		"Content-Type":           "image/png",
		"Content-Disposition":    `attachment; filename="rash left arm.png"`,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	r = b.get(base + "1")
	wantStatus(t, r, http.StatusOK)
	if r.body != string(pdf) || r.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("the letter: %q as %q", r.body, r.header.Get("Content-Type"))
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename*=utf-8''Letter%20from%20Dr.%20%C3%96d%C3%B6n.pdf` {
		t.Errorf("Content-Disposition %q", cd)
	}

	// No such attachment, message or thread.
	for _, path := range []string{base + "2", base + "-1", base + "01", base + "x", base[:strings.LastIndex(base[:len(base)-1], "/")+1] + "nope/0",
		"/inbox/messages/nope/attachments/" + msg.ID + "/0"} {
		if r := b.get(path); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.status)
		}
	}

	// A clinician of another organization may not see the thread.
	o := e.browser()
	o.login("olga")
	if r := o.get(base + "0"); r.status != http.StatusNotFound || strings.Contains(r.body, "PNG") {
		t.Errorf("another organization's clinician: status %d, want 404", r.status)
	}
	// The front desk has no inbox.
	f := e.browser()
	f.login("fran")
	if r := f.get(base + "0"); r.status == http.StatusOK {
		t.Error("the front desk downloaded an attachment")
	}
}
