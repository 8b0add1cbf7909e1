package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/chart"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/inbox"
	"github.com/openchart/openchart/internal/schedule"
)

// A result opened from the inbox: its values with their reference ranges
// and flags, the trend of each value's code (chart.Trend, drawn by
// chart.TrendSVG with a data table beside it), earlier sign-offs, and the
// sign-off form (inbox.SignOff by the user's Practitioner).

type inboxResultView struct {
	Ref, Type, ID string
	Name          string
	Status        string
	When          string
	PatientID     string
	PatientName   string
	Conclusion    string
	Values        []resultValueRow
	Trends        []resultTrendView
	Reviews       []inbox.Review
	Reviewed      bool
	MaySign       bool
}

type resultValueRow struct {
	Name, Value, Range, Flag string
	Abnormal                 bool
}

type resultTrendView struct {
	Name   string
	Unit   string
	SVG    template.HTML
	Points []resultTrendPoint
}

type resultTrendPoint struct{ Date, Value, Flag string }

// flagWords says an interpretation code in words with a symbol, so that
// abnormal values are told by more than colour (WCAG 1.4.1).
func resultFlagWords(code string) string {
	switch code {
	case "H", "HU":
		return "▲ High"
	case "L", "LU":
		return "▼ Low"
	case "HH":
		return "▲▲ Critical high"
	case "LL":
		return "▼▼ Critical low"
	case "AA":
		return "◆◆ Critical"
	case "A", "POS", "DET", "R":
		return "◆ Abnormal"
	case "N", "":
		return ""
	}
	return code
}

func resultNumber(v any) (string, float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return n.String(), f, err == nil
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), n, true
	}
	return "", 0, false
}

// conceptText is a CodeableConcept's text, else its first display or code.
func resultConcept(v any) string {
	m := deskObj(v)
	if t := deskStr(m["text"]); t != "" {
		return t
	}
	for _, c := range deskList(m["coding"]) {
		if d := deskStr(deskObj(c)["display"]); d != "" {
			return d
		}
	}
	for _, c := range deskList(m["coding"]) {
		if d := deskStr(deskObj(c)["code"]); d != "" {
			return d
		}
	}
	return ""
}

// trendCode is the code a value's trend follows: its LOINC coding, else
// its first coding, as "system|code".
func resultTrendCode(o map[string]any) string {
	var first string
	for _, c := range deskList(deskObj(o["code"])["coding"]) {
		m := deskObj(c)
		sys, code := deskStr(m["system"]), deskStr(m["code"])
		if sys == "" || code == "" {
			continue
		}
		if sys == "http://loinc.org" {
			return sys + "|" + code
		}
		if first == "" {
			first = sys + "|" + code
		}
	}
	return first
}

// valueRowOf describes one Observation's value, its range and its flag.
func resultValueOf(o map[string]any) resultValueRow {
	row := resultValueRow{Name: resultConcept(o["code"])}
	q := deskObj(o["valueQuantity"])
	val, num, isNum := resultNumber(q["value"])
	unit := deskStr(q["unit"])
	if unit == "" {
		unit = deskStr(q["code"])
	}
	switch {
	case q != nil:
		row.Value = strings.TrimSpace(deskStr(q["comparator"]) + val + " " + unit)
	case deskStr(o["valueString"]) != "":
		row.Value = deskStr(o["valueString"])
	case o["valueCodeableConcept"] != nil:
		row.Value = resultConcept(o["valueCodeableConcept"])
	}
	var low, high float64
	var hasLow, hasHigh bool
	if rr := deskList(o["referenceRange"]); len(rr) > 0 {
		m := deskObj(rr[0])
		lt, l, okL := resultNumber(deskObj(m["low"])["value"])
		ht, h, okH := resultNumber(deskObj(m["high"])["value"])
		low, high, hasLow, hasHigh = l, h, okL, okH
		switch {
		case deskStr(m["text"]) != "":
			row.Range = deskStr(m["text"])
		case okL && okH:
			row.Range = lt + "–" + ht + " " + unit
		case okL:
			row.Range = "≥ " + lt + " " + unit
		case okH:
			row.Range = "≤ " + ht + " " + unit
		}
	}
	var codes []string
	for _, in := range deskList(o["interpretation"]) {
		for _, c := range deskList(deskObj(in)["coding"]) {
			if code := deskStr(deskObj(c)["code"]); code != "" {
				codes = append(codes, code)
			}
		}
	}
	if len(codes) == 0 && isNum {
		if hasHigh && num > high {
			codes = append(codes, "H")
		} else if hasLow && num < low {
			codes = append(codes, "L")
		}
	}
	for _, c := range codes {
		if w := resultFlagWords(c); w != "" {
			row.Flag, row.Abnormal = w, true
			break
		}
	}
	return row
}

func (s *server) deskRead(ctx context.Context, typ, id string) (map[string]any, int64, error) {
	rec, err := s.cfg.Repo.Read(ctx, typ, id)
	if err != nil {
		return nil, 0, err
	}
	var m map[string]any
	if err := json.Unmarshal(rec.JSON, &m); err != nil {
		return nil, 0, err
	}
	return m, rec.Version, nil
}

func (s *server) inboxResultView(r *http.Request) (*inboxResultView, error) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if (typ != "DiagnosticReport" && typ != "Observation") || !validID(id) {
		return nil, notFound
	}
	ctx := r.Context()
	res, _, err := s.deskRead(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	v := &inboxResultView{Ref: typ + "/" + id, Type: typ, ID: id, Name: resultConcept(res["code"]), Status: deskStr(res["status"]),
		Conclusion: deskStr(res["conclusion"])}
	v.PatientID = strings.TrimPrefix(deskStr(deskObj(res["subject"])["reference"]), "Patient/")
	when := deskStr(res["issued"])
	if when == "" {
		when = deskStr(res["effectiveDateTime"])
	}
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		when = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	v.When = when
	if validID(v.PatientID) {
		if p, _, err := s.deskRead(ctx, "Patient", v.PatientID); err == nil {
			v.PatientName = schedule.PersonName(p)
		}
	}
	obs := []map[string]any{res}
	if typ == "DiagnosticReport" {
		obs = nil
		for _, m := range deskList(res["result"]) {
			ref := deskStr(deskObj(m)["reference"])
			mt, mid, ok := strings.Cut(ref, "/")
			if !ok || mt != "Observation" || !validID(mid) {
				continue
			}
			o, _, err := s.deskRead(ctx, mt, mid)
			if err != nil {
				if errs.KindOf(err) == errs.NotFound || errs.KindOf(err) == errs.Gone {
					continue
				}
				return nil, err
			}
			obs = append(obs, o)
		}
	}
	seen := map[string]bool{}
	for _, o := range obs {
		v.Values = append(v.Values, resultValueOf(o))
		code := resultTrendCode(o)
		if code == "" || seen[code] || s.cfg.Chart == nil || !validID(v.PatientID) {
			continue
		}
		seen[code] = true
		series, err := s.cfg.Chart.Trend(ctx, v.PatientID, code)
		if err != nil {
			return nil, err
		}
		tv := resultTrendView{Name: deskNameOr(series.Name, resultConcept(o["code"])), Unit: series.Unit,
			SVG: template.HTML(chart.TrendSVG(series, chart.SVGOptions{ID: "trend-" + strconv.Itoa(len(v.Trends)),
				Title: "Trend of " + deskNameOr(series.Name, resultConcept(o["code"]))}))}
		for _, p := range series.Points {
			tv.Points = append(tv.Points, resultTrendPoint{Date: p.Time.UTC().Format("2006-01-02"), Value: p.Text, Flag: resultFlagWords(p.Flag)})
		}
		v.Trends = append(v.Trends, tv)
	}
	if v.Reviews, err = s.cfg.Inbox.Reviews(ctx, v.Ref); err != nil {
		return nil, err
	}
	for _, t := range deskList(deskObj(res["meta"])["tag"]) {
		if deskStr(deskObj(t)["system"]) == inbox.ReviewTagSystem && deskStr(deskObj(t)["code"]) == inbox.ReviewedTag {
			v.Reviewed = true
		}
	}
	v.MaySign = !v.Reviewed && (v.Status == "final" || v.Status == "amended" || v.Status == "corrected")
	return v, nil
}

func (s *server) inboxResultPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.inboxResultView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "inbox_result", page{Title: "Result: " + v.Name, Data: v, Form: url.Values{}})
	return nil
}

func (s *server) inboxSignOff(w http.ResponseWriter, r *http.Request) error {
	v, err := s.inboxResultView(r)
	if err != nil {
		return err
	}
	st := stateOf(r)
	note := strings.TrimSpace(r.PostForm.Get("note"))
	fe := map[string]string{}
	if len(note) > 2000 {
		fe["note"] = "Keep the note under 2,000 characters."
	}
	reviewer := st.user.FHIRUser
	if !strings.HasPrefix(reviewer, "Practitioner/") && !strings.HasPrefix(reviewer, "PractitionerRole/") {
		return errs.E(errs.Permission, "Signing off needs an account linked to a practitioner record; ask your administrator.")
	}
	p := page{Title: "Result: " + v.Name, Data: v, Form: url.Values{"note": {note}}, Errors: fe}
	if len(fe) == 0 {
		_, err := s.cfg.Inbox.SignOff(r.Context(), v.Ref, reviewer, note)
		if err == nil {
			s.flash(w, "Signed off: "+v.Name+" of "+deskNameOr(v.PatientName, "the patient")+".")
			http.Redirect(w, r, "/inbox?tab=results", http.StatusSeeOther)
			return nil
		}
		if errs.KindOf(err) != errs.Conflict && errs.KindOf(err) != errs.Invalid {
			return err
		}
		p.Error = "The result was not signed off: " + messageOf(err)
	} else {
		p.Error = "The result was not signed off: see the messages below."
	}
	s.render(w, r, http.StatusBadRequest, "inbox_result", p)
	return nil
}
