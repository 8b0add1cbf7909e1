package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
)

// TestBrowserChartActions fills the allergy and immunization forms in
// Chromium, shows their field errors, and checks the problems and
// medications pages with their forms: axe-core on each, screenshots in
// test-output/web/chart-actions.
func TestBrowserChartActions(t *testing.T) {
	t.Parallel()
	ctx := chrome(t)
	e := newEnv(t, envOptions{})
	e.patients()
	e.chartRecord()
	e.user("drlin", auth.RolePhysician)
	base := e.srv.URL
	if err := os.MkdirAll(filepath.Join(outputDir(t), "chart-actions"), 0o755); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/login"))
	signIn(t, ctx, "drlin", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[role=search]`)))

	// The allergy form: find, refuse, record.
	do(t, ctx, chromedp.Navigate(base+"/patients/zoe/allergies"), chromedp.WaitVisible(chromedp.CSS(`a[href="/patients/zoe/allergies/new"]`)))
	click(t, ctx, `a[href="/patients/zoe/allergies/new"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#substance`)))
	checkA11y(t, ctx, "record an allergy")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#substance`), "amoxicillin"))
	click(t, ctx, `button[value=find]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`input[name="substance-code"]`)))
	checkA11y(t, ctx, "allergy substance matches")
	screenshot(t, ctx, "chart-actions/allergy-find")
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#severity`), "severe"))
	click(t, ctx, `button[value=save]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reaction-error`)))
	checkA11y(t, ctx, "allergy form errors")
	screenshot(t, ctx, "chart-actions/allergy-errors")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#reaction`), "Rash"))
	click(t, ctx, `button[value=save]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.chart-table`)))
	if tbl := text(t, ctx, `main`); !strings.Contains(strings.ToLower(tbl), "amoxicillin") {
		t.Errorf("the allergies page lacks the new allergy: %q", tbl)
	}

	// The immunization form.
	do(t, ctx, chromedp.Navigate(base+"/patients/zoe/immunizations/new"), chromedp.WaitVisible(chromedp.CSS(`#vaccine`)),
		chromedp.SendKeys(chromedp.CSS(`#vaccine`), "zoster"))
	click(t, ctx, `button[value=find]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`input[name=cvx]`)))
	checkA11y(t, ctx, "record an immunization")
	screenshot(t, ctx, "chart-actions/immunization-find")

	// The problems and medications pages with their forms.
	for _, p := range []struct{ path, wait, name string }{
		{"/patients/zoe/problems", `#abatement-htn`, "problems"},
		{"/patients/zoe/medications", `#reason-lisinopril`, "medications"},
	} {
		do(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		checkA11y(t, ctx, "chart "+p.name+" with forms")
		screenshot(t, ctx, "chart-actions/"+p.name)
		// The inactive items, opened.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.querySelectorAll("details.history-list").forEach(d => d.open = true); 0`)); err != nil {
			t.Fatal(err)
		}
		checkA11y(t, ctx, "chart "+p.name+" with the inactive items open")
	}
}
