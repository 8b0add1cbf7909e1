package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/demo"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhirapi"
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
