package chart

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
)

// syntheaNow is when the Synthea set was generated (its information
// Bundles' timestamp, 1625911868739 ms): the charts are computed at it.
var syntheaNow = time.Date(2021, 7, 10, 10, 11, 8, 0, time.UTC)

// TestSynthea loads Synthea patients on each store and checks every view
// against a direct scan of the patients' Bundles.
func TestSynthea(t *testing.T) {
	for _, name := range storeConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := openStack(t, name)
			loadSynthea(t, a, syntheaPatients)
			c := newChart(t, a, syntheaNow)
			for _, p := range syntheaPatients {
				res := byType(bundleResources(t, syntheaFile(t, p+".json.gz")))
				t.Run(p[:8], func(t *testing.T) {
					checkSummary(t, c, p, res)
					checkHistory(t, c, p, res)
					checkTimeline(t, c, p, res)
					checkResults(t, c, p, res)
					checkTrends(t, c, p, res)
				})
			}
		})
	}
}

// checkHistory: the inactive problems and medications are exactly the
// Bundle's resolved, inactive and in-remission problems and its stopped,
// completed and cancelled prescriptions, most recently ended first.
func checkHistory(t *testing.T, c *Chart, id string, res map[string][]map[string]any) {
	ph, err := c.ProblemHistory(operator(), id)
	if err != nil {
		t.Fatalf("ProblemHistory: %v", err)
	}
	want := map[string]bool{}
	for _, r := range res["Condition"] {
		switch firstCode(r, "clinicalStatus") {
		case "inactive", "remission", "resolved":
			want[fhir.IDOf(r)] = true
		}
	}
	if diff := cmp.Diff(sortedKeys(want), ids(ph.Inactive, func(p Problem) string { return p.ID })); diff != "" {
		t.Errorf("inactive problems (-bundle +history):\n%s", diff)
	}
	for i, p := range ph.Inactive {
		if r := findByID(res["Condition"], p.ID); p.Abatement.Text != fhir.Str(r["abatementDateTime"]) {
			t.Errorf("problem %s: abatement %q, want %q", p.ID, p.Abatement.Text, fhir.Str(r["abatementDateTime"]))
		}
		if i > 0 && after(p.Abatement, ph.Inactive[i-1].Abatement) {
			t.Errorf("problem %s resolved on %s after %s, listed before it", ph.Inactive[i-1].ID, ph.Inactive[i-1].Abatement.Text, p.Abatement.Text)
		}
	}
	if ph.EnteredInError != 0 {
		t.Errorf("%d problems entered in error; Synthea records none", ph.EnteredInError)
	}

	mh, err := c.MedicationHistory(operator(), id)
	if err != nil {
		t.Fatalf("MedicationHistory: %v", err)
	}
	wantMeds := map[string]bool{}
	for _, r := range res["MedicationRequest"] {
		switch fhir.Str(r["status"]) {
		case "stopped", "completed", "cancelled":
			wantMeds[fhir.IDOf(r)] = true
		}
	}
	if diff := cmp.Diff(sortedKeys(wantMeds), ids(mh.Inactive, func(m Medication) string { return m.ID })); diff != "" {
		t.Errorf("inactive medications (-bundle +history):\n%s", diff)
	}
	t.Logf("%d inactive problems, %d inactive medications", len(ph.Inactive), len(mh.Inactive))
	for _, m := range mh.Inactive {
		if mr := findByID(res["MedicationRequest"], m.ID); m.Name == "" || fhir.Obj(mr["medicationReference"]) != nil && len(m.RxNorm) == 0 {
			t.Errorf("medication %s: name %q, RxNorm %v", m.ID, m.Name, m.RxNorm)
		}
	}
}

func checkSummary(t *testing.T, c *Chart, id string, res map[string][]map[string]any) {
	s, err := c.Summary(operator(), id)
	if err != nil {
		t.Fatalf("Summary: %v", err)
	}
	// Parsing only the newest observation of each code gives the summary
	// that parsing all of them gives, and every query plan gives the same.
	for _, v := range []struct {
		plan     plan
		parseAll bool
	}{{planOne, true}, {planSplit, false}, {planSplit, true}, {planPerType, false}} {
		other := *c
		other.plan, other.parseAll = v.plan, v.parseAll
		s2, err := other.Summary(operator(), id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s2, s); diff != "" {
			t.Errorf("summary (-plan %d, every observation parsed: %v +the default):\n%s", v.plan, v.parseAll, diff)
		}
	}
	pat := res["Patient"][0]
	// Banner.
	if s.Banner.MRN != id { // Synthea's MR identifier holds the patient's id
		t.Errorf("MRN = %q, want %q", s.Banner.MRN, id)
	}
	name := fhir.Obj(pat["name"])
	if names := objs(pat, "name"); len(names) > 0 {
		name = names[0]
	}
	if fam := fhir.Str(name["family"]); !strings.HasSuffix(s.Banner.Name, " "+fam) {
		t.Errorf("name = %q, want the family name %q", s.Banner.Name, fam)
	}
	if s.Banner.Sex != fhir.Str(pat["gender"]) || s.Banner.BirthDate.Text != fhir.Str(pat["birthDate"]) {
		t.Errorf("sex, birth date = %q %q", s.Banner.Sex, s.Banner.BirthDate.Text)
	}
	birth, _ := time.Parse("2006-01-02", fhir.Str(pat["birthDate"]))
	at := syntheaNow
	if d := fhir.Str(pat["deceasedDateTime"]); d != "" {
		at, _ = time.Parse(time.RFC3339, d)
		if !s.Banner.Deceased {
			t.Error("the patient died; the banner does not say so")
		}
	}
	wantAge := at.Year() - birth.Year()
	if at.YearDay() < birth.YearDay() && (at.Month() < birth.Month() || at.Month() == birth.Month() && at.Day() < birth.Day()) {
		wantAge--
	}
	if s.Banner.AgeYears != wantAge {
		t.Errorf("age = %d (%q), want %d", s.Banner.AgeYears, s.Banner.Age, wantAge)
	}
	if s.Banner.Language == "" {
		t.Error("no preferred language")
	}

	// Active problems: exactly the Conditions the Bundle says are active.
	want := map[string]bool{}
	for _, r := range res["Condition"] {
		switch firstCode(r, "clinicalStatus") {
		case "active", "recurrence", "relapse":
			want[fhir.IDOf(r)] = true
		}
	}
	if diff := cmp.Diff(sortedKeys(want), ids(s.Problems, func(p Problem) string { return p.ID })); diff != "" {
		t.Errorf("active problems (-bundle +summary):\n%s", diff)
	}
	for _, p := range s.Problems {
		if len(p.SNOMED) == 0 || p.Onset.IsZero() || p.Code.Text == "" {
			t.Errorf("problem %s lacks its SNOMED coding, onset or text: %+v", p.ID, p)
		}
	}

	// Active medications.
	wantMeds := map[string]bool{}
	for _, r := range res["MedicationRequest"] {
		if s := fhir.Str(r["status"]); s == "active" || s == "on-hold" {
			wantMeds[fhir.IDOf(r)] = true
		}
	}
	if diff := cmp.Diff(sortedKeys(wantMeds), ids(s.Medications, func(m Medication) string { return m.ID })); diff != "" {
		t.Errorf("active medications (-bundle +summary):\n%s", diff)
	}
	for _, m := range s.Medications {
		if mr := findByID(res["MedicationRequest"], m.ID); fhir.Obj(mr["medicationReference"]) != nil && len(m.RxNorm) == 0 {
			t.Errorf("medication %s: the referenced Medication's RxNorm code was not read", m.ID)
		}
		if m.Name == "" || m.Dose == "" && len(objs(findByID(res["MedicationRequest"], m.ID), "dosageInstruction")) > 0 {
			t.Errorf("medication %s: name %q dose %q", m.ID, m.Name, m.Dose)
		}
	}

	// Allergies: those not resolved, with their reactions; Synthea never
	// records "no known allergies", so a patient without any shows "not
	// recorded".
	wantAllergies := map[string]bool{}
	reactions := 0
	for _, r := range res["AllergyIntolerance"] {
		if cs := firstCode(r, "clinicalStatus"); cs != "inactive" && cs != "resolved" {
			wantAllergies[fhir.IDOf(r)] = true
			reactions += len(objs(r, "reaction"))
		}
	}
	if diff := cmp.Diff(sortedKeys(wantAllergies), ids(s.Allergies, func(a Allergy) string { return a.ID })); diff != "" {
		t.Errorf("allergies (-bundle +summary):\n%s", diff)
	}
	gotReactions := 0
	for _, a := range s.Allergies {
		for _, rx := range a.Reactions {
			gotReactions++
			if len(rx.Manifestations) == 0 {
				t.Errorf("allergy %s: a reaction without its manifestation", a.ID)
			}
		}
		if a.Substance.Text == "" || a.Criticality == "" {
			t.Errorf("allergy %s lacks its substance or criticality", a.ID)
		}
	}
	if gotReactions != reactions {
		t.Errorf("%d reactions, want %d", gotReactions, reactions)
	}
	wantStatus := AllergiesRecorded
	if len(wantAllergies) == 0 {
		wantStatus = AllergiesNotRecorded
	}
	if s.Banner.AllergyStatus != wantStatus || len(s.Banner.Allergies) != len(wantAllergies) {
		t.Errorf("banner allergies %q %v, want %q", s.Banner.AllergyStatus, s.Banner.Allergies, wantStatus)
	}

	// Latest vitals: the newest Observation per code in the Bundle.
	newest := newestByCode(res["Observation"], "")
	for _, v := range s.Vitals {
		if v.Code == loincBP {
			o := newest[loincBP]
			if o == nil {
				t.Fatal("blood pressure shown, but no panel in the Bundle")
			}
			sys, dia := componentValue(o, loincSystolic), componentValue(o, loincDiastolic)
			if v.Systolic == nil || v.Diastolic == nil || v.Systolic.Number != sys || v.Diastolic.Number != dia || v.ObservationID != fhir.IDOf(o) {
				t.Errorf("blood pressure %s (%s), want %v/%v of %s", v.Value.Text, v.ObservationID, sys, dia, fhir.IDOf(o))
			}
			continue
		}
		o := newest[v.Code]
		if o == nil {
			t.Errorf("vital %s (%s) shown, but none in the Bundle", v.Name, v.Code)
			continue
		}
		if got, want := v.Value.Number, quantityValue(o); got != want || v.ObservationID != fhir.IDOf(o) || v.Effective.Text != fhir.Str(o["effectiveDateTime"]) {
			t.Errorf("vital %s = %v at %s (%s), want %v at %s (%s)", v.Name, got, v.Effective.Text, v.ObservationID, want, fhir.Str(o["effectiveDateTime"]), fhir.IDOf(o))
		}
	}
	for _, code := range []string{"8867-4", "9279-1", "29463-7", "8302-2", "39156-5", loincBP} {
		if newest[code] != nil && !hasVital(s.Vitals, code) {
			t.Errorf("the Bundle has vital %s, the summary does not", code)
		}
	}

	// Latest results: one per laboratory code, the newest.
	labs := newestByCode(res["Observation"], "laboratory")
	if len(s.Results) != len(labs) {
		t.Errorf("%d latest results, want %d (one per laboratory code)", len(s.Results), len(labs))
	}
	for _, r := range s.Results {
		o := labs[r.Code.Code(LOINC)]
		if o == nil || fhir.IDOf(o) != r.ID {
			t.Errorf("latest %s is %s, want %s", r.Code.Text, r.ID, fhir.IDOf(o))
		}
	}

	// Social history: smoking status is shown when recorded.
	if smoking := newestByCode(res["Observation"], "")["72166-2"]; smoking != nil {
		found := false
		for _, o := range s.Social {
			if o.ID == fhir.IDOf(smoking) {
				found = o.Value.Text != ""
			}
		}
		if !found {
			t.Errorf("the latest smoking status %s is not in the social history", fhir.IDOf(smoking))
		}
	}

	// Immunizations given: the latest dose of each CVX code.
	latest := map[string]map[string]any{}
	for _, r := range res["Immunization"] {
		k := concept(fhir.Obj(r["vaccineCode"])).Code(CVX)
		if cur := latest[k]; cur == nil || fhir.Str(r["occurrenceDateTime"]) > fhir.Str(cur["occurrenceDateTime"]) {
			latest[k] = r
		}
	}
	if len(s.Immunizations) != len(latest) {
		t.Errorf("%d vaccines given, want %d", len(s.Immunizations), len(latest))
	}
	for _, im := range s.Immunizations {
		if l := latest[im.CVX]; l == nil || fhir.Str(l["occurrenceDateTime"]) != im.Date.Text {
			t.Errorf("vaccine %s: latest %s, want %s", im.CVX, im.Date.Text, fhir.Str(l["occurrenceDateTime"]))
		}
	}
	if s.Banner.Deceased && len(s.Due) > 0 {
		t.Errorf("immunizations due for a deceased patient: %+v", s.Due)
	}

	// Care team: the members of active CareTeams, not the patient.
	for _, m := range s.CareTeam {
		if m.Reference == "Patient/"+id {
			t.Error("the patient is listed in her own care team")
		}
	}
	if hasActive(res["CareTeam"]) && len(s.CareTeam) == 0 {
		t.Error("active care teams in the Bundle, none in the summary")
	}

	// Recent encounters: the newest ones, newest first.
	if n := min(len(res["Encounter"]), RecentEncounters); len(s.Encounters) != n {
		t.Fatalf("%d recent encounters, want %d", len(s.Encounters), n)
	}
	if len(s.Encounters) > 0 {
		newestEnc := ""
		for _, e := range res["Encounter"] {
			if st := fhir.Str(fhir.Obj(e["period"])["start"]); st > newestEnc {
				newestEnc = st
			}
		}
		if s.Encounters[0].Start.Text != newestEnc {
			t.Errorf("the most recent encounter started %s, want %s", s.Encounters[0].Start.Text, newestEnc)
		}
		if s.Encounters[0].Source.Organization.Reference == "" {
			t.Error("the encounter's organization (serviceProvider) is not carried")
		}
	}
}

func findByID(list []map[string]any, id string) map[string]any {
	for _, r := range list {
		if fhir.IDOf(r) == id {
			return r
		}
	}
	return nil
}

func hasActive(list []map[string]any) bool {
	for _, r := range list {
		if fhir.Str(r["status"]) == "active" {
			return true
		}
	}
	return false
}

func hasVital(vs []Vital, code string) bool {
	for _, v := range vs {
		if v.Code == code {
			return true
		}
	}
	return false
}

// newestByCode returns the newest Observation per first LOINC code (of
// category cat, if given), computed straight from the Bundle: the latest
// effectiveDateTime (Synthea writes one offset per patient), then the
// greater id.
func newestByCode(obs []map[string]any, cat string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range obs {
		if cat != "" && !strings.Contains(string(fhir.Marshal(o["category"])), `"`+cat+`"`) {
			continue
		}
		code := concept(fhir.Obj(o["code"])).Code(LOINC)
		cur := out[code]
		t, ct := effTime(o), effTime(cur)
		if cur == nil || t.After(ct) || t.Equal(ct) && fhir.IDOf(o) > fhir.IDOf(cur) {
			out[code] = o
		}
	}
	return out
}

func effTime(o map[string]any) time.Time {
	t, _ := time.Parse(time.RFC3339, fhir.Str(o["effectiveDateTime"]))
	return t
}

func quantityValue(o map[string]any) float64 {
	f, _ := number(fhir.Obj(o["valueQuantity"]), "value")
	return f
}

func componentValue(o map[string]any, code string) float64 {
	for _, c := range objs(o, "component") {
		if concept(fhir.Obj(c["code"])).Code(LOINC) == code {
			return quantityValue(c)
		}
	}
	return math.NaN()
}

func checkTimeline(t *testing.T, c *Chart, id string, res map[string][]map[string]any) {
	var all []Encounter
	page := Page{Count: 25}
	for {
		tl, err := c.Timeline(operator(), id, page)
		if err != nil {
			t.Fatalf("Timeline: %v", err)
		}
		if tl.Total != len(res["Encounter"]) {
			t.Fatalf("timeline total %d, want %d", tl.Total, len(res["Encounter"]))
		}
		all = append(all, tl.Encounters...)
		if !tl.More {
			break
		}
		page.Offset += page.Count
	}
	if len(all) != len(res["Encounter"]) {
		t.Fatalf("%d encounters over the pages, want %d", len(all), len(res["Encounter"]))
	}
	// Newest first, across pages.
	for i := 1; i < len(all); i++ {
		if all[i].Start.Time.After(all[i-1].Start.Time) {
			t.Fatalf("encounter %d (%s) is newer than encounter %d (%s)", i, all[i].Start.Text, i-1, all[i-1].Start.Text)
		}
	}
	// The counts of what was recorded in each encounter.
	want := map[string]*[4]int{}
	for _, e := range res["Encounter"] {
		want["urn:uuid:"+fhir.IDOf(e)] = &[4]int{}
	}
	for i, typ := range []string{"Condition", "Observation", "Procedure", "MedicationRequest"} {
		for _, r := range res[typ] {
			if n := want[fhir.Str(fhir.Obj(r["encounter"])["reference"])]; n != nil {
				n[i]++
			}
		}
	}
	for _, e := range all {
		n := want["urn:uuid:"+e.ID]
		if got := [4]int{e.Diagnoses, e.Observations, e.Procedures, e.Prescriptions}; n == nil || got != *n {
			t.Errorf("encounter %s: diagnoses, observations, procedures, prescriptions = %v, want %v", e.ID, got, n)
		}
		if e.Type == "" || e.Start.IsZero() || e.Provider == "" {
			t.Errorf("encounter %s lacks its type, start or provider: %+v", e.ID, e)
		}
	}
}

func checkResults(t *testing.T, c *Chart, id string, res map[string][]map[string]any) {
	labs := map[string]bool{}
	for _, o := range res["Observation"] {
		if strings.Contains(string(fhir.Marshal(o["category"])), `"laboratory"`) {
			labs[fhir.IDOf(o)] = true
		}
	}
	for _, by := range []string{GroupByPanel, GroupByDay} {
		r, err := c.Results(operator(), id, ResultFilter{GroupBy: by, AbnormalFirst: true})
		if err != nil {
			t.Fatalf("Results by %s: %v", by, err)
		}
		seen := map[string]int{}
		for _, g := range r.Groups {
			for _, o := range g.Rows {
				seen[o.ID]++
			}
			if by == GroupByPanel && g.ReportID != "" && g.Title == "" {
				t.Errorf("panel %s has no title", g.ReportID)
			}
		}
		for o := range labs {
			if seen[o] != 1 {
				t.Errorf("by %s: lab result %s appears %d times", by, o, seen[o])
			}
		}
		if len(seen) != len(labs) {
			t.Errorf("by %s: %d results in the tables, want %d", by, len(seen), len(labs))
		}
		if len(r.Imaging) != len(res["ImagingStudy"]) {
			t.Errorf("%d imaging studies, want %d", len(r.Imaging), len(res["ImagingStudy"]))
		}
		// Reports: the DiagnosticReports that are not lab panels.
		nonLab := 0
		for _, d := range res["DiagnosticReport"] {
			if !strings.Contains(string(fhir.Marshal(d["category"])), `"LAB"`) {
				nonLab++
			}
		}
		if len(r.Reports) != nonLab {
			t.Errorf("%d reports, want %d", len(r.Reports), nonLab)
		}
		for _, rep := range r.Reports {
			if len(rep.Forms) > 0 && rep.Forms[0].Text == "" {
				t.Errorf("report %s: its text/plain form was not read", rep.ID)
			}
		}
	}
}

func checkTrends(t *testing.T, c *Chart, id string, res map[string][]map[string]any) {
	codes := map[string]int{}
	for _, o := range res["Observation"] {
		if fhir.Obj(o["valueQuantity"]) != nil {
			codes[concept(fhir.Obj(o["code"])).Code(LOINC)]++
		}
		for _, comp := range objs(o, "component") {
			if fhir.Obj(comp["valueQuantity"]) != nil {
				codes[concept(fhir.Obj(comp["code"])).Code(LOINC)]++
			}
		}
	}
	tried := 0
	for _, code := range []string{loincSystolic, loincDiastolic, "2339-0", "39156-5", "4548-4", "8302-2"} {
		want := codes[code]
		s, err := c.Trend(operator(), id, code)
		if err != nil {
			t.Fatalf("Trend %s: %v", code, err)
		}
		if len(s.Points) != want {
			t.Errorf("trend %s: %d points, want %d", code, len(s.Points), want)
		}
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].Time.Before(s.Points[i-1].Time) {
				t.Fatalf("trend %s is not in time order", code)
			}
		}
		if want > 0 {
			tried++
			svg := TrendSVG(s, SVGOptions{})
			if n := countMarkers(svg); n != want {
				t.Errorf("trend %s: the SVG draws %d points, want %d", code, n, want)
			}
		}
	}
	if tried == 0 {
		t.Log("no numeric observation of the trend codes for this patient")
	}
	// A code with only coded values: no points, counted as non-numeric.
	s, err := c.Trend(operator(), id, "72166-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 0 {
		t.Errorf("smoking status has %d numeric points", len(s.Points))
	}
	if want := len(filterCode(res["Observation"], "72166-2")); s.NonNumeric != want {
		t.Errorf("smoking status: %d non-numeric values, want %d", s.NonNumeric, want)
	}
}

func filterCode(obs []map[string]any, code string) []map[string]any {
	var out []map[string]any
	for _, o := range obs {
		if concept(fhir.Obj(o["code"])).Code(LOINC) == code {
			out = append(out, o)
		}
	}
	return out
}

func countMarkers(svg []byte) int {
	return strings.Count(string(svg), `<g data-flag=`)
}
