package demo

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

var (
	catVitals = code{tho + "observation-category", "vital-signs", "Vital Signs"}
	catLab    = code{tho + "observation-category", "laboratory", "Laboratory"}
	catSocial = code{tho + "observation-category", "social-history", "Social History"}
	catExam   = code{tho + "observation-category", "exam", "Exam"}
)

// observation starts an Observation recorded at encounter e.
func (c *chart) observation(e *enc, suffix string, cat code, t time.Time, text string, codes ...code) map[string]any {
	r := resource("Observation", e.id+"-"+suffix)
	r["status"] = "final"
	r["category"] = concepts(concept("", cat))
	r["code"] = concept(text, codes...)
	r["subject"] = c.patientRef()
	r["encounter"] = ref("Encounter", e.id, "")
	r["effectiveDateTime"] = dateTime(t)
	r["performer"] = arr(e.by.ref())
	return r
}

// value draws the patient's value of key at encounter e: a story override,
// the story's curve, or else the population default.
func (c *chart) value(e *enc, key string, def float64, sd float64) float64 {
	if v, ok := e.set[key]; ok {
		return v
	}
	if cv, ok := c.p.curves[key]; ok {
		return cv.at(c.agoOf(e.start)) + c.rng.NormFloat64()*cv.sd
	}
	return def + c.rng.NormFloat64()*sd
}

func round(v float64, dec int) float64 {
	p := math.Pow(10, float64(dec))
	return math.Round(v*p) / p
}

// vitalSigns records the vital signs taken at the start of a visit, by age
// (https://hl7.org/fhir/R4/observation-vitalsigns.html).
func (c *chart) vitalSigns(e *enc) {
	t := e.start.Add(5 * time.Minute)
	// Age by the story's day, not the weekday the visit moved to, so that
	// what is measured at a visit does not change with the calendar.
	age := c.p.ageDays - e.ago
	vq := func(key string, v float64) {
		vt := vitals[key]
		r := c.observation(e, key, catVitals, t, "", code{sysLOINC, vt.loinc, vt.display})
		r["valueQuantity"] = quantity(v, vt.dec, vt.unit, vt.ucum)
		c.emit(r)
	}
	weight := round(c.value(e, "weight", 70, 0.4), 1)
	height := round(c.value(e, "height", 170, 0.2), 1)
	if age >= years(3) {
		sbp := round(c.value(e, "sbp", 118, 5), 0)
		dbp := round(c.value(e, "dbp", 76, 4), 0)
		r := c.observation(e, "bp", catVitals, t, "Blood pressure", code{sysLOINC, "85354-9", "Blood pressure panel with all children optional"})
		r["component"] = arr(
			map[string]any{"code": concept("", code{sysLOINC, "8480-6", "Systolic blood pressure"}), "valueQuantity": quantity(sbp, 0, "mm[Hg]", "mm[Hg]")},
			map[string]any{"code": concept("", code{sysLOINC, "8462-4", "Diastolic blood pressure"}), "valueQuantity": quantity(dbp, 0, "mm[Hg]", "mm[Hg]")},
		)
		c.emit(r)
		e.summary = append(e.summary, fmt.Sprintf("BP %.0f/%.0f mmHg", sbp, dbp))
	}
	hr := round(c.value(e, "hr", 74, 5), 0)
	vq("hr", hr)
	vq("rr", round(c.value(e, "rr", 16, 1), 0))
	temp := round(c.value(e, "temp", 36.8, 0.15), 1)
	vq("temp", temp)
	spo2 := round(min(100, c.value(e, "spo2", 98, 0.6)), 0)
	r := c.observation(e, "spo2", catVitals, t, "Oxygen saturation", code{sysLOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"}, code{sysLOINC, "2708-6", "Oxygen saturation in Arterial blood"})
	r["valueQuantity"] = quantity(spo2, 0, "%", "%")
	c.emit(r)
	vq("weight", weight)
	vq("height", height)
	e.summary = append(e.summary, fmt.Sprintf("HR %.0f/min", hr), fmt.Sprintf("T %.1f C", temp), fmt.Sprintf("SpO2 %.0f%%", spo2), fmt.Sprintf("Wt %.1f kg", weight))
	if age >= years(2) {
		bmi := round(weight/(height/100*height/100), 1)
		vq("bmi", bmi)
		e.summary = append(e.summary, fmt.Sprintf("BMI %.1f", bmi))
		if _, ok := c.p.curves["bmipct"]; ok && age < years(20) {
			vq("bmipct", round(c.value(e, "bmipct", 50, 3), 0))
		}
	}
}

// socialHistory records tobacco smoking status (US Core, LOINC 72166-2) at
// check-ups, first prenatal visits and tobacco-related visits.
func (c *chart) socialHistory(e *enc) {
	if c.p.smoking == "" {
		return
	}
	if e.kind != "checkup" && e.kind != "prenatal1" && e.reason != "copd" && e.reason != "nicotine" {
		return
	}
	r := c.observation(e, "smoking", catSocial, e.start.Add(10*time.Minute), "", code{sysLOINC, "72166-2", "Tobacco smoking status"})
	r["valueCodeableConcept"] = concept("", smoking[c.p.smoking])
	c.emit(r)
}

// pregnancy records pregnancy status, dating and fetal heart tones.
func (c *chart) pregnancy(e *enc) {
	t := e.start.Add(10 * time.Minute)
	gaDays := c.p.lmpAgo - c.agoOf(e.start)
	lmp := c.day0.AddDate(0, 0, -c.p.lmpAgo)
	r := c.observation(e, "pregnancy", catSocial, t, "", code{sysLOINC, "82810-3", "Pregnancy status"})
	r["valueCodeableConcept"] = concept("", pregnant)
	c.emit(r)
	r = c.observation(e, "edd", catExam, t, "", code{sysLOINC, "11778-8", "Delivery date Estimated"})
	r["valueDateTime"] = date(lmp.AddDate(0, 0, 280))
	c.emit(r)
	r = c.observation(e, "ga", catExam, t, "", code{sysLOINC, "49051-6", "Gestational age in weeks"})
	r["valueQuantity"] = quantity(float64(gaDays)/7, 1, "wk", "wk")
	c.emit(r)
	e.summary = append(e.summary, fmt.Sprintf("GA %dw%dd", gaDays/7, gaDays%7))
	if gaDays >= 12*7 {
		fhr := round(158-float64(gaDays)/14+c.rng.NormFloat64()*4, 0)
		r = c.observation(e, "fhr", catExam, t, "", code{sysLOINC, "55283-6", "Fetal Heart rate"})
		r["valueQuantity"] = quantity(fhr, 0, "/min", "/min")
		c.emit(r)
		e.summary = append(e.summary, fmt.Sprintf("FHR %.0f/min", fhr))
	}
}

var interp = map[string]code{
	"H":   {tho + "v3-ObservationInterpretation", "H", "High"},
	"L":   {tho + "v3-ObservationInterpretation", "L", "Low"},
	"N":   {tho + "v3-ObservationInterpretation", "N", "Normal"},
	"POS": {tho + "v3-ObservationInterpretation", "POS", "Positive"},
	"NEG": {tho + "v3-ObservationInterpretation", "NEG", "Negative"},
}

// labPanel records one order's results and the DiagnosticReport that groups
// them (US Core Laboratory Result Observation and DiagnosticReport). The
// clinic's laboratory performs them; the clinician interprets them.
func (c *chart) labPanel(e *enc, key string) {
	pn := panels[key]
	drawn := e.start.Add(15 * time.Minute)
	issued := drawn.Add(4 * time.Hour)
	e.lastResult = issued
	vals := c.labValues(e, pn)
	var results []any
	for _, k := range pn.items {
		var r map[string]any
		switch {
		case analytes[k].key != "":
			r = c.quantitative(e, analytes[k], vals[k], drawn)
		case qualitatives[k].key != "":
			r = c.qualitative(e, qualitatives[k], drawn)
		default:
			ty := typing[k]
			r = c.observation(e, k, catLab, drawn, "", code{sysLOINC, ty.loinc, ty.display})
			v := c.p.bloodType[0]
			if k == "rh" {
				v = c.p.bloodType[1]
			}
			r["valueCodeableConcept"] = concept(v)
		}
		r["issued"] = dateTime(issued)
		r["performer"] = arr(orgRef())
		c.emit(r)
		results = append(results, ref("Observation", fhir.IDOf(r), ""))
	}
	r := resource("DiagnosticReport", e.id+"-"+key)
	r["status"] = "final"
	r["category"] = concepts(concept("", code{tho + "v2-0074", "LAB", "Laboratory"}))
	r["code"] = concept("", code{sysLOINC, pn.loinc, pn.display})
	r["subject"] = c.patientRef()
	r["encounter"] = ref("Encounter", e.id, "")
	r["effectiveDateTime"] = dateTime(drawn)
	r["issued"] = dateTime(issued)
	r["performer"] = arr(orgRef())
	r["resultsInterpreter"] = arr(e.by.ref())
	r["result"] = results
	c.emit(r)
}

// labValues draws a panel's numeric results, keeping derived results
// consistent with what they derive from.
func (c *chart) labValues(e *enc, pn panel) map[string]float64 {
	vals := map[string]float64{}
	for _, k := range pn.items {
		if a, ok := analytes[k]; ok {
			mean := a.mean
			if c.p.gender == "female" && a.meanF != 0 {
				mean = a.meanF
			}
			vals[k] = max(round(c.value(e, k, mean, a.sd), a.dec), 0)
		}
	}
	if _, ok := vals["chol"]; ok { // Friedewald: LDL = TC - HDL - TG/5
		vals["chol"] = round(vals["ldl"]+vals["hdl"]+vals["trig"]/5, 0)
	}
	if inr, ok := vals["inr"]; ok {
		vals["pt"] = round(inr*11.2+c.rng.NormFloat64()*0.3, 1)
	}
	if _, ok := vals["hct"]; ok {
		vals["hct"] = round(vals["hgb"]*2.98+c.rng.NormFloat64()*0.5, 1)
	}
	return vals
}

// qualitative reports the expected answer unless the story sets the test to
// 1 (positive) at this visit.
func (c *chart) qualitative(e *enc, q qualitative, drawn time.Time) map[string]any {
	r := c.observation(e, q.key, catLab, drawn, "", code{sysLOINC, q.loinc, q.display})
	ans, flag := q.normal, "NEG"
	if e.set[q.key] == 1 {
		ans, flag = positive, "POS"
	}
	r["valueCodeableConcept"] = concept("", ans)
	r["interpretation"] = concepts(concept("", interp[flag]))
	e.results = append(e.results, fmt.Sprintf("%s %s", q.display, ans.display))
	return r
}

func (c *chart) quantitative(e *enc, a analyte, v float64, drawn time.Time) map[string]any {
	r := c.observation(e, a.key, catLab, drawn, "", code{sysLOINC, a.loinc, a.display})
	r["valueQuantity"] = quantity(v, a.dec, a.unit, a.ucum)
	low, high := a.low, a.high
	if c.p.gender == "female" && (a.lowF != 0 || a.highF != 0) {
		low, high = a.lowF, a.highF
	}
	rr := map[string]any{"type": concept("", code{tho + "referencerange-meaning", "normal", "Normal Range"})}
	var text []string
	if low > 0 {
		rr["low"] = quantity(low, a.dec, a.unit, a.ucum)
		text = append(text, fmt.Sprintf(">= %s", num(low, a.dec)))
	}
	if high > 0 {
		rr["high"] = quantity(high, a.dec, a.unit, a.ucum)
		text = append(text, fmt.Sprintf("<= %s", num(high, a.dec)))
	}
	rr["text"] = strings.Join(text, " and ") + " " + a.unit
	ranges := arr(rr)
	if a.key == "inr" && c.p.warfarin {
		ranges = append(ranges, map[string]any{
			"low": quantity(2, 1, a.unit, a.ucum), "high": quantity(3, 1, a.unit, a.ucum),
			"type": concept("", code{tho + "referencerange-meaning", "therapeutic", "Therapeutic Desired Level"}),
			"text": "2.0-3.0 on warfarin for atrial fibrillation",
		})
	}
	r["referenceRange"] = ranges
	flag := "N"
	switch {
	case low > 0 && v < low:
		flag = "L"
	case high > 0 && v > high:
		flag = "H"
	}
	r["interpretation"] = concepts(concept("", interp[flag]))
	if flag != "N" || inNote[a.key] {
		e.results = append(e.results, fmt.Sprintf("%s %s %s%s", shortName(a), num(v, a.dec), a.unit, map[string]string{"H": " (H)", "L": " (L)", "N": ""}[flag]))
	}
	return r
}

// inNote lists the results a note quotes even when normal.
var inNote = map[string]bool{"hba1c": true, "inr": true, "ldl": true, "gct": true, "bnp": true, "uacr": true, "tsh": true, "rubella": true}

var shortNames = map[string]string{
	"hba1c": "HbA1c", "glucose": "Glucose", "bun": "BUN", "creatinine": "Creatinine", "sodium": "Sodium",
	"potassium": "Potassium", "chloride": "Chloride", "co2": "CO2", "calcium": "Calcium",
	"chol": "Total cholesterol", "trig": "Triglycerides", "hdl": "HDL", "ldl": "LDL",
	"wbc": "WBC", "rbc": "RBC", "hgb": "Hemoglobin", "hct": "Hematocrit", "mcv": "MCV", "plt": "Platelets",
	"pt": "PT", "inr": "INR", "bnp": "BNP", "uacr": "Urine albumin/creatinine", "tsh": "TSH",
	"gct": "1-hour glucose challenge", "rubella": "Rubella IgG",
}

func shortName(a analyte) string { return shortNames[a.key] }
