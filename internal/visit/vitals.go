package visit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Vitals is one set of vital signs as a nurse enters it. Every field is
// optional (nil when not measured), but at least one must be given.
// Temperature, weight and height come in either unit, not both.
type Vitals struct {
	Systolic, Diastolic *float64 // mmHg; both or neither
	HeartRate           *float64 // beats per minute
	RespRate            *float64 // breaths per minute
	TempC, TempF        *float64
	SpO2                *float64 // %
	WeightKg, WeightLb  *float64
	HeightCm, HeightIn  *float64
	Pain                *float64 // 0-10 numeric rating scale, whole numbers
	// Effective is when they were measured (default: now). It may not be
	// in the future nor before the visit started.
	Effective time.Time
	// Performer is who measured them ("Practitioner/id"); default the
	// principal's practitioner, else the visit's practitioner.
	Performer string
}

// Range is a plausibility range of one vital sign: values outside it are
// refused as impossible (a typo or a wrong unit), not flagged as abnormal.
type Range struct {
	Field    string
	Label    string
	Min, Max float64
	Unit     string
}

// Ranges are the plausibility limits the visit enforces, in the unit of
// the field. They bound what a living patient of any age can measure,
// wide enough for neonates and extreme but real readings; docs/VISIT.md
// lists them.
var Ranges = []Range{
	{"systolic", "Systolic pressure", 50, 300, "mmHg"},
	{"diastolic", "Diastolic pressure", 20, 200, "mmHg"},
	{"heartRate", "Heart rate", 20, 300, "beats/min"},
	{"respRate", "Respiratory rate", 4, 80, "breaths/min"},
	{"tempC", "Temperature", 25, 45, "°C"},
	{"tempF", "Temperature", 77, 113, "°F"},
	{"spo2", "Oxygen saturation", 50, 100, "%"},
	{"weightKg", "Weight", 0.3, 500, "kg"},
	{"weightLb", "Weight", 0.66, 1100, "lb"},
	{"heightCm", "Height", 20, 275, "cm"},
	{"heightIn", "Height", 8, 108, "in"},
	{"pain", "Pain score", 0, 10, ""},
	{"bmi", "BMI", 5, 150, "kg/m2"},
}

func rangeOf(field string) Range {
	for _, r := range Ranges {
		if r.Field == field {
			return r
		}
	}
	panic("visit: no range for " + field)
}

// check adds a field error when v is set and outside its range.
func checkRange(fe FieldErrors, field string, v *float64) {
	if v == nil {
		return
	}
	r := rangeOf(field)
	if math.IsNaN(*v) || *v < r.Min || *v > r.Max {
		unit := ""
		if r.Unit != "" {
			unit = " " + r.Unit
		}
		fe.add(field, fmt.Sprintf("%s must be between %s and %s%s", r.Label, trim(r.Min), trim(r.Max), unit))
	}
}

func trim(v float64) string { return string(decimal(v, 2)) }

// Unit conversions (exact by definition: NIST SP 811 appendix B).
const (
	kgPerLb = 0.45359237
	cmPerIn = 2.54
)

// vitalSign is a LOINC vital sign of the FHIR vital signs profiles
// (observation-vitalsigns.html) and its US Core profile.
type vitalSign struct {
	code, display, profile string
	unit, ucum             string
	places                 int
}

var (
	vsBP     = vitalSign{"85354-9", "Blood pressure panel with all children optional", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure", "", "", 0}
	vsSys    = vitalSign{"8480-6", "Systolic blood pressure", "", "mmHg", "mm[Hg]", 0}
	vsDia    = vitalSign{"8462-4", "Diastolic blood pressure", "", "mmHg", "mm[Hg]", 0}
	vsHR     = vitalSign{"8867-4", "Heart rate", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-heart-rate", "beats/minute", "/min", 0}
	vsRR     = vitalSign{"9279-1", "Respiratory rate", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-respiratory-rate", "breaths/minute", "/min", 0}
	vsTemp   = vitalSign{"8310-5", "Body temperature", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-temperature", "Cel", "Cel", 1}
	vsSpO2   = vitalSign{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-pulse-oximetry", "%", "%", 0}
	vsWeight = vitalSign{"29463-7", "Body weight", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-weight", "kg", "kg", 2}
	vsHeight = vitalSign{"8302-2", "Body height", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-body-height", "cm", "cm", 1}
	vsBMI    = vitalSign{"39156-5", "Body mass index (BMI) [Ratio]", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-bmi", "kg/m2", "kg/m2", 1}
	vsPain   = vitalSign{"72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "", "{score}", "{score}", 0}
)

// BMI returns the body mass index of a weight in kg and a height in cm,
// rounded to one decimal.
func BMI(weightKg, heightCm float64) float64 {
	m := heightCm / 100
	return math.Round(weightKg/(m*m)*10) / 10
}

// measured is one vital sign to write, in its FHIR unit.
type measured struct {
	vs    vitalSign
	value float64
}

// normalize checks v and returns the measurements in FHIR units.
func (v Vitals) normalize(fe FieldErrors) []measured {
	for _, c := range []struct {
		field string
		v     *float64
	}{
		{"systolic", v.Systolic}, {"diastolic", v.Diastolic}, {"heartRate", v.HeartRate},
		{"respRate", v.RespRate}, {"tempC", v.TempC}, {"tempF", v.TempF}, {"spo2", v.SpO2},
		{"weightKg", v.WeightKg}, {"weightLb", v.WeightLb}, {"heightCm", v.HeightCm},
		{"heightIn", v.HeightIn}, {"pain", v.Pain},
	} {
		checkRange(fe, c.field, c.v)
	}
	switch {
	case v.Systolic != nil && v.Diastolic == nil:
		fe.add("diastolic", "Enter the diastolic pressure with the systolic")
	case v.Systolic == nil && v.Diastolic != nil:
		fe.add("systolic", "Enter the systolic pressure with the diastolic")
	case v.Systolic != nil && *v.Systolic <= *v.Diastolic:
		fe.add("diastolic", "Diastolic pressure must be lower than systolic")
	}
	if v.TempC != nil && v.TempF != nil {
		fe.add("tempF", "Enter the temperature in °C or in °F, not both")
	}
	if v.WeightKg != nil && v.WeightLb != nil {
		fe.add("weightLb", "Enter the weight in kg or in lb, not both")
	}
	if v.HeightCm != nil && v.HeightIn != nil {
		fe.add("heightIn", "Enter the height in cm or in inches, not both")
	}
	if v.Pain != nil && *v.Pain != math.Trunc(*v.Pain) {
		fe.add("pain", "Pain score must be a whole number from 0 to 10")
	}
	var out []measured
	add := func(vs vitalSign, p *float64, factor float64) *float64 {
		if p == nil {
			return nil
		}
		x := *p * factor
		out = append(out, measured{vs, x})
		return &x
	}
	if v.Systolic != nil && v.Diastolic != nil {
		out = append(out, measured{vsSys, *v.Systolic}, measured{vsDia, *v.Diastolic})
	}
	add(vsHR, v.HeartRate, 1)
	add(vsRR, v.RespRate, 1)
	add(vsTemp, v.TempC, 1)
	if v.TempF != nil {
		out = append(out, measured{vsTemp, (*v.TempF - 32) * 5 / 9})
	}
	add(vsSpO2, v.SpO2, 1)
	w := add(vsWeight, v.WeightKg, 1)
	if w == nil {
		w = add(vsWeight, v.WeightLb, kgPerLb)
	}
	h := add(vsHeight, v.HeightCm, 1)
	if h == nil {
		h = add(vsHeight, v.HeightIn, cmPerIn)
	}
	add(vsPain, v.Pain, 1)
	if w != nil && h != nil && len(fe) == 0 {
		// Round the inputs as they are stored, so that the BMI is the one
		// a reader recomputes from the stored weight and height.
		wk, _ := decimal(*w, vsWeight.places).Float64()
		hc, _ := decimal(*h, vsHeight.places).Float64()
		bmi := BMI(wk, hc)
		checkRange(fe, "bmi", &bmi)
		if _, bad := fe["bmi"]; bad {
			fe["bmi"] += "; check the weight and height"
		}
		out = append(out, measured{vsBMI, bmi})
	}
	if len(out) == 0 && len(fe) == 0 {
		fe.add("vitals", "Enter at least one vital sign")
	}
	return out
}

// RecordVitals writes the vital signs as US Core vital-signs Observations
// of the visit (one per measurement; blood pressure as one panel with
// systolic and diastolic components; BMI computed from weight and height)
// in one transaction, and returns their ids.
func (s *Service) RecordVitals(ctx context.Context, encounterID string, v Vitals) ([]string, error) {
	const op = "record vitals"
	p, err := principal(ctx, op)
	if err != nil {
		return nil, err
	}
	fe := FieldErrors{}
	ms := v.normalize(fe)
	performer := ""
	if strings.TrimSpace(v.Performer) != "" {
		if performer = normAnyRef(v.Performer, "Practitioner", "PractitionerRole"); performer == "" {
			fe.add("performer", "The performer is not a valid practitioner id")
		}
	}
	if !v.Effective.IsZero() && v.Effective.After(time.Now().Add(5*time.Minute)) {
		fe.add("effective", "The time of measurement cannot be in the future")
	}
	if err := fe.err(op); err != nil {
		return nil, err
	}
	var ids []string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		ids = ids[:0]
		fe := FieldErrors{}
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		who := performer
		if who == "" {
			who = clinician(p, enc.Res)
		} else if err := exists(ctx, tx, fe, "performer", who, "practitioner"); err != nil {
			return err
		}
		when := tx.Now()
		if !v.Effective.IsZero() {
			when = v.Effective
			if start, ok := periodStart(enc.Res); ok && when.Before(start.Add(-24*time.Hour)) {
				fe.add("effective", "The time of measurement is before the visit")
			}
		}
		if err := fe.err(op); err != nil {
			return err
		}
		for _, obs := range observations(ms, enc, who, dateTime(when)) {
			out, err := tx.Create(ctx, obs, repo.CreateOptions{})
			if err != nil {
				return err
			}
			ids = append(ids, out.Record.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func periodStart(enc map[string]any) (time.Time, bool) {
	period := fhir.Obj(enc["period"])
	s := fhir.Str(period["start"])
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// observations builds the Observations of ms.
func observations(ms []measured, enc *encounter, performer, effective string) []map[string]any {
	base := func(vs vitalSign) map[string]any {
		obs := map[string]any{
			"resourceType": "Observation",
			"status":       "final",
			"category": []any{map[string]any{
				"coding": []any{coding(sysObsCategory, "vital-signs", "Vital Signs")},
				"text":   "Vital Signs",
			}},
			"code":              concept(sysLOINC, vs.code, vs.display),
			"subject":           fhir.Reference(enc.Patient),
			"encounter":         fhir.Reference(enc.Ref()),
			"effectiveDateTime": effective,
		}
		if vs.profile != "" {
			obs["meta"] = map[string]any{"profile": []any{"http://hl7.org/fhir/StructureDefinition/vitalsigns", vs.profile}}
		}
		if performer != "" {
			obs["performer"] = []any{fhir.Reference(performer)}
		}
		return obs
	}
	quantity := func(m measured) map[string]any {
		return map[string]any{"value": decimal(m.value, m.vs.places), "unit": m.vs.unit, "system": sysUCUM, "code": m.vs.ucum}
	}
	var out []map[string]any
	for i := 0; i < len(ms); i++ {
		m := ms[i]
		switch m.vs.code {
		case vsSys.code:
			bp := base(vsBP)
			dia := ms[i+1]
			i++
			bp["component"] = []any{
				map[string]any{"code": concept(sysLOINC, vsSys.code, vsSys.display), "valueQuantity": quantity(m)},
				map[string]any{"code": concept(sysLOINC, vsDia.code, vsDia.display), "valueQuantity": quantity(dia)},
			}
			out = append(out, bp)
		case vsSpO2.code:
			obs := base(m.vs)
			// US Core pulse oximetry carries both codes.
			obs["code"] = map[string]any{
				"coding": []any{
					coding(sysLOINC, vsSpO2.code, vsSpO2.display),
					coding(sysLOINC, "2708-6", "Oxygen saturation in Arterial blood"),
				},
				"text": "Oxygen saturation",
			}
			obs["valueQuantity"] = quantity(m)
			out = append(out, obs)
		default:
			obs := base(m.vs)
			obs["valueQuantity"] = quantity(m)
			out = append(out, obs)
		}
	}
	return out
}
