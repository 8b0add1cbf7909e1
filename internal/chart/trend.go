package chart

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
)

// Series is the trend of one numeric observation code.
type Series struct {
	Code   string // system|code
	Name   string
	Unit   string // the unit of every point, as shown
	Points []Point
	// Range is the reference range of the newest point that has one (the
	// chart's band).
	Range Range
	// Left out: values that are not numbers, points without a date, and
	// values in another unit than the newest one (units are not
	// converted: mixing them would draw wrong lines).
	NonNumeric int
	Undated    int
	OtherUnits map[string]int
}

// Point is one value of a series.
type Point struct {
	Time          time.Time
	Date          Date
	Value         float64
	Text          string // the value as recorded, with its comparator
	Range         Range
	Flag          string
	ObservationID string
}

// maxCodeLen bounds the code parameter.
const maxCodeLen = 256

// Trend reads the series of one observation code: every Observation of
// the patient whose code, or one of whose components' codes, is code
// (one search, combo-code, oldest first). A code without a system is a
// LOINC code ("8480-6"); "system|code" names another system.
func (c *Chart) Trend(ctx context.Context, patientID, code string) (*Series, error) {
	const op = "chart trend"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, patientID); err != nil {
		return nil, err
	}
	system, value, err := parseCode(code)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err.Error(),
			errs.Issue{Severity: "error", Code: "value", Diagnostics: err.Error(), Expression: []string{"code"}})
	}
	q, err := c.compile(op, "Observation", url.Values{
		"patient":    {"Patient/" + patientID},
		"combo-code": {escapeToken(system) + "|" + escapeToken(value)},
		"_sort":      {"date"},
	})
	if err != nil {
		return nil, err
	}
	q.Count = 0
	var recs records
	err = parallel(2, func(i int) error {
		if i == 0 {
			_, err := c.readPatient(ctx, patientID)
			return err
		}
		res, err := c.repo.Search(ctx, q)
		if err == nil {
			recs, err = group(res.Records)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return series(system, value, recs["Observation"]), nil
}

// parseCode reads "code" (LOINC) or "system|code".
func parseCode(s string) (system, code string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", fmt.Errorf("a code is needed, such as the LOINC code 8480-6")
	case len(s) > maxCodeLen:
		return "", "", fmt.Errorf("the code is longer than %d characters", maxCodeLen)
	case strings.ContainsAny(s, " \t\r\n,"):
		return "", "", fmt.Errorf("%q is not a code: codes have no spaces or commas", s)
	}
	system, code, ok := strings.Cut(s, "|")
	if !ok {
		return LOINC, s, nil
	}
	if system == "" || code == "" {
		return "", "", fmt.Errorf("%q is not system|code", s)
	}
	return system, code, nil
}

// escapeToken escapes the characters FHIR search gives meaning to
// (https://hl7.org/fhir/R4/search.html#escaping).
func escapeToken(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, `$`, `\$`, `,`, `\,`).Replace(s)
}

// series builds the points: the value of each observation of the code and
// of each component of the code, oldest first.
func series(system, code string, recs []record) *Series {
	s := &Series{Code: system + "|" + code, OtherUnits: map[string]int{}}
	type cand struct {
		p    Point
		unit string
		key  string
	}
	var cands []cand
	for _, r := range recs {
		if fhir.Str(r.Res["status"]) == "cancelled" {
			continue
		}
		o := observation(r)
		parts := []Observation{}
		if o.Code.Has(system, code) {
			parts = append(parts, o)
		}
		for _, comp := range o.Components {
			if comp.Code.Has(system, code) {
				parts = append(parts, comp)
			}
		}
		for _, p := range parts {
			if s.Name == "" || p.Code.Text != "" && len(p.Code.Text) < len(s.Name) {
				s.Name = p.Code.Text
			}
			switch {
			case !p.Value.Numeric:
				s.NonNumeric++
				continue
			case o.Effective.Time.IsZero():
				s.Undated++
				continue
			}
			key := p.Value.UnitCode
			if key == "" {
				key = "|" + p.Value.Unit
			}
			cands = append(cands, cand{Point{Time: o.Effective.Time, Date: o.Effective, Value: p.Value.Number, Text: p.Value.Text,
				Range: p.Range, Flag: p.Flag, ObservationID: r.ID}, p.Value.Unit, key})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if c := a.p.Time.Compare(b.p.Time); c != 0 {
			return c
		}
		return strings.Compare(a.p.ObservationID, b.p.ObservationID)
	})
	if len(cands) == 0 {
		return s
	}
	// Units: the newest point's unit wins; points in any other unit are
	// counted, not drawn.
	want := cands[len(cands)-1]
	s.Unit = want.unit
	for _, c := range cands {
		if c.key != want.key {
			s.OtherUnits[c.unit]++
			continue
		}
		s.Points = append(s.Points, c.p)
	}
	for i := len(s.Points) - 1; i >= 0; i-- {
		if !s.Points[i].Range.IsZero() {
			s.Range = s.Points[i].Range
			break
		}
	}
	return s
}
