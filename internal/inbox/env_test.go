package inbox

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
)

func stores() map[string]func(t testing.TB) app.Config {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return map[string]func(t testing.TB) app.Config{
		"sqlite":   func(t testing.TB) app.Config { return app.Config{DataDir: t.TempDir(), Logger: quiet} },
		"postgres": func(t testing.TB) app.Config { return app.Config{DB: pgtest.URL(t), Logger: quiet} },
	}
}

type env struct {
	t      testing.TB
	ctx    context.Context
	app    *app.App
	inbox  *Inbox
	clinic string // Organization
	doc    string // Practitioner
	other  string // Practitioner
	pat    string // Patient of the clinic
}

func newEnv(t testing.TB, cfg app.Config) *env {
	t.Helper()
	ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator, Username: "test"})
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	ib, err := New(Config{Repo: a.Repo, Compiler: search.NewCompilerFrom(a.Registry)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, app: a, inbox: ib}
	e.clinic = e.create(`{"resourceType":"Organization","name":"Main Street Clinic"}`)
	e.doc = e.create(`{"resourceType":"Practitioner","name":[{"family":"Osler","given":["William"]}]}`)
	e.other = e.create(`{"resourceType":"Practitioner","name":[{"family":"Cushing","given":["Harvey"]}]}`)
	e.pat = e.create(`{"resourceType":"Patient","name":[{"family":"Lovelace","given":["Ada"]}],"managingOrganization":{"reference":"` + e.clinic + `"}}`)
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

// total counts the current resources of a type.
func (e *env) total(typ string) int {
	e.t.Helper()
	res, err := e.app.Repo.Search(e.ctx, &store.Query{Types: []string{typ}, Total: store.TotalAccurate})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Total
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

// lab stores a final laboratory Observation ordered by requester's
// ServiceRequest; extra is spliced into its JSON.
func (e *env) lab(order, name string, when time.Time, extra string) string {
	e.t.Helper()
	js := `{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
		"code":{"text":"` + name + `"},"subject":{"reference":"` + e.pat + `"},
		"basedOn":[{"reference":"` + order + `"}],"effectiveDateTime":"` + when.UTC().Format(time.RFC3339) + `"` + extra + `}`
	return e.create(js)
}

func (e *env) order(requester string) string {
	return e.create(`{"resourceType":"ServiceRequest","status":"active","intent":"order","code":{"text":"labs"},
		"subject":{"reference":"` + e.pat + `"},"requester":{"reference":"` + requester + `"}}`)
}
