package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/errs"
)

// chartRoutes registers the chart's pages (docs/WEB.md, "The chart").
func (s *server) chartRoutes(mux *http.ServeMux) {
	mux.Handle("GET /patients/{id}", s.user(s.chartPage("summary", nil)))
	mux.Handle("GET /patients/{id}/problems", s.user(s.chartPage("problems", s.loadProblemHistory)))
	mux.Handle("GET /patients/{id}/medications", s.user(s.chartPage("medications", s.loadMedicationsPage)))
	mux.Handle("GET /patients/{id}/allergies", s.user(s.chartPage("allergies", nil)))
	mux.Handle("GET /patients/{id}/immunizations", s.user(s.chartPage("immunizations", nil)))
	mux.Handle("GET /patients/{id}/social", s.user(s.chartPage("social", nil)))
	mux.Handle("GET /patients/{id}/print", s.user(s.chartPage("print", nil)))
	mux.Handle("GET /patients/{id}/timeline", s.user(s.chartPage("timeline", s.loadTimeline)))
	mux.Handle("GET /patients/{id}/results", s.user(s.chartPage("results", s.withReleases(s.loadResults, "DiagnosticReport", "Observation"))))
	mux.Handle("GET /patients/{id}/trend", s.user(s.chartPage("trend", s.loadTrend)))
	mux.Handle("GET /patients/{id}/documents", s.user(s.chartPage("documents", s.withReleases(s.loadDocuments, "Composition", "DocumentReference"))))
	s.chartActionRoutes(mux)
	s.chartReleaseRoutes(mux)
}

// chartSection is one page of the chart: its template, its title and its
// link in the chart's navigation.
type chartSection struct {
	Key, Title, Path string
}

var chartSections = []chartSection{
	{"summary", "Summary", ""},
	{"timeline", "Timeline", "/timeline"},
	{"problems", "Problems", "/problems"},
	{"medications", "Medications", "/medications"},
	{"allergies", "Allergies", "/allergies"},
	{"immunizations", "Immunizations", "/immunizations"},
	{"results", "Results", "/results"},
	{"documents", "Notes and documents", "/documents"},
	{"social", "Social history", "/social"},
	{"trend", "Trend", "/trend"},
	{"print", "Printable summary", "/print"},
}

func sectionOf(key string) chartSection {
	for _, c := range chartSections {
		if c.Key == key {
			return c
		}
	}
	return chartSections[0]
}

// chartView is the data of every chart page: the summary (which gives
// the banner) and what the section itself reads.
type chartView struct {
	ID      string
	Section chartSection
	Summary *chart.Summary
	Banner  chart.Banner
	Printed time.Time

	Timeline *chart.Timeline
	Prev     string // link to the previous/next page of the timeline
	Next     string

	Results *chart.Results

	Trend        *chart.Series
	TrendSVG     template.HTML
	TrendCode    string
	TrendOptions []option // the codes the trend page offers

	Notes     []noteView
	Documents []documentView

	// The problems and medications no longer active (chart_history.go).
	ProblemHistory    *chart.ProblemHistory
	MedicationHistory *chart.MedicationHistory

	// The maintenance forms (chart_actions.go).
	Action *actionView
	// Release to the patient (chart_release.go).
	Release *releaseView

	// Clinician: the user may start visits and launch apps (physician,
	// nurse); Staff: the user works for an organization (and may invite
	// the patient to the portal).
	Clinician, Staff bool
}

// chartLoader reads what a section shows beyond the summary. It returns
// field errors (shown next to the page's form, status 400) or an error.
type chartLoader func(r *http.Request, v *chartView, fe map[string]string) error

// chartPage serves one section of the chart: it reads the summary and the
// section's own view concurrently, both with the user's principal, and
// answers the chart's 404 page when the patient is missing or may not be
// seen.
func (s *server) chartPage(key string, load chartLoader) handler {
	return s.chartPageIn(key, sectionOf(key), load)
}

// chartPageIn serves a page of the chart (template "chart_"+key) shown
// under the navigation link of sec; a POST shows its submitted values
// again (a maintenance form refused with field errors).
func (s *server) chartPageIn(key string, sec chartSection, load chartLoader) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.Chart == nil {
			return notFound
		}
		id := r.PathValue("id")
		if !validID(id) {
			return s.chartNotFound(w, r, "")
		}
		v := &chartView{ID: id, Section: sec}
		roles := currentRoles(stateOf(r))
		v.Clinician = slices.Contains(roles, auth.RolePhysician) || slices.Contains(roles, auth.RoleNurse)
		v.Staff = len(roles) > 0
		fe := map[string]string{}
		var sumErr, loadErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.Summary, sumErr = s.cfg.Chart.Summary(r.Context(), id)
		}()
		if load != nil {
			loadErr = load(r, v, fe)
		}
		wg.Wait()
		if sumErr != nil {
			switch errs.KindOf(sumErr) {
			case errs.NotFound, errs.Gone, errs.Permission, errs.Invalid:
				return s.chartNotFound(w, r, id)
			}
			return sumErr
		}
		if loadErr != nil {
			switch errs.KindOf(loadErr) {
			case errs.NotFound, errs.Gone:
				return s.chartNotFound(w, r, id)
			}
			return loadErr
		}
		s.nameOrganizations(r.Context(), v)
		v.Banner = v.Summary.Banner
		v.Printed = v.Summary.At
		if key == "trend" {
			v.TrendOptions = trendCodes(v.Summary, v.TrendCode)
		}
		title := sec.Title + " · " + v.Banner.Name
		if v.Action != nil && v.Action.Title != "" {
			title = v.Action.Title + " · " + v.Banner.Name
		}
		p := page{Title: title, Data: v, Errors: fe, Form: r.URL.Query()}
		if r.Method == http.MethodPost {
			p.Form = r.PostForm
		}
		status := http.StatusOK
		if len(fe) > 0 {
			status = http.StatusBadRequest
			p.Error = "Correct the choice below: see the message next to it."
			if r.Method == http.MethodPost {
				p.Error = "Nothing was saved. Correct the entry below: see the message next to it."
			}
		}
		name := "chart"
		if key != "summary" {
			name = "chart_" + key
		}
		s.render(w, r, status, name, p)
		return nil
	}
}

// chartNotFoundView is the data of the chart's 404 page.
type chartNotFoundView struct {
	BreakGlass string // the emergency access form, for the roles that may use it
}

// chartNotFound answers a chart the user may not open exactly like a chart
// that does not exist (nothing about the patient is revealed), with a link
// to the emergency access for physicians and nurses.
func (s *server) chartNotFound(w http.ResponseWriter, r *http.Request, id string) error {
	v := chartNotFoundView{}
	if id != "" && slices.ContainsFunc(currentRoles(stateOf(r)), func(role string) bool { return slices.Contains(breakGlassRoles, role) }) {
		v.BreakGlass = "/patients/" + id + "/break-glass?next=" + url.QueryEscape("/patients/"+id)
	}
	s.render(w, r, http.StatusNotFound, "chart_notfound", page{Title: "Chart not found", Data: v})
	return nil
}

// --- the sections' own reads ---

func (s *server) loadTimeline(r *http.Request, v *chartView, fe map[string]string) error {
	off := 0
	if o := r.URL.Query().Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 || n > 1_000_000 {
			fe["offset"] = "The page number is not valid; showing the newest encounters."
		} else {
			off = n
		}
	}
	tl, err := s.cfg.Chart.Timeline(r.Context(), v.ID, chart.Page{Offset: off, Count: chart.DefaultPage})
	if err != nil {
		return err
	}
	v.Timeline = tl
	base := "/patients/" + v.ID + "/timeline"
	if off > 0 {
		v.Prev = base + "?offset=" + strconv.Itoa(max(0, off-chart.DefaultPage))
	}
	if tl.More {
		v.Next = base + "?offset=" + strconv.Itoa(off+len(tl.Encounters))
	}
	return nil
}

func (s *server) loadResults(r *http.Request, v *chartView, fe map[string]string) error {
	q := r.URL.Query()
	f := chart.ResultFilter{GroupBy: chart.GroupByPanel, AbnormalFirst: true}
	switch q.Get("group") {
	case "", chart.GroupByPanel:
	case chart.GroupByDay:
		f.GroupBy = chart.GroupByDay
	default:
		fe["group"] = "Choose panel or day."
	}
	switch q.Get("show") {
	case "", "all":
	case "abnormal":
		f.AbnormalOnly = true
	default:
		fe["show"] = "Choose all results or abnormal results only."
	}
	res, err := s.cfg.Chart.Results(r.Context(), v.ID, f)
	if err != nil {
		return err
	}
	v.Results = res
	return nil
}

func (s *server) loadTrend(r *http.Request, v *chartView, fe map[string]string) error {
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	v.TrendCode = code
	if code == "" {
		return nil // the page offers the codes to choose from
	}
	ser, err := s.cfg.Chart.Trend(r.Context(), v.ID, code)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid {
			fe["code"] = "Choose a test or vital sign from the list (or a LOINC code such as 2345-7)."
			return nil
		}
		return err
	}
	v.Trend = ser
	v.TrendSVG = template.HTML(chart.TrendSVG(ser, chart.SVGOptions{ID: "trend", Width: 720, Height: 300}))
	return nil
}

// trendCodes are the codes offered on the trend page: the vital signs and
// the latest laboratory results of the summary, and the current code.
func trendCodes(s *chart.Summary, current string) []option {
	var out []option
	seen := map[string]bool{"": true}
	addOpt := func(code, label string) {
		if seen[code] {
			return
		}
		seen[code] = true
		out = append(out, option{Value: code, Label: label})
	}
	addOpt("", "Choose…")
	for _, vt := range s.Vitals {
		if vt.Systolic != nil {
			addOpt("8480-6", "Systolic blood pressure")
			addOpt("8462-4", "Diastolic blood pressure")
			continue
		}
		addOpt(vt.Code, vt.Name)
	}
	for _, o := range s.Results {
		addOpt(trendCode(o.Code), o.Code.Text)
	}
	if current != "" && !seen[current] {
		addOpt(current, current)
	}
	return out
}

// trendCode is the code a trend link names: the LOINC code, else the
// first coding as system|code.
func trendCode(c chart.Concept) string {
	if l := c.Code(chart.LOINC); l != "" {
		return l
	}
	if len(c.Codings) > 0 && c.Codings[0].Code != "" {
		if c.Codings[0].System == "" {
			return "|" + c.Codings[0].Code
		}
		return c.Codings[0].System + "|" + c.Codings[0].Code
	}
	return ""
}

// --- what the templates call ---

// Sections are the chart's navigation links (without the trend page, which
// opens from a result).
func (v *chartView) Sections() []chartSection {
	out := make([]chartSection, 0, len(chartSections))
	for _, c := range chartSections {
		if c.Key != "trend" {
			out = append(out, c)
		}
	}
	return out
}

// Link is the address of a section of this chart.
func (v *chartView) Link(path string) string { return "/patients/" + v.ID + path }

// TrendLink is the trend page of a code.
func (v *chartView) TrendLink(c chart.Concept) string {
	if v.Section.Key == "print" {
		return "" // paper has no links
	}
	code := trendCode(c)
	if code == "" {
		return ""
	}
	return "/patients/" + v.ID + "/trend?code=" + url.QueryEscape(code)
}

// flagView is an abnormal flag as shown: a symbol and words, never only a
// colour.
type flagView struct {
	Code, Symbol, Text, Class string
}

// Flag describes a flag for the page ("" flags and normal values show
// nothing but "Normal" text where asked).
func (v *chartView) Flag(f string) flagView {
	switch f {
	case chart.FlagHigh:
		return flagView{f, "▲", "High", "flag-high"}
	case chart.FlagLow:
		return flagView{f, "▼", "Low", "flag-low"}
	case chart.FlagCriticalHigh:
		return flagView{f, "▲▲", "Critical high", "flag-critical"}
	case chart.FlagCriticalLow:
		return flagView{f, "▼▼", "Critical low", "flag-critical"}
	case chart.FlagAbnormal:
		return flagView{f, "◆", "Abnormal", "flag-abnormal"}
	case chart.FlagNormal:
		return flagView{f, "", "Normal", "flag-normal"}
	}
	return flagView{}
}

// Abnormal reports whether a flag marks an abnormal value.
func (v *chartView) Abnormal(f string) bool { return chart.Abnormal(f) }

// RangeText is a reference range in words.
func (v *chartView) RangeText(r chart.Range, unit string) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	var gen string
	switch {
	case r.HasLow && r.HasHigh:
		gen = num(r.Low) + "–" + num(r.High)
	case r.HasLow:
		gen = "≥ " + num(r.Low)
	case r.HasHigh:
		gen = "≤ " + num(r.High)
	}
	if r.Text != "" && r.Text != gen {
		return r.Text // a range written in words
	}
	if gen != "" && unit != "" {
		return gen + " " + unit
	}
	return gen
}

// When is a recorded date as written, with the time in a readable form.
func (v *chartView) When(d chart.Date) string {
	if d.Text == "" {
		return ""
	}
	if len(d.Text) <= 10 || d.Time.IsZero() {
		return d.Text
	}
	return d.Time.Format("2006-01-02 15:04")
}

// Sex is the administrative gender in words.
func (v *chartView) Sex(g string) string {
	switch g {
	case "female":
		return "Female"
	case "male":
		return "Male"
	case "other":
		return "Other"
	case "unknown", "":
		return "Unknown"
	}
	return g
}

// Codes lists codings as "system-name code".
func (v *chartView) Codes(cs []chart.Coding) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Code)
	}
	return strings.Join(parts, ", ")
}

// Words turns a FHIR code ("problem-list-item") into words.
func (v *chartView) Words(code string) string {
	if code == "" {
		return ""
	}
	s := strings.ReplaceAll(code, "-", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// FlagAlerts are the banner's alerts from Flags (the allergy status is
// shown on its own line).
func (v *chartView) FlagAlerts() []chart.Alert {
	var out []chart.Alert
	for _, a := range v.Banner.Alerts {
		if a.FlagID != "" {
			out = append(out, a)
		}
	}
	return out
}

// AbnormalCount counts the abnormal points of the trend.
func (v *chartView) AbnormalCount() int {
	if v.Trend == nil {
		return 0
	}
	n := 0
	for _, p := range v.Trend.Points {
		if chart.Abnormal(p.Flag) {
			n++
		}
	}
	return n
}

// NewestFirst returns the trend's points newest first, for its table.
func (v *chartView) NewestFirst() []chart.Point {
	if v.Trend == nil {
		return nil
	}
	out := slices.Clone(v.Trend.Points)
	slices.Reverse(out)
	return out
}

// OtherUnitsText says which values were left out of a trend for their unit.
func (v *chartView) OtherUnitsText() string {
	if v.Trend == nil || len(v.Trend.OtherUnits) == 0 {
		return ""
	}
	var parts []string
	for u, n := range v.Trend.OtherUnits {
		if u == "" {
			u = "no unit"
		}
		parts = append(parts, strconv.Itoa(n)+" in "+u)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// GroupOptions are the results page's groupings.
func (v *chartView) GroupOptions() []option {
	return []option{{chart.GroupByPanel, "Panel (report)"}, {chart.GroupByDay, "Day"}}
}

// ShowOptions are the results page's row filters.
func (v *chartView) ShowOptions() []option {
	return []option{{"all", "All results"}, {"abnormal", "Abnormal results only"}}
}

// nameOrganizations gives a name to the organizations that external items
// name only by reference ("Organization/123"), reading each Organization
// once with the user's principal; one that cannot be read keeps its
// reference.
func (s *server) nameOrganizations(ctx context.Context, v *chartView) {
	var srcs []*chart.Source
	add := func(src *chart.Source) {
		if src.External && src.Organization.Display == "" && strings.HasPrefix(src.Organization.Reference, "Organization/") {
			srcs = append(srcs, src)
		}
	}
	if sm := v.Summary; sm != nil {
		for i := range sm.Problems {
			add(&sm.Problems[i].Source)
		}
		for i := range sm.Medications {
			add(&sm.Medications[i].Source)
		}
		for i := range sm.Allergies {
			add(&sm.Allergies[i].Source)
		}
		for i := range sm.Immunizations {
			add(&sm.Immunizations[i].Source)
		}
		for i := range sm.Results {
			add(&sm.Results[i].Source)
		}
		for i := range sm.Social {
			add(&sm.Social[i].Source)
		}
		for i := range sm.Encounters {
			add(&sm.Encounters[i].Source)
		}
	}
	if h := v.ProblemHistory; h != nil {
		for i := range h.Inactive {
			add(&h.Inactive[i].Source)
		}
	}
	if h := v.MedicationHistory; h != nil {
		for i := range h.Inactive {
			add(&h.Inactive[i].Source)
		}
	}
	if tl := v.Timeline; tl != nil {
		for i := range tl.Encounters {
			add(&tl.Encounters[i].Source)
		}
	}
	if res := v.Results; res != nil {
		for g := range res.Groups {
			for i := range res.Groups[g].Rows {
				add(&res.Groups[g].Rows[i].Source)
			}
		}
		for i := range res.Reports {
			add(&res.Reports[i].Source)
		}
		for i := range res.Imaging {
			add(&res.Imaging[i].Source)
		}
	}
	names := map[string]string{}
	for _, src := range srcs {
		ref := src.Organization.Reference
		name, ok := names[ref]
		if !ok {
			if rec, err := s.cfg.Repo.Read(ctx, "Organization", strings.TrimPrefix(ref, "Organization/")); err == nil {
				var o struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(rec.JSON, &o) == nil {
					name = o.Name
				}
			}
			names[ref] = name
		}
		if name != "" {
			src.Organization.Display = name
		}
	}
}

// MainReports are the imaging, pathology and laboratory reports, shown
// with their conclusion; OtherReports the rest (notes and other reports
// sent as DiagnosticReports), listed compactly.
func (v *chartView) MainReports() []chart.Report { return v.reports(true) }

// OtherReports: see MainReports.
func (v *chartView) OtherReports() []chart.Report { return v.reports(false) }

func (v *chartView) reports(main bool) []chart.Report {
	if v.Results == nil {
		return nil
	}
	var out []chart.Report
	for _, r := range v.Results.Reports {
		if (r.Category != "report") == main {
			out = append(out, r)
		}
	}
	return out
}
