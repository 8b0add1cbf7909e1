package chart

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// ResultFilter selects and arranges the results review.
type ResultFilter struct {
	// GroupBy is GroupByPanel (the default: one table per DiagnosticReport,
	// results outside any report by day) or GroupByDay.
	GroupBy string
	// AbnormalFirst puts abnormal rows first in each table, and the tables
	// holding abnormal rows before the others.
	AbnormalFirst bool
	// AbnormalOnly keeps only abnormal rows (and the tables that have some).
	AbnormalOnly bool
	// Since and Until bound the time of the results (zero: no bound).
	Since, Until time.Time
}

// Result groupings.
const (
	GroupByPanel = "panel"
	GroupByDay   = "day"
)

// Results is the results review.
type Results struct {
	// Groups are the lab tables, newest first.
	Groups []ResultGroup
	// Reports are the DiagnosticReports that are not lab panels (imaging,
	// pathology, specialist reports, notes), newest first.
	Reports []Report
	// Imaging are the imaging studies, newest first.
	Imaging []ImagingStudy
}

// ResultGroup is one lab table: a panel (DiagnosticReport) or a day.
type ResultGroup struct {
	Title    string
	Date     Date
	ReportID string // the DiagnosticReport, "" for a day
	Status   string
	Abnormal int // rows with an abnormal flag
	Rows     []Observation
}

// Report is a DiagnosticReport other than a lab panel.
type Report struct {
	ID         string
	Category   string // imaging, pathology, laboratory or report
	Kind       string // the category as recorded
	Code       Concept
	Status     string
	Effective  Date
	Issued     Date
	Performers []string
	Conclusion string
	Findings   []string // conclusionCode
	// ImagingStudies are the ids of the linked ImagingStudy resources.
	ImagingStudies []string
	Results        []string // ids of the result Observations
	Forms          []Attachment
	Source         Source
}

// Attachment is a report's presented form.
type Attachment struct {
	ContentType string
	Title       string
	URL         string
	Size        int
	// Text is the content of a text/plain form carried in the resource
	// (up to 64 KiB).
	Text string
}

// ImagingStudy is one imaging study.
type ImagingStudy struct {
	ID          string
	Started     Date
	Status      string
	Modalities  []string
	Procedure   string
	Description string
	Series      int
	Instances   int
	Location    string
	Source      Source
}

// Results reads the patient's results: laboratory observations (one
// search by patient and category), and DiagnosticReports and
// ImagingStudies with the Encounters they were recorded in (one
// compartment search), concurrently.
func (c *Chart) Results(ctx context.Context, patientID string, f ResultFilter) (*Results, error) {
	const op = "chart results"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, patientID); err != nil {
		return nil, err
	}
	switch f.GroupBy {
	case "":
		f.GroupBy = GroupByPanel
	case GroupByPanel, GroupByDay:
	default:
		return nil, errs.E(op, errs.Invalid, "results are grouped by panel or by day",
			errs.Issue{Severity: "error", Code: "value", Diagnostics: "group by " + f.GroupBy + " is not one of panel, day", Expression: []string{"group"}})
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return nil, errs.E(op, errs.Invalid, "the end of the period is before its start",
			errs.Issue{Severity: "error", Code: "value", Diagnostics: "until is before since", Expression: []string{"until"}})
	}
	q, err := c.compile(op, "Observation", url.Values{
		"patient":  {"Patient/" + patientID},
		"category": {"http://terminology.hl7.org/CodeSystem/observation-category|laboratory"},
	})
	if err != nil {
		return nil, err
	}
	q.Count = 0 // every result: the tables are built from all of them
	var labs, others records
	var patient map[string]any
	err = parallel(3, func(i int) error {
		var err error
		switch i {
		case 0:
			patient, err = c.readPatient(ctx, patientID)
		case 1:
			res, err := c.repo.Search(ctx, q)
			if err != nil {
				return err
			}
			labs, err = group(res.Records)
			return err
		case 2:
			others, err = c.compartment(ctx, patientID, []string{"DiagnosticReport", "Encounter", "ImagingStudy"})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	src := newSourcer(c.home, patient, others["Encounter"])
	inRange := func(d Date) bool {
		return (f.Since.IsZero() || !d.Time.Before(f.Since)) && (f.Until.IsZero() || !d.Time.After(f.Until))
	}
	obs := map[string]Observation{}
	for _, r := range labs["Observation"] {
		if fhir.Str(r.Res["status"]) == "cancelled" {
			continue
		}
		o := observation(r)
		o.Source = src.of(r)
		if inRange(o.Effective) {
			obs[r.ID] = o
		}
	}
	out := &Results{}
	used := map[string]bool{}
	for _, r := range others["DiagnosticReport"] {
		rep := report(r, src)
		var rows []Observation
		for _, id := range rep.Results {
			if o, ok := obs[id]; ok {
				rows = append(rows, o)
			}
		}
		if len(rows) > 0 || (rep.Category == "laboratory" && len(rep.Forms) == 0 && rep.Conclusion == "") {
			if f.GroupBy == GroupByPanel && len(rows) > 0 {
				for _, o := range rows {
					used[o.ID] = true
				}
				out.Groups = append(out.Groups, ResultGroup{Title: rep.Code.Text, Date: rep.Effective, ReportID: rep.ID, Status: rep.Status, Rows: rows})
			}
			continue
		}
		if inRange(rep.Effective) {
			out.Reports = append(out.Reports, rep)
		}
	}
	// Results outside any panel (or all of them, by day) go in a table per day.
	days := map[string]*ResultGroup{}
	for _, o := range obs {
		if used[o.ID] {
			continue
		}
		day := o.Effective.Day()
		g := days[day]
		if g == nil {
			g = &ResultGroup{Title: "Results of " + day, Date: Date{Time: o.Effective.Time, Text: day}}
			days[day] = g
		}
		g.Rows = append(g.Rows, o)
	}
	for _, g := range days {
		out.Groups = append(out.Groups, *g)
	}
	arrange(out, f)
	for _, r := range others["ImagingStudy"] {
		if is := imagingStudy(r, src); inRange(is.Started) {
			out.Imaging = append(out.Imaging, is)
		}
	}
	slices.SortStableFunc(out.Reports, func(a, b Report) int { return newestFirst(a.Effective, b.Effective, a.ID, b.ID) })
	slices.SortStableFunc(out.Imaging, func(a, b ImagingStudy) int { return newestFirst(a.Started, b.Started, a.ID, b.ID) })
	return out, nil
}

// arrange sorts the rows of each table (by name, or abnormal first), drops
// normal rows under AbnormalOnly, and sorts the tables newest first (those
// with abnormal rows first under AbnormalFirst).
func arrange(out *Results, f ResultFilter) {
	groups := out.Groups[:0]
	for _, g := range out.Groups {
		if f.AbnormalOnly {
			g.Rows = slices.DeleteFunc(g.Rows, func(o Observation) bool { return !Abnormal(o.Flag) })
		}
		if len(g.Rows) == 0 {
			continue
		}
		g.Abnormal = 0
		for _, o := range g.Rows {
			if Abnormal(o.Flag) {
				g.Abnormal++
			}
		}
		slices.SortStableFunc(g.Rows, func(a, b Observation) int {
			if f.AbnormalFirst && Abnormal(a.Flag) != Abnormal(b.Flag) {
				if Abnormal(a.Flag) {
					return -1
				}
				return 1
			}
			if c := strings.Compare(strings.ToLower(a.Code.Text), strings.ToLower(b.Code.Text)); c != 0 {
				return c
			}
			return newestFirst(a.Effective, b.Effective, a.ID, b.ID)
		})
		groups = append(groups, g)
	}
	slices.SortStableFunc(groups, func(a, b ResultGroup) int {
		if f.AbnormalFirst && (a.Abnormal > 0) != (b.Abnormal > 0) {
			if a.Abnormal > 0 {
				return -1
			}
			return 1
		}
		return newestFirst(a.Date, b.Date, a.ReportID+a.Title, b.ReportID+b.Title)
	})
	out.Groups = groups
}

// reportCategory classifies a DiagnosticReport by its category codes
// (HL7 v2 table 0074, http://terminology.hl7.org/CodeSystem/v2-0074, and
// LOINC's imaging and pathology report classes).
func reportCategory(cs []Concept) string {
	for _, c := range cs {
		for _, cd := range c.Codings {
			switch strings.ToUpper(cd.Code) {
			case "RAD", "CT", "MR", "NMR", "NMS", "US", "RUS", "VUS", "XRC", "CUS", "OUS", "RX", "IMG", "18748-4":
				return "imaging"
			case "SP", "CP", "PAT", "CG", "11526-1", "60568-3":
				return "pathology"
			case "LAB", "CH", "HM", "MB", "SR", "IMM", "BG", "BLB", "SC", "TX", "URN", "VR", "MYC", "MCB", "SER":
				return "laboratory"
			}
		}
	}
	return "report"
}

func report(r record, src *sourcer) Report {
	res := r.Res
	cats := concepts(res, "category")
	rep := Report{ID: r.ID, Category: reportCategory(cats), Code: concept(fhir.Obj(res["code"])), Status: fhir.Str(res["status"]),
		Effective: effective(res), Issued: parseDate(fhir.Str(res["issued"])), Conclusion: fhir.Str(res["conclusion"]), Source: src.of(r)}
	if len(cats) > 0 {
		rep.Kind = cats[0].Text
	}
	for _, p := range objs(res, "performer") {
		if l := ref(p).Label(); l != "" {
			rep.Performers = append(rep.Performers, l)
		}
	}
	for _, cc := range concepts(res, "conclusionCode") {
		rep.Findings = append(rep.Findings, cc.Text)
	}
	for _, is := range objs(res, "imagingStudy") {
		if id := refID(ref(is).Reference, "ImagingStudy"); id != "" {
			rep.ImagingStudies = append(rep.ImagingStudies, id)
		}
	}
	for _, o := range objs(res, "result") {
		if id := refID(ref(o).Reference, "Observation"); id != "" {
			rep.Results = append(rep.Results, id)
		}
	}
	for _, a := range objs(res, "presentedForm") {
		rep.Forms = append(rep.Forms, attachment(a))
	}
	return rep
}

// maxFormText bounds the text of a presented form carried in the view.
const maxFormText = 64 << 10

func attachment(a map[string]any) Attachment {
	at := Attachment{ContentType: fhir.Str(a["contentType"]), Title: fhir.Str(a["title"]), URL: fhir.Str(a["url"])}
	if n, ok := number(a, "size"); ok {
		at.Size = int(n)
	}
	data := fhir.Str(a["data"])
	if data == "" {
		return at
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return at
	}
	if at.Size == 0 {
		at.Size = len(raw)
	}
	if strings.HasPrefix(at.ContentType, "text/plain") && len(raw) <= maxFormText && utf8.Valid(raw) {
		at.Text = string(raw)
	}
	return at
}

func imagingStudy(r record, src *sourcer) ImagingStudy {
	res := r.Res
	is := ImagingStudy{ID: r.ID, Started: parseDate(fhir.Str(res["started"])), Status: fhir.Str(res["status"]),
		Description: fhir.Str(res["description"]), Location: ref(fhir.Obj(res["location"])).Label(), Source: src.of(r)}
	if n, ok := number(res, "numberOfSeries"); ok {
		is.Series = int(n)
	}
	if n, ok := number(res, "numberOfInstances"); ok {
		is.Instances = int(n)
	}
	var procs []string
	for _, p := range concepts(res, "procedureCode") {
		procs = append(procs, p.Text)
	}
	is.Procedure = strings.Join(procs, "; ")
	seen := map[string]bool{}
	for _, m := range objs(res, "modality") {
		if c := fhir.Str(m["code"]); c != "" && !seen[c] {
			seen[c] = true
			is.Modalities = append(is.Modalities, c)
		}
	}
	for _, s := range objs(res, "series") {
		if c := fhir.Str(fhir.Obj(s["modality"])["code"]); c != "" && !seen[c] {
			seen[c] = true
			is.Modalities = append(is.Modalities, c)
		}
	}
	if is.Series == 0 {
		is.Series = len(objs(res, "series"))
	}
	return is
}
