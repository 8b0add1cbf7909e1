package chart

import (
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

// Immunization is the latest dose given of one vaccine.
type Immunization struct {
	ID      string
	Vaccine Concept
	CVX     string
	Date    Date // occurrence
	Doses   int  // doses of this vaccine recorded
	Lot     string
	Source  Source
}

// given lists, per vaccine (CVX code, else the vaccine's code), the latest
// completed dose, newest first. Doses not given (status not-done) are left
// out.
func given(recs []record, src *sourcer) []Immunization {
	latest := map[string]*Immunization{}
	var keys []string
	for _, r := range recs {
		if fhir.Str(r.Res["status"]) != "completed" {
			continue
		}
		vc := concept(fhir.Obj(r.Res["vaccineCode"]))
		im := Immunization{ID: r.ID, Vaccine: vc, CVX: vc.Code(CVX), Date: occurrence(r.Res), Lot: fhir.Str(r.Res["lotNumber"]), Source: src.of(r)}
		k := "cvx|" + im.CVX
		if im.CVX == "" {
			k = codeKey(vc)
		}
		cur, ok := latest[k]
		if !ok {
			keys = append(keys, k)
			im.Doses = 1
			latest[k] = &im
			continue
		}
		im.Doses = cur.Doses + 1
		if newestFirst(im.Date, cur.Date, im.ID, cur.ID) < 0 {
			*cur = im
		} else {
			cur.Doses = im.Doses
		}
	}
	out := make([]Immunization, 0, len(keys))
	for _, k := range keys {
		out = append(out, *latest[k])
	}
	slices.SortStableFunc(out, func(a, b Immunization) int { return newestFirst(a.Date, b.Date, a.ID, b.ID) })
	return out
}

func occurrence(res map[string]any) Date {
	if s := fhir.Str(res["occurrenceDateTime"]); s != "" {
		return parseDate(s)
	}
	return Date{Text: fhir.Str(res["occurrenceString"])}
}

// Due is an immunization the starter rules say is due.
type Due struct {
	Vaccine string // the vaccine group
	Reason  string // why, in words
	Last    Date   // the last dose of the group, if any
}

// vaccineGroup is one group of the due rules: the CVX codes that count
// (CDC's CVX vaccine groups, ../shared/data/terminology/cvx).
type vaccineGroup struct {
	name  string
	codes map[string]bool
}

func cvxSet(codes string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}

var (
	influenza = vaccineGroup{"Influenza", cvxSet("15 16 88 111 135 140 141 144 149 150 151 153 155 158 161 166 168 171 185 186 194 197 200 201 202 205 231 320 331 333")}
	// Td and Tdap: the CVX group Td (139) and Tdap (115).
	tetanus      = vaccineGroup{"Td/Tdap", cvxSet("09 35 113 115 138 139 195 196")}
	pneumococcal = vaccineGroup{"Pneumococcal", cvxSet("33 100 109 133 152 177 215 216 327")}
	// Recombinant zoster only: the live vaccine (121) is no longer
	// recommended and does not replace it.
	zosterRecombinant = vaccineGroup{"Zoster (recombinant)", cvxSet("187")}
)

// due applies the starter rule set (docs/CHART.md, "Immunizations due"):
//   - influenza: from 6 months of age, one dose per season; due when no
//     dose was given since 1 August of the current season;
//   - Td/Tdap: from 19 years, a booster every 10 years; due when the last
//     dose is older than 10 years or none is recorded;
//   - pneumococcal: from 50 years, due when no pneumococcal vaccine is
//     recorded;
//   - recombinant zoster: from 50 years, two doses; due while fewer than
//     two are recorded.
//
// COVID-19 and the childhood schedule are not computed: doses are shown as
// recorded. Nothing is due for a deceased patient or without a birth date.
func due(b Banner, recs []record, now time.Time) []Due {
	if b.Deceased || b.BirthDate.Time.IsZero() {
		return nil
	}
	last := func(g vaccineGroup) (Date, int) {
		var d Date
		n := 0
		for _, r := range recs {
			if fhir.Str(r.Res["status"]) != "completed" {
				continue
			}
			if !g.codes[concept(fhir.Obj(r.Res["vaccineCode"])).Code(CVX)] {
				continue
			}
			n++
			if od := occurrence(r.Res); after(od, d) || d.IsZero() {
				d = od
			}
		}
		return d, n
	}
	var out []Due
	birth := b.BirthDate.Time
	if !birth.AddDate(0, 6, 0).After(now) {
		season := time.Date(now.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
		if now.Before(season) {
			season = season.AddDate(-1, 0, 0)
		}
		if d, _ := last(influenza); d.Time.Before(season) {
			out = append(out, Due{Vaccine: influenza.name, Reason: "no dose this season (since " + season.Format("2 Jan 2006") + ")", Last: d})
		}
	}
	if b.AgeYears >= 19 {
		if d, n := last(tetanus); n == 0 || d.Time.AddDate(10, 0, 0).Before(now) {
			reason := "no Td/Tdap recorded"
			if n > 0 {
				reason = "last dose more than 10 years ago"
			}
			out = append(out, Due{Vaccine: tetanus.name, Reason: reason, Last: d})
		}
	}
	if b.AgeYears >= 50 {
		if d, n := last(pneumococcal); n == 0 {
			out = append(out, Due{Vaccine: pneumococcal.name, Reason: "no pneumococcal vaccine recorded (adults 50 and older)", Last: d})
		}
		if d, n := last(zosterRecombinant); n < 2 {
			reason := "no dose recorded (2-dose series from 50 years)"
			if n == 1 {
				reason = "second dose of the 2-dose series"
			}
			out = append(out, Due{Vaccine: zosterRecombinant.name, Reason: reason, Last: d})
		}
	}
	return out
}
