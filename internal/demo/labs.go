package demo

// analyte is one LOINC-coded result with its UCUM unit and adult reference
// range. Results outside [low, high] are flagged H or L; a zero bound is
// open.
type analyte struct {
	key, loinc, display string
	unit, ucum          string
	dec                 int
	low, high           float64
	lowF, highF         float64 // the range for women, where it differs
	mean, sd            float64 // when the patient's story has no curve
	meanF               float64 // the mean for women, where it differs
}

var analytes = map[string]analyte{}

func init() {
	for _, a := range []analyte{
		{key: "hba1c", loinc: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood", unit: "%", ucum: "%", dec: 1, low: 4.0, high: 5.6, mean: 5.3, sd: 0.2},
		{key: "glucose", loinc: "2345-7", display: "Glucose [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", low: 70, high: 99, mean: 88, sd: 7},
		{key: "sodium", loinc: "2951-2", display: "Sodium [Moles/volume] in Serum or Plasma", unit: "mmol/L", ucum: "mmol/L", low: 136, high: 145, mean: 140, sd: 1.5},
		{key: "potassium", loinc: "2823-3", display: "Potassium [Moles/volume] in Serum or Plasma", unit: "mmol/L", ucum: "mmol/L", dec: 1, low: 3.5, high: 5.1, mean: 4.2, sd: 0.2},
		{key: "chloride", loinc: "2075-0", display: "Chloride [Moles/volume] in Serum or Plasma", unit: "mmol/L", ucum: "mmol/L", low: 98, high: 107, mean: 102, sd: 1.5},
		{key: "co2", loinc: "2028-9", display: "Carbon dioxide, total [Moles/volume] in Serum or Plasma", unit: "mmol/L", ucum: "mmol/L", low: 22, high: 29, mean: 25, sd: 1.2},
		{key: "bun", loinc: "3094-0", display: "Urea nitrogen [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", low: 7, high: 20, mean: 14, sd: 2},
		{key: "creatinine", loinc: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", dec: 2, low: 0.74, high: 1.35, lowF: 0.59, highF: 1.04, mean: 0.85, meanF: 0.72, sd: 0.05},
		{key: "calcium", loinc: "17861-6", display: "Calcium [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", dec: 1, low: 8.6, high: 10.3, mean: 9.4, sd: 0.2},
		{key: "chol", loinc: "2093-3", display: "Cholesterol [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", high: 199, mean: 185, sd: 10},
		{key: "trig", loinc: "2571-8", display: "Triglyceride [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", high: 149, mean: 120, sd: 15},
		{key: "hdl", loinc: "2085-9", display: "Cholesterol in HDL [Mass/volume] in Serum or Plasma", unit: "mg/dL", ucum: "mg/dL", low: 40, lowF: 50, mean: 52, sd: 3},
		{key: "ldl", loinc: "13457-7", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", unit: "mg/dL", ucum: "mg/dL", high: 99, mean: 105, sd: 8},
		{key: "wbc", loinc: "6690-2", display: "Leukocytes [#/volume] in Blood by Automated count", unit: "10*3/uL", ucum: "10*3/uL", dec: 1, low: 4.0, high: 11.0, mean: 6.8, sd: 0.8},
		{key: "rbc", loinc: "789-8", display: "Erythrocytes [#/volume] in Blood by Automated count", unit: "10*6/uL", ucum: "10*6/uL", dec: 2, low: 4.35, high: 5.65, lowF: 3.92, highF: 5.13, mean: 4.7, meanF: 4.4, sd: 0.15},
		{key: "hgb", loinc: "718-7", display: "Hemoglobin [Mass/volume] in Blood", unit: "g/dL", ucum: "g/dL", dec: 1, low: 13.2, high: 16.6, lowF: 11.6, highF: 15.0, mean: 14.5, meanF: 13.3, sd: 0.4},
		{key: "hct", loinc: "4544-3", display: "Hematocrit [Volume Fraction] of Blood by Automated count", unit: "%", ucum: "%", dec: 1, low: 38.3, high: 48.6, lowF: 35.5, highF: 44.9, mean: 43, sd: 1.2},
		{key: "mcv", loinc: "787-2", display: "Erythrocyte mean corpuscular volume [Entitic volume] by Automated count", unit: "fL", ucum: "fL", dec: 1, low: 80, high: 100, mean: 89, sd: 2},
		{key: "plt", loinc: "777-3", display: "Platelets [#/volume] in Blood by Automated count", unit: "10*3/uL", ucum: "10*3/uL", low: 150, high: 400, mean: 250, sd: 25},
		{key: "pt", loinc: "5902-2", display: "Prothrombin time (PT)", unit: "s", ucum: "s", dec: 1, low: 9.4, high: 12.5, mean: 11, sd: 0.4},
		{key: "inr", loinc: "6301-6", display: "INR in Platelet poor plasma by Coagulation assay", unit: "INR", ucum: "{INR}", dec: 1, low: 0.8, high: 1.2, mean: 1.0, sd: 0.05},
		{key: "bnp", loinc: "30934-4", display: "Natriuretic peptide B [Mass/volume] in Serum or Plasma", unit: "pg/mL", ucum: "pg/mL", high: 99, mean: 60, sd: 10},
		{key: "uacr", loinc: "14959-1", display: "Microalbumin/Creatinine [Mass ratio] in Urine", unit: "mg/g", ucum: "mg/g{creat}", high: 29, mean: 12, sd: 3},
		{key: "tsh", loinc: "3016-3", display: "Thyrotropin [Units/volume] in Serum or Plasma", unit: "mIU/L", ucum: "m[IU]/L", dec: 2, low: 0.45, high: 4.5, mean: 1.8, sd: 0.3},
		{key: "gct", loinc: "1504-0", display: "Glucose [Mass/volume] in Serum or Plasma --1 hour post 50 g glucose PO", unit: "mg/dL", ucum: "mg/dL", high: 139, mean: 118, sd: 8},
		{key: "rubella", loinc: "8014-3", display: "Rubella virus IgG Ab [Units/volume] in Serum", unit: "[IU]/mL", ucum: "[IU]/mL", dec: 1, low: 10, mean: 46, sd: 8},
	} {
		analytes[a.key] = a
	}
}

// qualitative is a test reported as a coded answer.
type qualitative struct {
	key, loinc, display string
	normal              code // the expected answer; anything else is abnormal
}

var qualitatives = map[string]qualitative{
	"hcg":     {"hcg", "2106-3", "Choriogonadotropin (Pregnancy test) [Presence] in Urine", negative},
	"hbsag":   {"hbsag", "5196-1", "Hepatitis B virus surface Ag [Presence] in Serum by Immunoassay", negative},
	"hiv":     {"hiv", "7917-8", "HIV 1 Ab [Presence] in Serum", negative},
	"abscr":   {"abscr", "890-4", "Blood group antibody screen [Presence] in Serum or Plasma", negative},
	"rapidst": {"rapidst", "78012-2", "Streptococcus pyogenes Ag [Presence] in Throat by Rapid immunoassay", negative},
}

// panel is an order: the DiagnosticReport code and the results it holds.
type panel struct {
	loinc, display string
	items          []string // analyte or qualitative keys
}

var panels = map[string]panel{
	"a1c":      {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", []string{"hba1c"}},
	"bmp":      {"51990-0", "Basic metabolic panel - Blood", []string{"glucose", "bun", "creatinine", "sodium", "potassium", "chloride", "co2", "calcium"}},
	"lipid":    {"24331-1", "Lipid 1996 panel - Serum or Plasma", []string{"chol", "trig", "hdl", "ldl"}},
	"cbc":      {"58410-2", "Complete blood count (hemogram) panel - Blood by Automated count", []string{"wbc", "rbc", "hgb", "hct", "mcv", "plt"}},
	"pt":       {"34528-0", "PT panel - Platelet poor plasma by Coagulation assay", []string{"pt", "inr"}},
	"bnp":      {"30934-4", "Natriuretic peptide B [Mass/volume] in Serum or Plasma", []string{"bnp"}},
	"uacr":     {"14959-1", "Microalbumin/Creatinine [Mass ratio] in Urine", []string{"uacr"}},
	"tsh":      {"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", []string{"tsh"}},
	"gct":      {"1504-0", "Glucose [Mass/volume] in Serum or Plasma --1 hour post 50 g glucose PO", []string{"gct"}},
	"hcg":      {"2106-3", "Choriogonadotropin (Pregnancy test) [Presence] in Urine", []string{"hcg"}},
	"prenatal": {"34532-2", "Blood type and Indirect antibody screen panel - Blood", []string{"abo", "rh", "abscr"}},
	"id-scr":   {"5196-1", "Hepatitis B virus surface Ag [Presence] in Serum by Immunoassay", []string{"hbsag"}},
	"hiv":      {"7917-8", "HIV 1 Ab [Presence] in Serum", []string{"hiv"}},
	"rubella":  {"8014-3", "Rubella virus IgG Ab [Units/volume] in Serum", []string{"rubella"}},
	"strep":    {"78012-2", "Streptococcus pyogenes Ag [Presence] in Throat by Rapid immunoassay", []string{"rapidst"}},
}

// Blood type results are reported as text: their answer lists are LOINC
// answer codes this demo does not carry.
var typing = map[string]struct{ loinc, display string }{
	"abo": {"883-9", "ABO group [Type] in Blood"},
	"rh":  {"10331-7", "Rh [Type] in Blood"},
}

// vital is a LOINC vital sign (https://hl7.org/fhir/R4/observation-vitalsigns.html).
type vital struct {
	loinc, display string
	unit, ucum     string
	dec            int
}

var vitals = map[string]vital{
	"hr":     {"8867-4", "Heart rate", "/min", "/min", 0},
	"rr":     {"9279-1", "Respiratory rate", "/min", "/min", 0},
	"temp":   {"8310-5", "Body temperature", "Cel", "Cel", 1},
	"weight": {"29463-7", "Body weight", "kg", "kg", 1},
	"height": {"8302-2", "Body height", "cm", "cm", 1},
	"bmi":    {"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", 1},
	"bmipct": {"59576-9", "Body mass index (BMI) [Percentile] Per age and sex", "%", "%", 0},
	"spo2":   {"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", 0},
	"sbp":    {"8480-6", "Systolic blood pressure", "mm[Hg]", "mm[Hg]", 0},
	"dbp":    {"8462-4", "Diastolic blood pressure", "mm[Hg]", "mm[Hg]", 0},
}

// point is one anchor of a curve: a value at some days before today.
type point struct {
	ago   int
	value float64
}

// curve is a value that drifts over a patient's years: straight lines between
// anchors (sorted oldest first), plus Gaussian noise of sd.
type curve struct {
	points []point
	sd     float64
}

func (c curve) at(ago int) float64 {
	p := c.points
	if len(p) == 0 {
		return 0
	}
	if ago >= p[0].ago {
		return p[0].value
	}
	for i := 1; i < len(p); i++ {
		if ago >= p[i].ago {
			a, b := p[i-1], p[i]
			f := float64(a.ago-ago) / float64(a.ago-b.ago)
			return a.value + f*(b.value-a.value)
		}
	}
	return p[len(p)-1].value
}

func flat(v, sd float64) curve { return curve{points: []point{{0, v}}, sd: sd} }

// years converts years before today into days.
func years(y float64) int { return int(y * 365.25) }
