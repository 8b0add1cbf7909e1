package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
)

// TestBrowserChartRelease withholds a result from the patient in
// Chromium: the results page with its links, the form, its field errors,
// the marker with "Release to patient", the documents page; axe-core on
// each, screenshots in test-output/web/chart-release.
func TestBrowserChartRelease(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.user("drlin", auth.RolePhysician)
	base := e.srv.URL
	if err := os.MkdirAll(filepath.Join(outputDir(t), "chart-release"), 0o755); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/login"))
	signIn(t, ctx, "drlin", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)))

	link := `a[href="/patients/zoe/release/result/glu3"]`
	do(t, ctx, chromedp.Navigate(base+"/patients/zoe/results"), chromedp.WaitVisible(chromedp.CSS(link)))
	checkA11y(t, ctx, "results with withhold links")
	click(t, ctx, link)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reason`)))
	checkA11y(t, ctx, "withhold form")
	screenshot(t, ctx, "chart-release/form")
	click(t, ctx, `form[action$="/withhold"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reason-error`)))
	checkA11y(t, ctx, "withhold form errors")
	screenshot(t, ctx, "chart-release/form-errors")
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#exception`), "preventing-harm"),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "Discuss at the visit."))
	click(t, ctx, `form[action$="/withhold"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.withheld`)))
	if txt := text(t, ctx, `main`); !strings.Contains(txt, "Withheld from patient portal") || !strings.Contains(txt, "Discuss at the visit.") {
		t.Errorf("the results page lacks the marker: %q", txt)
	}
	checkA11y(t, ctx, "results with a withheld result")
	screenshot(t, ctx, "chart-release/results-withheld")

	do(t, ctx, chromedp.Navigate(base+"/patients/zoe/documents"), chromedp.WaitVisible(chromedp.CSS(`a[href="/patients/zoe/release/note/note1"]`)))
	checkA11y(t, ctx, "documents with withhold links")
	screenshot(t, ctx, "chart-release/documents")
}
