package schedule

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// stores lists the store configurations every test runs on.
func stores() map[string]func(t *testing.T) app.Config {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return map[string]func(t *testing.T) app.Config{
		"sqlite":   func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir(), Logger: quiet} },
		"postgres": func(t *testing.T) app.Config { return app.Config{DB: pgtest.URL(t), Logger: quiet} },
	}
}

// clock is a settable time source.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	ctx   context.Context
	app   *app.App
	svc   *Service
	clock *testClock
	prac  string
	loc   string
}

// newEnv opens the stack, stores a practitioner, a location and the
// service, with an operator principal and a clock on Monday 2030-03-04
// 08:00 in New York.
func newEnv(t *testing.T, cfg app.Config) *env {
	t.Helper()
	ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "test"})
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	ny, _ := time.LoadLocation("America/New_York")
	c := &testClock{t: time.Date(2030, 3, 4, 8, 0, 0, 0, ny)}
	svc, err := New(Config{Repo: a.Repo, Compiler: search.NewCompilerFrom(a.Registry), Now: c.Now,
		VirtualBase: "https://meet.example.org/openchart"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, app: a, svc: svc, clock: c}
	e.prac = e.create(`{"resourceType":"Practitioner","name":[{"family":"Osler","given":["William"]}]}`)
	e.loc = e.create(`{"resourceType":"Location","name":"Main Street Clinic"}`)
	return e
}

// create stores a resource given as JSON and returns "Type/id".
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

func (e *env) patient(given, family string) string {
	return e.create(`{"resourceType":"Patient","name":[{"use":"official","family":"` + family + `","given":["` + given + `"]}]}`)
}

// weekdays is the template of the tests: Monday to Friday, 09:00-12:00
// and 13:00-17:00 in New York, 20-minute slots (21 a day).
func weekdays() Template {
	days := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	return Template{TimeZone: "America/New_York", SlotMinutes: 20, Windows: []Window{
		{Days: days, Start: "09:00", End: "12:00"},
		{Days: days, Start: "13:00", End: "17:00"},
	}}
}

// schedule creates the practitioner's schedule with slots for the week
// of 2030-03-04.
func (e *env) schedule() string {
	e.t.Helper()
	id, err := e.svc.CreateSchedule(e.ctx, ScheduleSpec{Practitioner: e.prac, Location: e.loc, Template: weekdays(),
		ServiceType: Code{System: "http://terminology.hl7.org/CodeSystem/service-type", Code: "124", Display: "General Practice"}})
	if err != nil {
		e.t.Fatal(err)
	}
	from := e.clock.Now()
	if _, err := e.svc.GenerateSlots(e.ctx, "Schedule/"+id, from, from.AddDate(0, 0, 7)); err != nil {
		e.t.Fatal(err)
	}
	return "Schedule/" + id
}

// valid reads typ/id through the FHIR API and checks it with $validate.
func (e *env) valid(typ, id string) map[string]any {
	e.t.Helper()
	resp := e.app.API.Handle(e.ctx, &fhirapi.Request{Method: "GET", Type: typ, ID: id})
	if resp.Status != 200 {
		e.t.Fatalf("GET %s/%s: %d %s", typ, id, resp.Status, resp.Body)
	}
	v := e.app.API.Handle(e.ctx, &fhirapi.Request{Method: "POST", Type: typ, Operation: "validate", Body: resp.Body})
	if v.Status != 200 || strings.Contains(string(v.Body), `"severity":"error"`) || strings.Contains(string(v.Body), `"severity":"fatal"`) {
		e.t.Fatalf("$validate %s/%s: %d %s", typ, id, v.Status, v.Body)
	}
	res, err := fhir.Parse(resp.Body, fhir.ParseOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}
