package chart

import "slices"

// Vital is the latest value of one vital sign.
type Vital struct {
	Name string // "Blood pressure", "Heart rate"...
	Code string // the LOINC code the value was found under
	// Value is the value; for blood pressure it is systolic/diastolic
	// ("128/84 mm[Hg]") and Systolic and Diastolic hold the two parts.
	Value         Value
	Systolic      *Value
	Diastolic     *Value
	Flag          string
	Effective     Date
	ObservationID string
}

// vitalSign is one row of the vitals table: the LOINC codes that give it,
// in order of preference when several are recorded at the same time.
type vitalSign struct {
	name  string
	codes []string
}

// VitalSigns are the vitals the summary shows, in this order, by LOINC
// code (FHIR R4 vital signs profile, https://hl7.org/fhir/R4/observation-vitalsigns.html).
var vitalSigns = []vitalSign{
	{"Blood pressure", []string{"85354-9"}}, // systolic 8480-6 and diastolic 8462-4 as components, or alone
	{"Heart rate", []string{"8867-4"}},
	{"Respiratory rate", []string{"9279-1"}},
	{"Body temperature", []string{"8310-5"}},
	{"Oxygen saturation", []string{"2708-6", "59408-5"}},
	{"Body weight", []string{"29463-7"}},
	{"Body height", []string{"8302-2"}},
	{"BMI", []string{"39156-5"}},
}

const (
	loincBP        = "85354-9"
	loincSystolic  = "8480-6"
	loincDiastolic = "8462-4"
)

// newer reports whether observation a is to be preferred to b as the
// latest: a later effective time, then (for identical times) the greater
// id, so that the choice does not depend on the order of the search.
func newer(a, b Observation) bool {
	return newestFirst(a.Effective, b.Effective, b.ID, a.ID) < 0
}

// latestVitals returns the latest value of each vital sign that has one.
// Blood pressure comes from the newest panel (85354-9) or the newest
// systolic and diastolic observations (or components) of the same time.
func latestVitals(obs []Observation) []Vital {
	byCode := map[string]Observation{}
	note := func(code string, o Observation) {
		if cur, ok := byCode[code]; !ok || newer(o, cur) {
			byCode[code] = o
		}
	}
	for _, o := range obs {
		if !o.HasValue() && len(o.Components) == 0 {
			continue
		}
		for _, code := range o.Code.In(LOINC) {
			note(code.Code, o)
		}
		// Components (the parts of a blood pressure panel) count as
		// observations of their own codes.
		for _, c := range o.Components {
			if !c.HasValue() {
				continue
			}
			c.ID = o.ID
			for _, code := range c.Code.In(LOINC) {
				note(code.Code, c)
			}
		}
	}
	var out []Vital
	for _, vs := range vitalSigns {
		if vs.codes[0] == loincBP {
			if v, ok := bloodPressure(byCode); ok {
				out = append(out, v)
			}
			continue
		}
		var best *Observation
		var bestCode string
		for _, code := range vs.codes {
			if o, ok := byCode[code]; ok && o.Value.Numeric && (best == nil || newer(o, *best)) {
				o := o
				best, bestCode = &o, code
			}
		}
		if best != nil {
			out = append(out, Vital{Name: vs.name, Code: bestCode, Value: best.Value, Flag: best.Flag, Effective: best.Effective, ObservationID: best.ID})
		}
	}
	return out
}

// bloodPressure takes the newest systolic and diastolic values (from a
// panel's components or standalone observations); both must be of the
// same time to be shown together.
func bloodPressure(byCode map[string]Observation) (Vital, bool) {
	sys, okS := byCode[loincSystolic]
	dia, okD := byCode[loincDiastolic]
	if !okS && !okD {
		return Vital{}, false
	}
	v := Vital{Name: "Blood pressure", Code: loincBP}
	switch {
	case okS && okD && sys.Effective.Time.Equal(dia.Effective.Time):
		v.Systolic, v.Diastolic = &sys.Value, &dia.Value
		v.Value = Value{Text: fmtValue(sys.Value) + "/" + fmtValue(dia.Value) + " " + displayUnit(sys.Value.Unit), Unit: sys.Value.Unit}
		v.Effective, v.ObservationID = sys.Effective, sys.ID
		v.Flag = worst(sys.Flag, dia.Flag)
	case okS && (!okD || newer(sys, dia)):
		v.Systolic, v.Value, v.Effective, v.ObservationID, v.Flag = &sys.Value, Value{Text: fmtValue(sys.Value) + "/– " + displayUnit(sys.Value.Unit)}, sys.Effective, sys.ID, sys.Flag
		v.Code = loincSystolic
	default:
		v.Diastolic, v.Value, v.Effective, v.ObservationID, v.Flag = &dia.Value, Value{Text: "–/" + fmtValue(dia.Value) + " " + displayUnit(dia.Value.Unit)}, dia.Effective, dia.ID, dia.Flag
		v.Code = loincDiastolic
	}
	return v, true
}

// fmtValue writes the number of a value without its unit.
func fmtValue(v Value) string {
	if !v.Numeric {
		return v.Text
	}
	return v.Comparator + fmtNum(v.Number)
}

// worst returns the more severe of two flags.
func worst(a, b string) string {
	rank := func(f string) int {
		return slices.Index([]string{"", FlagNormal, FlagAbnormal, FlagLow, FlagHigh, FlagCriticalLow, FlagCriticalHigh}, f)
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// latestByCode keeps the newest observation of each code among those that
// pass keep, newest first.
func latestByCode(obs []Observation, keep func(Observation) bool) []Observation {
	best := map[string]Observation{}
	for _, o := range obs {
		if !keep(o) || (!o.HasValue() && len(o.Components) == 0) {
			continue
		}
		k := codeKey(o.Code)
		if cur, ok := best[k]; !ok || newer(o, cur) {
			best[k] = o
		}
	}
	out := make([]Observation, 0, len(best))
	for _, o := range best {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Observation) int {
		if c := newestFirst(a.Effective, b.Effective, "", ""); c != 0 {
			return c
		}
		if a.Code.Text != b.Code.Text {
			if a.Code.Text < b.Code.Text {
				return -1
			}
			return 1
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// socialCodes are LOINC codes of social history that some systems record
// under another category (Synthea files smoking status under "survey").
var socialCodes = map[string]bool{
	"72166-2": true, // Tobacco smoking status
	"11367-0": true, // History of tobacco use
	"74013-4": true, // Alcoholic drinks per day
	"11331-6": true, // History of alcohol use
	"68516-4": true, // Minutes of moderate to strenuous exercise per day
}

// isSocial: category social-history, or a code of socialCodes.
func isSocial(o Observation) bool {
	if o.hasCategory("social-history") {
		return true
	}
	for _, c := range o.Code.In(LOINC) {
		if socialCodes[c.Code] {
			return true
		}
	}
	return false
}

// isLab: category laboratory.
func isLab(o Observation) bool { return o.hasCategory("laboratory") }
