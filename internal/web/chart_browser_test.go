package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
)

// TestBrowserChart opens a chart from the patient search and visits each
// of its pages in Chromium: axe-core on every page, screenshots of the
// search, the summary, the results and a trend into test-output/web/chart.
func TestBrowserChart(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.user("drkim", auth.RolePhysician)
	base := e.srv.URL
	if err := os.MkdirAll(filepath.Join(outputDir(t), "chart"), 0o755); err != nil {
		t.Fatal(err)
	}

	do(t, ctx, chromedp.Navigate(base+"/login"))
	signIn(t, ctx, "drkim", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "muller"))
	click(t, ctx, `form[role=search] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`section.results a[href="/patients/zoe"]`)))
	screenshot(t, ctx, "chart/search")

	// From the search to the summary.
	click(t, ctx, `section.results a[href="/patients/zoe"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.banner`)))
	if l := location(ctx); l != base+"/patients/zoe" {
		t.Fatalf("the search result opened %s", l)
	}
	banner := text(t, ctx, `.banner`)
	for _, want := range []string{"Müller", "MRN-1001", "Penicillin", "Fall risk"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q: %q", want, banner)
		}
	}
	checkA11y(t, ctx, "chart summary")
	screenshot(t, ctx, "chart/summary")

	// Results, then the trend of a result from its link.
	click(t, ctx, `.chart-nav a[href="/patients/zoe/results"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.lab-group`)))
	checkA11y(t, ctx, "chart results")
	screenshot(t, ctx, "chart/results")
	click(t, ctx, `.lab-group a[href="/patients/zoe/trend?code=2345-7"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.trend-chart svg`)))
	if rows := text(t, ctx, `#trend-table tbody`); strings.Count(rows, "mg/dL") != 6 || !strings.Contains(rows, "High") {
		t.Errorf("the trend table: %q", rows)
	}
	checkA11y(t, ctx, "chart trend")
	screenshot(t, ctx, "chart/results-trend")

	// Every other page of the chart, and the chart of a patient the user
	// may not see.
	for _, p := range []struct{ path, wait, name string }{
		{"/patients/zoe/timeline", `.chart-table`, "timeline"},
		{"/patients/zoe/problems", `.chart-table`, "problems"},
		{"/patients/zoe/medications", `.chart-table`, "medications"},
		{"/patients/zoe/allergies", `.chart-table`, "allergies"},
		{"/patients/zoe/immunizations", `.chart-table`, "immunizations"},
		{"/patients/zoe/social", `.chart-table`, "social"},
		{"/patients/zoe/documents", `.note`, "documents"},
		{"/patients/zoe/trend", `#code`, "trend-choose"},
		{"/patients/zoe/results?group=week", `#group-error`, "results-error"},
		{"/patients/zoe/print", `.printout`, "print"},
		{"/patients/zara", `main h1`, "not-found"},
	} {
		do(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		checkA11y(t, ctx, "chart "+p.name)
		screenshot(t, ctx, "chart/"+p.name)
	}
	if h := text(t, ctx, `main h1`); h != "Chart not found" {
		t.Errorf("another organization's patient: %q", h)
	}
	// The printable summary as it comes out on paper.
	do(t, ctx, chromedp.Navigate(base+"/patients/zoe/print"), chromedp.WaitVisible(chromedp.CSS(`.printout`)))
	if _, err := chromedp.Run(ctx, chromedp.Legacy(mediaAction("print"))); err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector("header.top")).display !== "none"`)); err != nil || shown {
		t.Errorf("the navigation is printed (%v)", err)
	}
	screenshot(t, ctx, "chart/print-paper")
	if _, err := chromedp.Run(ctx, chromedp.Legacy(mediaAction(""))); err != nil {
		t.Fatal(err)
	}
	// A tablet in portrait.
	if _, err := chromedp.Run(ctx, chromedp.Legacy(emulateWidth(768))); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/patients/zoe"), chromedp.WaitVisible(chromedp.CSS(`.banner`)))
	screenshot(t, ctx, "chart/summary-tablet")
}

// mediaAction emulates a CSS media type ("print"; "" for the screen).
type mediaAction string

func (m mediaAction) Do(ctx context.Context) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: string(m)})
	return err
}
