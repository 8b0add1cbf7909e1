package chart

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

// These helpers read parsed FHIR JSON (fhir.Parse: objects are
// map[string]any, numbers json.Number), beside fhir.Obj, fhir.List and
// fhir.Str. Absent or mistyped elements read as zero values: the views show
// what is there and skip what is not.

func objs(m map[string]any, k string) []map[string]any {
	a := fhir.List(m[k])
	out := make([]map[string]any, 0, len(a))
	for _, x := range a {
		if o, ok := x.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func boolean(m map[string]any, k string) (value, ok bool) {
	v, ok := m[k].(bool)
	return v, ok
}

func number(m map[string]any, k string) (float64, bool) {
	switch v := m[k].(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	}
	return 0, false
}

// numberText keeps a decimal as it was written ("1.50" stays "1.50").
func numberText(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// Coding is one code of a CodeableConcept.
type Coding struct {
	System  string
	Code    string
	Display string
}

// Concept is a CodeableConcept: its text (or the first display, or the
// first code, so that there is always something to show) and its codings.
type Concept struct {
	Text    string
	Codings []Coding
}

// Code returns the code of the first coding of system, or "".
func (c Concept) Code(system string) string {
	for _, cd := range c.Codings {
		if cd.System == system {
			return cd.Code
		}
	}
	return ""
}

// Has reports whether the concept holds code in system.
func (c Concept) Has(system, code string) bool {
	for _, cd := range c.Codings {
		if cd.System == system && cd.Code == code {
			return true
		}
	}
	return false
}

// In returns the codings of system.
func (c Concept) In(system string) []Coding {
	var out []Coding
	for _, cd := range c.Codings {
		if cd.System == system {
			out = append(out, cd)
		}
	}
	return out
}

func concept(m map[string]any) Concept {
	if m == nil {
		return Concept{}
	}
	c := Concept{Text: fhir.Str(m["text"])}
	for _, cd := range objs(m, "coding") {
		c.Codings = append(c.Codings, Coding{System: fhir.Str(cd["system"]), Code: fhir.Str(cd["code"]), Display: fhir.Str(cd["display"])})
	}
	if c.Text == "" {
		for _, cd := range c.Codings {
			if cd.Display != "" {
				c.Text = cd.Display
				break
			}
		}
	}
	if c.Text == "" && len(c.Codings) > 0 {
		c.Text = c.Codings[0].Code
	}
	return c
}

func concepts(m map[string]any, k string) []Concept {
	var out []Concept
	for _, o := range objs(m, k) {
		out = append(out, concept(o))
	}
	return out
}

// firstCode returns the code of the first coding of a CodeableConcept
// element (status elements such as Condition.clinicalStatus).
func firstCode(m map[string]any, k string) string {
	for _, cd := range objs(fhir.Obj(m[k]), "coding") {
		if c := fhir.Str(cd["code"]); c != "" {
			return c
		}
	}
	return ""
}

// Ref is a Reference: the literal reference ("Practitioner/12") and its display.
type Ref struct {
	Reference string
	Display   string
}

// Label returns what to show for the reference.
func (r Ref) Label() string {
	if r.Display != "" {
		return r.Display
	}
	return r.Reference
}

func ref(m map[string]any) Ref {
	if m == nil {
		return Ref{}
	}
	r := Ref{Reference: fhir.Str(m["reference"]), Display: fhir.Str(m["display"])}
	if r.Display == "" {
		if id := fhir.Obj(m["identifier"]); id != nil {
			r.Display = fhir.Str(id["value"])
		}
	}
	return r
}

// refType returns the resource type of a relative literal reference.
func refType(reference string) string {
	typ, _, _ := strings.Cut(reference, "/")
	return typ
}

// refID returns the id of a relative literal reference of type typ, or "".
func refID(reference, typ string) string {
	rest, ok := strings.CutPrefix(reference, typ+"/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// Date is a FHIR date or dateTime as recorded: Time is its start (in the
// offset it was written with; midnight UTC for dates without a time) and
// Text the value as written, so that "2019" is shown as "2019", not as a
// made-up day.
type Date struct {
	Time time.Time
	Text string
}

// IsZero reports whether no date was recorded.
func (d Date) IsZero() bool { return d.Text == "" }

// Day returns the date part as written ("2019-03-04"), or less when the
// value was less precise.
func (d Date) Day() string {
	if len(d.Text) > 10 {
		return d.Text[:10]
	}
	return d.Text
}

var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"}

// parseDate reads a FHIR date, dateTime or instant
// (https://hl7.org/fhir/R4/datatypes.html#dateTime). An unreadable value
// keeps its text with a zero Time.
func parseDate(s string) Date {
	if s == "" {
		return Date{}
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return Date{Time: t, Text: s}
		}
	}
	return Date{Text: s}
}

// period reads a Period's start and end.
func period(m map[string]any) (start, end Date) {
	return parseDate(fhir.Str(m["start"])), parseDate(fhir.Str(m["end"]))
}

// effective reads the clinically relevant time of an event resource: its
// effective[x] (a Period counts from its start, or its end when it has no
// start), else issued.
func effective(r map[string]any) Date {
	if s := fhir.Str(r["effectiveDateTime"]); s != "" {
		return parseDate(s)
	}
	if s := fhir.Str(r["effectiveInstant"]); s != "" {
		return parseDate(s)
	}
	if p := fhir.Obj(r["effectivePeriod"]); p != nil {
		start, end := period(p)
		if !start.IsZero() {
			return start
		}
		return end
	}
	return parseDate(fhir.Str(r["issued"]))
}

// after orders dates newest first, undated last.
func after(a, b Date) bool {
	if a.Time.IsZero() != b.Time.IsZero() {
		return !a.Time.IsZero()
	}
	return a.Time.After(b.Time)
}
