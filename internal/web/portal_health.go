package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/errs"
)

// pResult is one result as the portal shows it.
type pResult struct {
	ID, Name, Value, Range, Date, Flag, Meaning string
	Abnormal                                    bool
}

// flagMeaning says what a result's flag means, in plain words.
func portalFlag(flag string) string {
	switch flag {
	case chart.FlagNormal:
		return "Within the usual range."
	case chart.FlagHigh:
		return "Higher than the usual range."
	case chart.FlagLow:
		return "Lower than the usual range."
	case chart.FlagCriticalHigh:
		return "Much higher than the usual range."
	case chart.FlagCriticalLow:
		return "Much lower than the usual range."
	case chart.FlagAbnormal:
		return "Not the usual result."
	}
	return ""
}

// rangeText writes a reference range in words.
func portalRange(r chart.Range, unit string) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	u := ""
	if unit != "" {
		u = " " + unit
	}
	switch {
	case r.HasLow && r.HasHigh:
		return num(r.Low) + " to " + num(r.High) + u
	case r.HasLow:
		return "at least " + num(r.Low) + u
	case r.HasHigh:
		return "up to " + num(r.High) + u
	}
	return r.Text
}

func portalResultRow(o chart.Observation) pResult {
	return pResult{ID: o.ID, Name: portalConcept(o.Code), Value: o.Value.Text, Range: portalRange(o.Range, o.Value.Unit),
		Date: o.Effective.Day(), Flag: o.Flag, Meaning: portalFlag(o.Flag), Abnormal: chart.Abnormal(o.Flag)}
}

func portalConcept(c chart.Concept) string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Codings {
		if cd.Display != "" {
			return cd.Display
		}
	}
	for _, cd := range c.Codings {
		return cd.Code
	}
	return "(unnamed)"
}

type portalHealthView struct {
	Summary *chart.Summary
	Reports []chart.Report
}

func (s *server) portalHealth(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Chart == nil {
		return notFound
	}
	pc := portalOf(r)
	sum, err := s.cfg.Chart.Summary(r.Context(), pc.Patient)
	if err != nil {
		return err
	}
	res, err := s.cfg.Chart.Results(r.Context(), pc.Patient, chart.ResultFilter{})
	if err != nil {
		return err
	}
	s.renderPortal(w, r, http.StatusOK, "portal/health", "My health", "health", page{},
		portalHealthView{Summary: sum, Reports: res.Reports})
	return nil
}

type portalGroup struct {
	Title, Date string
	Rows        []pResult
}

func (s *server) portalResults(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Chart == nil {
		return notFound
	}
	pc := portalOf(r)
	res, err := s.cfg.Chart.Results(r.Context(), pc.Patient, chart.ResultFilter{})
	if err != nil {
		return err
	}
	var groups []portalGroup
	for _, g := range res.Groups {
		gv := portalGroup{Title: g.Title, Date: g.Date.Day()}
		for _, o := range g.Rows {
			gv.Rows = append(gv.Rows, portalResultRow(o))
		}
		groups = append(groups, gv)
	}
	s.renderPortal(w, r, http.StatusOK, "portal/results", "My test results", "results", page{}, groups)
	return nil
}

type portalResultView struct {
	Result pResult
	Note   string
	Series *chart.Series
	Chart  template.HTML
	Points []pResult
}

// portalResult is one result with its trend: the result must be one of
// the patient's lab results (found in their results review).
func (s *server) portalResult(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Chart == nil {
		return notFound
	}
	pc := portalOf(r)
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	res, err := s.cfg.Chart.Results(r.Context(), pc.Patient, chart.ResultFilter{})
	if err != nil {
		return err
	}
	var found *chart.Observation
	for _, g := range res.Groups {
		for i := range g.Rows {
			if g.Rows[i].ID == id {
				found = &g.Rows[i]
			}
		}
	}
	if found == nil {
		return notFound
	}
	v := portalResultView{Result: portalResultRow(*found), Note: found.Note}
	code := ""
	for _, cd := range found.Code.Codings {
		if cd.Code != "" {
			code = cd.System + "|" + cd.Code
			break
		}
	}
	if code != "" {
		series, err := s.cfg.Chart.Trend(r.Context(), pc.Patient, code)
		if err != nil && errs.KindOf(err) != errs.Invalid {
			return err
		}
		if series != nil && len(series.Points) > 0 {
			v.Series = series
			// TrendSVG escapes every text it writes (encoding/xml).
			v.Chart = template.HTML(chart.TrendSVG(series, chart.SVGOptions{ID: "trend",
				Title: fmt.Sprintf("%s over time", v.Result.Name)}))
			for i := len(series.Points) - 1; i >= 0; i-- {
				p := series.Points[i]
				v.Points = append(v.Points, pResult{ID: p.ObservationID, Value: p.Text, Date: p.Date.Day(),
					Range: portalRange(p.Range, series.Unit), Flag: p.Flag, Meaning: portalFlag(p.Flag), Abnormal: chart.Abnormal(p.Flag)})
			}
		}
	}
	s.renderPortal(w, r, http.StatusOK, "portal/result", v.Result.Name, "results", page{}, v)
	return nil
}
