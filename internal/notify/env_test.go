package notify

import (
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store/pgtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func stores() map[string]func(t testing.TB) app.Config {
	return map[string]func(t testing.TB) app.Config{
		"sqlite":   func(t testing.TB) app.Config { return app.Config{DataDir: t.TempDir(), Logger: quiet} },
		"postgres": func(t testing.TB) app.Config { return app.Config{DB: pgtest.URL(t), Logger: quiet} },
	}
}

// received is an email the test SMTP server accepted.
type received struct {
	From, To string
	Header   mail.Header
	Body     string
	Raw      string
}

// mailbox is an SMTP server in the test process.
type mailbox struct {
	mu   sync.Mutex
	mail []received
	addr string
}

type smtpSession struct {
	box  *mailbox
	from string
	to   []string
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	var br io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		br = quotedprintable.NewReader(br)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		s.box.mail = append(s.box.mail, received{From: s.from, To: to, Header: m.Header, Body: string(body), Raw: string(raw)})
	}
	return nil
}

func newMailbox(t testing.TB) *mailbox {
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{box: box}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return box
}

// take returns the emails received so far and empties the mailbox.
func (b *mailbox) take() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.mail
	b.mail = nil
	return out
}

func to(ms []received, addr string) []received {
	var out []received
	for _, m := range ms {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

type env struct {
	t      testing.TB
	ctx    context.Context
	app    *app.App
	auth   *auth.Service
	inbox  *inbox.Inbox
	box    *mailbox
	clinic string // Organization/..
	doc    string // Practitioner/..
	loc    string // Location/..
	pat    string // the patient's id
	rp     string // RelatedPerson/.. acting for the patient
	ada    *auth.User
	bob    *auth.User // the proxy
}

const (
	adaMail = "ada@example.org"
	bobMail = "bob@example.org"
)

func newEnv(t testing.TB, cfg app.Config) *env {
	t.Helper()
	ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "test"})
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	ib, err := inbox.New(inbox.Config{Repo: a.Repo, Compiler: search.NewCompilerFrom(a.Registry)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, app: a, inbox: ib, box: newMailbox(t),
		auth: auth.New(a.Store, auth.Options{Argon2: auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})}
	e.clinic = e.create(`{"resourceType":"Organization","name":"Main Street Clinic"}`)
	e.doc = e.create(`{"resourceType":"Practitioner","name":[{"family":"Osler","given":["William"]}]}`)
	e.loc = e.create(`{"resourceType":"Location","name":"Main Street Clinic"}`)
	e.pat = strings.TrimPrefix(e.create(`{"resourceType":"Patient","name":[{"family":"Lovelace","given":["Ada"]}],"managingOrganization":{"reference":"`+e.clinic+`"}}`), "Patient/")
	e.rp = e.create(`{"resourceType":"RelatedPerson","patient":{"reference":"Patient/` + e.pat + `"},"name":[{"family":"Byron"}]}`)
	if e.ada, err = e.auth.CreateUser(ctx, auth.User{Username: "ada", DisplayName: "Ada", FHIRUser: "Patient/" + e.pat, Patients: []string{e.pat}}, ""); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = e.auth.CreateUser(ctx, auth.User{Username: "bob", DisplayName: "Bob", FHIRUser: e.rp, Patients: []string{e.pat}}, ""); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) create(js string) string {
	e.t.Helper()
	res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := e.app.Repo.Create(e.ctx, res, repo.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create %s: %v", js, err)
	}
	return out.Record.Type + "/" + out.Record.ID
}

func (e *env) update(ref, js string) {
	e.t.Helper()
	res, err := fhir.Parse([]byte(js), fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	typ, id, _ := strings.Cut(ref, "/")
	res["id"] = id
	if _, err := e.app.Repo.Update(e.ctx, typ, id, res, repo.UpdateOptions{}); err != nil {
		e.t.Fatalf("update %s: %v", ref, err)
	}
}

// service starts a notification service on the env's database, as a
// server does; sender nil means email is not set up.
func (e *env) service(sender Sender, now func() time.Time) *Service {
	e.t.Helper()
	s, err := New(Config{Repo: e.app.Repo, Store: e.app.Store, Compiler: search.NewCompilerFrom(e.app.Registry),
		Users: e.auth, PortalURL: "https://ehr.example.org", Sender: sender, Location: time.UTC, Logger: quiet, Now: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) smtp() Sender {
	e.t.Helper()
	s, err := NewSMTP("smtp://"+e.box.addr, "OpenChart <noreply@clinic.example.org>")
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// cycle polls and delivers once.
func (e *env) cycle(s *Service) (PollStats, DeliverStats) {
	e.t.Helper()
	p, err := s.Poll(context.Background())
	if err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
	d, err := s.Deliver(context.Background())
	if err != nil {
		e.t.Fatalf("Deliver: %v", err)
	}
	return p, d
}

func (e *env) optIn(s *Service, u *auth.User, addr string, evs ...Event) {
	e.t.Helper()
	if len(evs) == 0 {
		evs = Events
	}
	if _, err := s.SavePrefs(context.Background(), u.ID, Prefs{Email: addr, Consent: true, Events: evs}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) adaCtx() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.User, UserID: e.ada.ID, Username: "ada",
		FHIRUser: "Patient/" + e.pat, Patient: e.pat, Patients: []string{e.pat}})
}

func (e *env) docCtx() context.Context {
	return access.With(context.Background(), &access.Principal{Kind: access.User, Username: "osler", FHIRUser: e.doc,
		Organization: e.clinic, Roles: []string{"physician"}})
}

// lab stores a laboratory Observation of the patient; extra is spliced in.
func (e *env) lab(status, extra string) string {
	return e.create(`{"resourceType":"Observation","status":"` + status + `",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"text":"Potassium"},"subject":{"reference":"Patient/` + e.pat + `"},
		"valueQuantity":{"value":5.9,"unit":"mmol/L"}` + extra + `}`)
}
