package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/demo"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
	"github.com/openchart/openchart/internal/schedule"
	"github.com/openchart/openchart/internal/store"
)

// loadDemo stores the demo clinic through the FHIR API's Bundle
// processing, exactly as a client posting the Bundles would. The Bundles use
// PUT with fixed ids, so loading again changes nothing.
func loadDemo(ctx context.Context, api *fhirapi.API) (int, error) {
	// OpenChart itself writes the demo data (audited as the system).
	ctx = access.With(ctx, &access.Principal{Kind: access.System})
	n := 0
	for _, b := range demo.Bundles(time.Now()) {
		if _, err := api.ProcessBundle(ctx, b, ""); err != nil {
			return n, err
		}
		entries, _ := b["entry"].([]any)
		n += len(entries)
	}
	return n, nil
}

// demoSummary lists the demo patients for the start-up banner.
func demoSummary(base string) string {
	var b strings.Builder
	b.WriteString("Demo clinic loaded. Patients:\n")
	for _, bundle := range demo.Bundles(time.Now()) {
		entries, _ := bundle["entry"].([]any)
		for _, e := range entries {
			entry, _ := e.(map[string]any)
			r, _ := entry["resource"].(map[string]any)
			if fhir.TypeOf(r) != "Patient" {
				continue
			}
			fmt.Fprintf(&b, "  %-28s %s/fhir/Patient/%s\n", patientName(r), base, fhir.IDOf(r))
		}
	}
	return b.String()
}

func patientName(r map[string]any) string {
	names, _ := r["name"].([]any)
	if len(names) == 0 {
		return "(no name)"
	}
	n, _ := names[0].(map[string]any)
	var parts []string
	if given, ok := n["given"].([]any); ok {
		for _, g := range given {
			if s, ok := g.(string); ok {
				parts = append(parts, s)
			}
		}
	}
	if fam, ok := n["family"].(string); ok {
		parts = append(parts, fam)
	}
	return strings.Join(parts, " ")
}

// demoUsersSummary lists the demo accounts for the start-up banner. A
// password is shown only when the account was just made: afterwards only
// its hash exists, and `openchart user reset` issues a new one-time code.
func demoUsersSummary(base string, users []auth.DemoUser) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Demo users (sign in at %s/):\n", base)
	for _, u := range users {
		pw := u.Password
		if pw == "" {
			pw = "(set at an earlier start; openchart user reset --username " + u.Username + ")"
		}
		fmt.Fprintf(&b, "  %-10s %-12s %s\n", u.Role, u.Username, pw)
	}
	return b.String()
}

// demoCalendars opens the demo clinicians' calendars: each demo Schedule
// gets a weekday template (09:00-17:00 in 20-minute slots, the clinic's
// time zone) and free slots for the next four weeks, so that booking works
// at once. Slot generation is idempotent: existing slots (the demo's
// booked ones among them) are kept.
func demoCalendars(ctx context.Context, a *app.App, sc *schedule.Service) (int, error) {
	res, err := a.Repo.Search(ctx, &store.Query{Types: []string{"Schedule"}})
	if err != nil {
		return 0, err
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tmpl := schedule.Template{TimeZone: "America/Chicago", SlotMinutes: 20,
		Windows: []schedule.Window{{Days: weekdays, Start: "09:00", End: "12:00"}, {Days: weekdays, Start: "13:00", End: "17:00"}}}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	n := 0
	for _, rec := range res.Records {
		if !strings.HasPrefix(rec.ID, "demo-") {
			continue
		}
		if err := sc.SetTemplate(ctx, rec.ID, tmpl); err != nil {
			return n, fmt.Errorf("schedule %s: %w", rec.ID, err)
		}
		made, err := sc.GenerateSlots(ctx, "Schedule/"+rec.ID, today, today.AddDate(0, 0, 28))
		if err != nil {
			return n, fmt.Errorf("slots of %s: %w", rec.ID, err)
		}
		n += made
	}
	return n, nil
}
