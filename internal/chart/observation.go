package chart

import (
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
)

// LOINC is the system of the codes the chart's rules name.
const LOINC = "http://loinc.org"

// Value is an observed value. Numeric values (valueQuantity, valueInteger)
// have Number set; Text is always what to show ("7.2 mmol/L", "Positive",
// "Never smoker").
type Value struct {
	Number     float64
	Numeric    bool
	Comparator string // "<", "<=", ">=", ">" of a Quantity, when given
	Unit       string // the unit as shown (Quantity.unit, else its code)
	UnitCode   string // system|code of a coded unit (UCUM), else ""
	Text       string
}

// Range is a reference range (Observation.referenceRange).
type Range struct {
	Low, High       float64
	HasLow, HasHigh bool
	Text            string
}

// IsZero reports whether no range was recorded.
func (r Range) IsZero() bool { return !r.HasLow && !r.HasHigh && r.Text == "" }

// Flags are the abnormal flags the views show (HL7 v3
// ObservationInterpretation, http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation).
const (
	FlagNormal       = "N"
	FlagHigh         = "H"
	FlagLow          = "L"
	FlagCriticalHigh = "HH"
	FlagCriticalLow  = "LL"
	FlagAbnormal     = "A"
)

// Abnormal reports whether a flag marks an abnormal value.
func Abnormal(flag string) bool { return flag != "" && flag != FlagNormal }

// Observation is the view of one Observation (or one component of it).
type Observation struct {
	ID         string
	Code       Concept
	Category   []string // category codes ("laboratory", "vital-signs")
	Status     string
	Effective  Date
	Value      Value
	Range      Range
	Flag       string // see the Flag constants; "" when nothing says
	Components []Observation
	Encounter  string // the Encounter id
	Note       string
	Source     Source
}

// HasValue reports whether a value was recorded.
func (o Observation) HasValue() bool { return o.Value.Text != "" }

func observation(r record) Observation {
	res := r.Res
	o := Observation{ID: r.ID, Code: concept(fhir.Obj(res["code"])), Status: fhir.Str(res["status"]), Effective: effective(res),
		Encounter: refID(ref(fhir.Obj(res["encounter"])).Reference, "Encounter")}
	for _, c := range concepts(res, "category") {
		for _, cd := range c.Codings {
			o.Category = append(o.Category, cd.Code)
		}
	}
	fillValue(&o, res)
	for _, comp := range objs(res, "component") {
		co := Observation{Code: concept(fhir.Obj(comp["code"])), Status: o.Status, Effective: o.Effective, Encounter: o.Encounter}
		fillValue(&co, comp)
		o.Components = append(o.Components, co)
	}
	for _, n := range objs(res, "note") {
		if t := fhir.Str(n["text"]); t != "" {
			o.Note = t
			break
		}
	}
	return o
}

// fillValue reads value[x], the first reference range and the
// interpretation of an Observation or a component; when no interpretation
// was recorded, the flag is computed from the range.
func fillValue(o *Observation, m map[string]any) {
	o.Value = value(m)
	if rr := objs(m, "referenceRange"); len(rr) > 0 {
		o.Range = refRange(rr[0])
	}
	o.Flag = interpretation(concepts(m, "interpretation"))
	if o.Flag == "" {
		o.Flag = computeFlag(o.Value, o.Range)
	}
}

func value(m map[string]any) Value {
	if q := fhir.Obj(m["valueQuantity"]); q != nil {
		return quantity(q)
	}
	if n, ok := number(m, "valueInteger"); ok {
		return Value{Number: n, Numeric: true, Text: numberText(m, "valueInteger")}
	}
	if c := fhir.Obj(m["valueCodeableConcept"]); c != nil {
		return Value{Text: concept(c).Text}
	}
	if s := fhir.Str(m["valueString"]); s != "" {
		return Value{Text: s}
	}
	if b, ok := boolean(m, "valueBoolean"); ok {
		if b {
			return Value{Text: "yes"}
		}
		return Value{Text: "no"}
	}
	if s := fhir.Str(m["valueDateTime"]); s != "" {
		return Value{Text: s}
	}
	if s := fhir.Str(m["valueTime"]); s != "" {
		return Value{Text: s}
	}
	if r := fhir.Obj(m["valueRange"]); r != nil {
		lo, hi := quantity(fhir.Obj(r["low"])), quantity(fhir.Obj(r["high"]))
		return Value{Text: strings.TrimSpace(lo.Text + " – " + hi.Text)}
	}
	if r := fhir.Obj(m["valueRatio"]); r != nil {
		n, d := quantity(fhir.Obj(r["numerator"])), quantity(fhir.Obj(r["denominator"]))
		return Value{Text: n.Text + " / " + d.Text}
	}
	if p := fhir.Obj(m["valuePeriod"]); p != nil {
		s, e := period(p)
		return Value{Text: s.Text + " – " + e.Text}
	}
	if da := fhir.Obj(m["dataAbsentReason"]); da != nil {
		return Value{Text: "(" + concept(da).Text + ")"}
	}
	return Value{}
}

func quantity(q map[string]any) Value {
	if q == nil {
		return Value{}
	}
	v := Value{Comparator: fhir.Str(q["comparator"]), Unit: fhir.Str(q["unit"])}
	code, system := fhir.Str(q["code"]), fhir.Str(q["system"])
	if v.Unit == "" {
		v.Unit = code
	}
	if code != "" {
		v.UnitCode = system + "|" + code
	}
	v.Number, v.Numeric = number(q, "value")
	num := numberText(q, "value")
	v.Text = strings.TrimSpace(v.Comparator + num + " " + displayUnit(v.Unit))
	return v
}

// displayUnit shows UCUM's annotation-only units ("{beats}/min") without
// braces, and leaves the unity "1" out.
func displayUnit(u string) string {
	if u == "1" {
		return ""
	}
	if strings.HasPrefix(u, "{") && strings.HasSuffix(u, "}") && strings.Count(u, "{") == 1 {
		return u[1 : len(u)-1]
	}
	return u
}

func refRange(m map[string]any) Range {
	r := Range{Text: fhir.Str(m["text"])}
	if lo := fhir.Obj(m["low"]); lo != nil {
		r.Low, r.HasLow = number(lo, "value")
	}
	if hi := fhir.Obj(m["high"]); hi != nil {
		r.High, r.HasHigh = number(hi, "value")
	}
	if r.Text == "" {
		switch {
		case r.HasLow && r.HasHigh:
			r.Text = fmtNum(r.Low) + "–" + fmtNum(r.High)
		case r.HasLow:
			r.Text = "≥ " + fmtNum(r.Low)
		case r.HasHigh:
			r.Text = "≤ " + fmtNum(r.High)
		}
	}
	return r
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// interpretation maps the recorded interpretation codes to the chart's
// flags: critical first, then high/low, then any other abnormal code.
func interpretation(cs []Concept) string {
	best := ""
	rank := map[string]int{"": 0, FlagNormal: 1, FlagAbnormal: 2, FlagLow: 3, FlagHigh: 3, FlagCriticalLow: 4, FlagCriticalHigh: 4}
	for _, c := range cs {
		for _, cd := range c.Codings {
			f := ""
			switch strings.ToUpper(cd.Code) {
			case "HH", "H>":
				f = FlagCriticalHigh
			case "LL", "L<":
				f = FlagCriticalLow
			case "H", "HU", ">":
				f = FlagHigh
			case "L", "LU", "<":
				f = FlagLow
			case "A", "AA", "POS", "DET", "R", "I", "RES":
				f = FlagAbnormal
			case "N", "NEG", "ND", "S":
				f = FlagNormal
			}
			if rank[f] > rank[best] {
				best = f
			}
		}
	}
	return best
}

// computeFlag compares a numeric value with its reference range. A value
// with a comparator ("<5") is compared only where the comparator cannot
// cross the bound. Critical flags (HH, LL) need a recorded
// interpretation: a reference range alone does not give critical limits.
func computeFlag(v Value, r Range) string {
	if !v.Numeric || (!r.HasLow && !r.HasHigh) {
		return ""
	}
	switch {
	case r.HasHigh && v.Number > r.High && v.Comparator != "<" && v.Comparator != "<=":
		return FlagHigh
	case r.HasLow && v.Number < r.Low && v.Comparator != ">" && v.Comparator != ">=":
		return FlagLow
	case v.Comparator == "":
		return FlagNormal
	}
	return ""
}

// hasCategory reports whether an observation carries a category code.
func (o Observation) hasCategory(code string) bool {
	for _, c := range o.Category {
		if c == code {
			return true
		}
	}
	return false
}

// codeKey is how observations are grouped by code: the LOINC code when
// there is one, else the first system|code, else the text.
func codeKey(c Concept) string {
	if l := c.Code(LOINC); l != "" {
		return LOINC + "|" + l
	}
	if len(c.Codings) > 0 {
		return c.Codings[0].System + "|" + c.Codings[0].Code
	}
	return "text:" + c.Text
}
