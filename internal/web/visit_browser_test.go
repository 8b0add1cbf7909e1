package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/schedule"
	"github.com/openchart/openchart/internal/smart"
)

// visitShot saves a screenshot of the visit pages into test-output/web/visit.
func visitShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join(outputDir(t), "visit")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fill sets the value of form controls by CSS selector.
func fill(t *testing.T, ctx context.Context, values map[string]string) {
	t.Helper()
	for sel, v := range values {
		do(t, ctx, chromedp.SetValue(chromedp.CSS(sel), v))
	}
}

// TestBrowserWholeVisit is the first acceptance test: a new patient is
// registered and booked, checked in, her vital signs recorded by the
// nurse; the physician writes the note, codes the diagnosis, is stopped by
// the penicillin allergy when prescribing amoxicillin, prescribes
// azithromycin instead, orders a test and signs. The FHIR API then holds
// every resource of the visit, each referring to the encounter.
func TestBrowserWholeVisit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	visitSetup(e)
	ctx := chrome(t)
	if _, err := e.auth.CreateUser(operator(), auth.User{Username: "desk", DisplayName: "Front Desk",
		Memberships: []auth.Membership{{Organization: e.org, Roles: []string{auth.RoleFrontDesk}}}}, testPassword); err != nil {
		t.Fatal(err)
	}
	base := e.srv.URL

	// Today's clinic: Dr. Lee's schedule in room 3, every 20 minutes.
	sched, err := schedule.New(schedule.Config{Repo: e.app.Repo, Compiler: e.app.Compiler})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := e.app.Repo.Create(operator(), map[string]any{"resourceType": "Location", "name": "Room 3", "status": "active",
		"managingOrganization": map[string]any{"reference": e.org}}, repo.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	sid, err := sched.CreateSchedule(operator(), schedule.ScheduleSpec{Practitioner: "Practitioner/dr-lee", Location: "Location/" + loc.Record.ID,
		Template: schedule.Template{TimeZone: "UTC", SlotMinutes: 20, Windows: []schedule.Window{{Days: all, Start: "00:00", End: "23:40"}}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := sched.GenerateSlots(operator(), "Schedule/"+sid, now, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	day := now
	if slots, err := sched.FreeSlots(operator(), schedule.SlotFilter{Schedule: "Schedule/" + sid}, now, now.Add(3*time.Hour)); err == nil && len(slots) > 0 {
		day = slots[0].Start.UTC() // tomorrow's first slot, late in the evening
	}

	// The front desk registers Maja on the registration page and books
	// her first free time on the calendar.
	do(t, ctx, chromedp.Navigate(base+"/patients/new"))
	signIn(t, ctx, "desk", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#family`)))
	fill(t, ctx, map[string]string{`#family`: "Lindqvist", `#given`: "Maja", `#birthdate`: "1991-06-14", `#sex`: "female", `#phone`: "555-0199"})
	click(t, ctx, `form[action="/patients/new"] button[type=submit]`)
	m := regexp.MustCompile(`/patients/([A-Za-z0-9.-]+)/edit$`).FindStringSubmatch(location(ctx))
	if m == nil {
		t.Fatalf("after registering: %s\n%s", location(ctx), text(t, ctx, `main`))
	}
	patient := m[1]
	do(t, ctx, chromedp.Navigate(base+"/schedule?patient="+patient+"&date="+day.Format("2006-01-02")),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/schedule/slots/"]`)))
	click(t, ctx, `a[href^="/schedule/slots/"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reason`)))
	fill(t, ctx, map[string]string{`#reason`: "Sore throat and fever"})
	click(t, ctx, `form[method=post][action$="/book"] button[type=submit]`)
	m = regexp.MustCompile(`/schedule/appointments/([A-Za-z0-9.-]+)$`).FindStringSubmatch(location(ctx))
	if m == nil {
		t.Fatalf("after booking: %s\n%s", location(ctx), text(t, ctx, `main`))
	}
	apptID := m[1]
	// Her penicillin allergy, as recorded at registration.
	if _, err := e.app.Repo.Create(operator(), map[string]any{"resourceType": "AllergyIntolerance",
		"patient":            map[string]any{"reference": "Patient/" + patient},
		"clinicalStatus":     map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}}},
		"verificationStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}}},
		"category":           []any{"medication"}, "criticality": "high",
		"code": map[string]any{"coding": []any{map[string]any{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "70618", "display": "penicillin"}}, "text": "Penicillin"},
	}, repo.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The nurse, in a browser of her own, checks her in from the
	// appointment, which opens the visit.
	ctx = chrome(t)
	do(t, ctx, chromedp.Navigate(base+"/schedule/appointments/"+apptID))
	signIn(t, ctx, "nurseruiz", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`form[action$="/checkin"] button`)))
	click(t, ctx, `form[action$="/checkin"] button`)
	m = regexp.MustCompile(`/patients/` + regexp.QuoteMeta(patient) + `/visits/([A-Za-z0-9.-]+)$`).FindStringSubmatch(location(ctx))
	if m == nil {
		t.Fatalf("after checking in: %s\n%s", location(ctx), text(t, ctx, `main`))
	}
	enc := m[1]
	visitURL := base + "/patients/" + patient + "/visits/" + enc

	// She records the vital signs, in pounds, inches and °F.
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#v-systolic`)))
	checkA11y(t, ctx, "visit (nurse)")
	// A typo first: the message is next to the field, nothing is saved.
	fill(t, ctx, map[string]string{`#v-systolic`: "1200", `#v-diastolic`: "80"})
	click(t, ctx, `form[action$="/vitals"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#v-systolic-error`)))
	if msg := text(t, ctx, `#v-systolic-error`); !strings.Contains(msg, "between 50 and 300") {
		t.Errorf("systolic message %q", msg)
	}
	checkA11y(t, ctx, "vital signs with an error")
	visitShot(t, ctx, "vitals-error")
	fill(t, ctx, map[string]string{`#v-systolic`: "126", `#v-diastolic`: "78", `#v-heartRate`: "92", `#v-respRate`: "16",
		`#v-temp`: "101.3", `#v-tempUnit`: "F", `#v-spo2`: "98", `#v-weight`: "143", `#v-weightUnit`: "lb",
		`#v-height`: "66", `#v-heightUnit`: "in", `#v-pain`: "4"})
	click(t, ctx, `form[action$="/vitals"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`p.bmi`)))
	if bmi := text(t, ctx, `p.bmi`); !strings.Contains(bmi, "23.1 kg/m²") { // 64.86 kg, 167.6 cm
		t.Errorf("BMI shown: %q", bmi)
	}
	if vit := text(t, ctx, `#vitals table`); !strings.Contains(vit, "126/78 mmHg") || !strings.Contains(vit, "38.5 °C") {
		t.Errorf("vital signs: %q", vit)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rx-form").length`)); n != 0 {
		t.Error("the nurse is shown the prescribing form")
	}
	checkA11y(t, ctx, "visit after vital signs")
	visitShot(t, ctx, "vitals")

	// The physician, in a browser of her own.
	ctx = chrome(t)
	do(t, ctx, chromedp.Navigate(visitURL))
	signIn(t, ctx, "drlee", testPassword)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#n-subjective`)))
	// The start page offers the visit in progress.
	do(t, ctx, chromedp.Navigate(base+"/patients/"+patient+"/visits/new"), chromedp.WaitVisible(chromedp.CSS(`.open-visits a`)))
	checkA11y(t, ctx, "start a visit")
	visitShot(t, ctx, "start")
	click(t, ctx, `.open-visits a`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#n-subjective`)))
	// The template's prompts, then the note as a draft.
	fill(t, ctx, map[string]string{`#n-template`: "acute"})
	click(t, ctx, `button[value=template]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#n-subjective`)))
	fill(t, ctx, map[string]string{
		`#n-subjective`: "Sore throat and fever for three days. No cough.",
		`#n-objective`:  "T 38.5 °C. Tonsillar exudate, tender anterior cervical nodes.",
		`#n-assessment`: "Streptococcal pharyngitis (Centor 4).",
		`#n-plan`:       "Azithromycin for 5 days (penicillin allergy). Rapid strep sent. Return if worse.",
	})
	click(t, ctx, `button[value=save]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#dx-icd10`)))
	// The diagnosis from the picker's suggestions.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#dx-icd10`), "streptococcal phar"))
	do(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll("#dx-icd10-options option[value='J02.0']").length > 0`, chromedp.WithPollingTimeout(5*time.Second)))
	fill(t, ctx, map[string]string{`#dx-icd10`: "J02.0"})
	click(t, ctx, `form[action$="/diagnoses"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#diagnoses table`)))
	if dx := text(t, ctx, `#diagnoses table`); !strings.Contains(dx, "J02.0") {
		t.Errorf("diagnoses: %q", dx)
	}
	// Amoxicillin: the check shows the allergy alert before anything is saved.
	rx := map[string]string{`#rx-rxnorm`: "308192", `#rx-dose`: "500", `#rx-doseUnit`: "mg", `#rx-route`: "oral",
		`#rx-frequency`: "3", `#rx-freqUnit`: "day", `#rx-durationDays`: "10", `#rx-quantity`: "30", `#rx-dispenseUnit`: "tablet", `#rx-refills`: "0"}
	fill(t, ctx, rx)
	click(t, ctx, `#rx-check`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.rx-alert`)))
	alert := text(t, ctx, `.rx-alert`)
	if !strings.Contains(alert, "High severity") || !strings.Contains(strings.ToLower(alert), "penicillin") {
		t.Errorf("the alert says %q", alert)
	}
	checkA11y(t, ctx, "prescribing alert")
	do(t, ctx, chromedp.ScrollIntoView(chromedp.CSS(`#rx-alerts`)))
	visitShot(t, ctx, "prescribing-alert")
	// Prescribing anyway without a reason is refused.
	click(t, ctx, `#rx-prescribe`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.rx-alert`)))
	// Azithromycin instead.
	rx[`#rx-rxnorm`], rx[`#rx-frequency`], rx[`#rx-durationDays`], rx[`#rx-quantity`] = "308460", "1", "5", "6"
	fill(t, ctx, rx)
	click(t, ctx, `#rx-check`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.no-alerts`)))
	checkA11y(t, ctx, "prescribing without alert")
	click(t, ctx, `#rx-prescribe`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#prescribing table`)))
	if p := text(t, ctx, `#prescribing table`); !strings.Contains(p, "azithromycin") || strings.Contains(p, "Amoxicillin") {
		t.Errorf("prescriptions: %q", p)
	}
	// A lab test.
	fill(t, ctx, map[string]string{`#lab-loinc`: "18481-2"})
	click(t, ctx, `form[action$="/orders/lab"] button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#orders table`)))
	// Sign.
	click(t, ctx, `#sign-note`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`article.signed-note`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#n-subjective").length`)); n != 0 {
		t.Error("the signed note is still editable")
	}
	checkA11y(t, ctx, "signed visit")
	do(t, ctx, chromedp.ScrollIntoView(chromedp.CSS(`#note`)))
	visitShot(t, ctx, "visit-note")
	// A tablet in portrait.
	if _, err := chromedp.Run(ctx, chromedp.Legacy(emulateWidth(768))); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(visitURL), chromedp.WaitVisible(chromedp.CSS(`#vitals`)))
	visitShot(t, ctx, "visit-tablet")
	if _, err := chromedp.Run(ctx, chromedp.Legacy(emulateWidth(1280))); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(visitURL+"/print"), chromedp.WaitVisible(chromedp.CSS(`.visit-print`)))
	checkA11y(t, ctx, "visit summary")
	visitShot(t, ctx, "summary")

	// The FHIR API holds the visit, every part referring to the encounter.
	tok, _, err := e.doors.SMART.IssueToken(operator(), smart.TokenSpec{Scopes: []string{"user/*.read"}, Username: "drlee"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/fhir/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/fhir+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v %v", path, resp.StatusCode, err, out)
		}
		return out
	}
	encounter := get("Encounter/" + enc)
	if encounter["status"] != "in-progress" || !strings.Contains(mustJSON(encounter["appointment"]), "Appointment/"+apptID) {
		t.Errorf("encounter: %s", mustJSON(encounter))
	}
	encRef := "Encounter/" + enc
	for _, c := range []struct {
		typ, refPath string
		min          int
		want         []string
	}{
		{"Observation", "encounter", 8, []string{"85354-9", "8867-4", "9279-1", "8310-5", "59408-5", "29463-7", "8302-2", "39156-5"}},
		{"Condition", "encounter", 1, []string{"J02.0"}},
		{"MedicationRequest", "encounter", 1, []string{"308460"}},
		{"ServiceRequest", "encounter", 1, []string{"18481-2"}},
		{"Composition", "encounter", 1, []string{`"status":"final"`, `"mode":"legal"`}},
		{"DocumentReference", "context.encounter", 1, []string{`"docStatus":"final"`}},
	} {
		b := get(c.typ + "?encounter=" + encRef)
		entries, _ := b["entry"].([]any)
		if len(entries) < c.min {
			t.Errorf("%s?encounter: %d entries, want %d", c.typ, len(entries), c.min)
			continue
		}
		all := mustJSON(entries)
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s of the visit lack %s", c.typ, w)
			}
		}
		for _, en := range entries {
			res := en.(map[string]any)["resource"].(map[string]any)
			var ref any = res["encounter"]
			if c.refPath == "context.encounter" {
				ctxv, _ := res["context"].(map[string]any)
				ref = ctxv["encounter"]
			}
			if !strings.Contains(mustJSON(ref), `"`+encRef+`"`) {
				t.Errorf("%s/%v does not refer to the encounter: %s", c.typ, res["id"], mustJSON(ref))
			}
		}
		if c.typ == "MedicationRequest" && strings.Contains(all, "308192") {
			t.Error("amoxicillin was prescribed")
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
