package visit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/safety"
)

// SafetyChecker runs the drug-safety checks of a proposed prescription:
// *safety.Knowledge (safety.Default(), or a replacement set from
// safety.Load) is one.
type SafetyChecker interface {
	Check(ctx context.Context, proposed safety.Drug, c safety.Context) []safety.Alert
}

var _ SafetyChecker = (*safety.Knowledge)(nil)

// Rx is a prescription as the prescriber enters it.
type Rx struct {
	RxNorm   string  // RxCUI of a clinical or branded drug (SCD, SBD, pack)
	Dose     float64 // amount per administration
	DoseUnit string  // a DoseUnits key: "mg", "mL", "tablet", ...
	Route    string  // a Routes key: "oral", "topical", ...
	// Frequency: TimesPerDay, or EveryHours, or AsNeeded (alone, or with
	// either as the maximum).
	TimesPerDay  int
	EveryHours   int
	AsNeeded     bool
	DurationDays int     // days of therapy
	Quantity     float64 // amount to dispense, in DispenseUnit
	DispenseUnit string  // a DoseUnits key; default DoseUnit
	Refills      int     // repeats allowed after the first dispense
	Note         string  // to the patient or pharmacist
}

// Override is the prescriber's decision to go ahead despite one alert.
type Override struct {
	AlertID string
	Reason  string // why it is safe for this patient (10 characters at least)
}

// Alert is a drug-safety finding about a proposed prescription, with a
// stable ID that an Override names.
type Alert struct {
	ID       string // "ALGY:AllergyIntolerance/7", "DRG:MedicationRequest/3", ...
	Code     string // v3 ActCode: ALGY, DRG or DUPTHPY
	Severity string // DetectedIssue.severity: high, moderate or low
	safety.Alert
}

// Prescription names what Prescribe stored.
type Prescription struct {
	MedicationRequest string
	DetectedIssues    []string // one per overridden alert
}

// unit is a dose unit: its UCUM code (an annotation for countable forms).
type unit struct{ display, ucum string }

// DoseUnits are the units a dose or a dispensed quantity may be given in.
var DoseUnits = map[string]unit{
	"mg": {"mg", "mg"}, "g": {"g", "g"}, "mcg": {"mcg", "ug"}, "mL": {"mL", "mL"},
	"unit": {"unit", "[IU]"}, "tablet": {"tablet", "{tbl}"}, "capsule": {"capsule", "{capsule}"},
	"puff": {"puff", "{puff}"}, "drop": {"drop", "[drp]"}, "patch": {"patch", "{patch}"},
	"application": {"application", "{application}"}, "suppository": {"suppository", "{suppository}"},
}

// Routes are the routes of administration, as SNOMED CT codes of FHIR's
// route codes value set (valueset-route-codes.html), with the words of
// the dosage text.
var Routes = map[string]struct{ Code, Display, Words string }{
	"oral":          {"26643006", "Oral route", "by mouth"},
	"sublingual":    {"37839007", "Sublingual route", "under the tongue"},
	"topical":       {"6064005", "Topical route", "on the skin"},
	"transdermal":   {"45890007", "Transdermal route", "through the skin"},
	"inhalation":    {"447694001", "Respiratory tract route", "inhaled"},
	"nasal":         {"46713006", "Nasal route", "in the nose"},
	"ophthalmic":    {"54485002", "Ophthalmic route", "in the eye"},
	"otic":          {"10547007", "Otic route", "in the ear"},
	"rectal":        {"37161004", "Rectal route", "rectally"},
	"vaginal":       {"16857009", "Vaginal route", "vaginally"},
	"subcutaneous":  {"34206005", "Subcutaneous route", "under the skin"},
	"intramuscular": {"78421000", "Intramuscular route", "into the muscle"},
	"intravenous":   {"47625008", "Intravenous route", "into a vein"},
}

// check validates a prescription and returns its drug.
func (rx *Rx) check(codes Codes, fe FieldErrors) Drug {
	rx.RxNorm = strings.TrimSpace(rx.RxNorm)
	var drug Drug
	switch d, ok := codes.Drug(rx.RxNorm); {
	case rx.RxNorm == "":
		fe.add("rxnorm", "Choose the medication")
	case !ok:
		fe.add("rxnorm", fmt.Sprintf("%s is not a known RxNorm code", rx.RxNorm))
	case !d.Prescribable:
		fe.add("rxnorm", fmt.Sprintf("%s is not a product that can be prescribed; choose a drug with its strength and form", d.Name))
	default:
		drug = d
	}
	if !(rx.Dose > 0 && rx.Dose <= 10000) || math.IsNaN(rx.Dose) {
		fe.add("dose", "Enter a dose greater than 0")
	}
	if _, ok := DoseUnits[rx.DoseUnit]; !ok {
		fe.add("doseUnit", "Choose the unit of the dose")
	}
	if _, ok := Routes[rx.Route]; !ok {
		fe.add("route", "Choose the route")
	}
	switch {
	case rx.TimesPerDay < 0 || rx.TimesPerDay > 24:
		fe.add("frequency", "Times per day must be between 1 and 24")
	case rx.EveryHours < 0 || rx.EveryHours > 72:
		fe.add("frequency", "Every how many hours must be between 1 and 72")
	case rx.TimesPerDay > 0 && rx.EveryHours > 0:
		fe.add("frequency", "Give times per day or every N hours, not both")
	case rx.TimesPerDay == 0 && rx.EveryHours == 0 && !rx.AsNeeded:
		fe.add("frequency", "Choose how often (times per day, every N hours, or as needed)")
	}
	if rx.DurationDays < 1 || rx.DurationDays > 365 {
		fe.add("durationDays", "Duration must be between 1 and 365 days")
	}
	if rx.DispenseUnit == "" {
		rx.DispenseUnit = rx.DoseUnit
	}
	if _, ok := DoseUnits[rx.DispenseUnit]; !ok {
		fe.add("dispenseUnit", "Choose the unit of the quantity to dispense")
	}
	if !(rx.Quantity > 0 && rx.Quantity <= 100000) || math.IsNaN(rx.Quantity) {
		fe.add("quantity", "Enter the quantity to dispense")
	}
	if rx.Refills < 0 || rx.Refills > 11 {
		fe.add("refills", "Refills must be between 0 and 11")
	}
	rx.Note = strings.TrimSpace(rx.Note)
	if len(rx.Note) > 1000 {
		fe.add("note", "The note is too long (1000 characters at most)")
	}
	return drug
}

// proposed is the drug as the safety checks see it.
func proposed(d Drug) safety.Drug {
	return safety.Drug{Codings: []safety.Coding{{System: sysRxNorm, Code: d.RxCUI, Display: d.Name}}, Text: d.Name}
}

// safetyContext gathers the patient's active allergies and medication
// requests.
func (s *Service) safetyContext(ctx context.Context, r reader, patient string) (safety.Context, error) {
	var c safety.Context
	allergies, err := s.find(ctx, r, "AllergyIntolerance", url.Values{"patient": {patient}})
	if err != nil {
		return c, err
	}
	for _, a := range allergies {
		al, ok, err := safety.AllergyFromResource(a.Res)
		if err != nil || !ok {
			continue
		}
		al.Ref = a.Ref()
		c.Allergies = append(c.Allergies, al)
	}
	meds, err := s.find(ctx, r, "MedicationRequest", url.Values{"patient": {patient}, "status": {"active,on-hold"}})
	if err != nil {
		return c, err
	}
	for _, m := range meds {
		if in := fhir.Str(m.Res["intent"]); in == "proposal" {
			continue
		}
		d, err := safety.DrugFromMedicationRequest(m.Res)
		if err != nil {
			continue // a medicationReference or an uncoded request: not checkable here
		}
		d.Ref = m.Ref()
		c.ActiveMeds = append(c.ActiveMeds, d)
	}
	return c, nil
}

// alerts runs the checks and gives each alert its ID.
func (s *Service) alerts(ctx context.Context, r reader, patient string, d Drug) ([]Alert, error) {
	sc, err := s.safetyContext(ctx, r, patient)
	if err != nil {
		return nil, err
	}
	var out []Alert
	seen := map[string]int{}
	for _, a := range s.safety.Check(ctx, proposed(d), sc) {
		al := Alert{Alert: a}
		switch a.Kind {
		case safety.KindAllergy:
			al.Code = "ALGY"
		case safety.KindInteraction:
			al.Code = "DRG"
		default:
			al.Code = "DUPTHPY"
		}
		switch a.Severity {
		case safety.Contraindicated, safety.Major:
			al.Severity = "high"
		case safety.Moderate:
			al.Severity = "moderate"
		default:
			al.Severity = "low"
		}
		related := a.RelatedRef
		if related == "" {
			related = a.Related
		}
		al.ID = al.Code + ":" + related
		if n := seen[al.ID]; n > 0 {
			al.ID += ":" + strconv.Itoa(n+1)
		}
		seen[al.Code+":"+related]++
		out = append(out, al)
	}
	return out, nil
}

// CheckPrescription returns the drug-safety alerts of prescribing rx to the
// patient (drug-allergy against the active AllergyIntolerances,
// interactions and duplicate therapy against the active
// MedicationRequests), most severe first. It writes nothing.
func (s *Service) CheckPrescription(ctx context.Context, patientID string, rx Rx) ([]Alert, error) {
	const op = "check prescription"
	if _, err := principal(ctx, op); err != nil {
		return nil, err
	}
	fe := FieldErrors{}
	patient := normRef(patientID, "Patient")
	if patient == "" {
		fe.add("patient", "Choose the patient")
	}
	d := rx.check(s.codes, fe)
	if _, bad := fe["rxnorm"]; bad || fe["patient"] != "" {
		return nil, FieldErrors{"rxnorm": fe["rxnorm"], "patient": fe["patient"]}.nonEmpty().err(op)
	}
	return s.alerts(ctx, s.repo, patient, d)
}

func (f FieldErrors) nonEmpty() FieldErrors {
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// AlertsError is the refusal of a prescription with alerts that were not
// overridden with a reason.
type AlertsError struct{ Alerts []Alert }

func (e *AlertsError) Error() string {
	parts := make([]string, len(e.Alerts))
	for i, a := range e.Alerts {
		parts[i] = a.ID + ": " + a.Message
	}
	return strings.Join(parts, "; ")
}

// Alerts returns the alerts that refused a prescription, or nil.
func Alerts(err error) []Alert {
	var e *AlertsError
	if errors.As(err, &e) {
		return e.Alerts
	}
	return nil
}

// minOverride is the shortest override reason accepted.
const minOverride = 10

// Prescribe writes a MedicationRequest for the visit. It re-runs the
// safety checks in the same transaction as the write, and refuses (an
// errs.Invalid carrying an *AlertsError, see Alerts) when any alert is not
// overridden with a reason. Each override is recorded as a DetectedIssue
// (code ALGY, DRG or DUPTHPY, the implicated requests and allergy, the
// mitigation with the reason, the prescriber and the time) that the
// MedicationRequest lists in detectedIssue.
func (s *Service) Prescribe(ctx context.Context, encounterID string, rx Rx, overrides []Override) (Prescription, error) {
	const op = "prescribe"
	p, err := principal(ctx, op)
	if err != nil {
		return Prescription{}, err
	}
	fe := FieldErrors{}
	d := rx.check(s.codes, fe)
	reasons := map[string]string{}
	for _, o := range overrides {
		r := strings.TrimSpace(o.Reason)
		if len(r) < minOverride {
			fe.add("override:"+o.AlertID, fmt.Sprintf("Give a reason of at least %d characters to override this alert", minOverride))
		}
		reasons[o.AlertID] = r
	}
	if err := fe.err(op); err != nil {
		return Prescription{}, err
	}
	var out Prescription
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		out = Prescription{}
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		requester := clinician(p, enc.Res)
		if requester == "" {
			return fieldErr(op, "requester", "The prescription needs a prescriber: the visit has no practitioner")
		}
		alerts, err := s.alerts(ctx, tx, enc.Patient, d)
		if err != nil {
			return err
		}
		var open []Alert
		for _, a := range alerts {
			if reasons[a.ID] == "" {
				open = append(open, a)
			}
		}
		if len(open) > 0 {
			issues := make([]errs.Issue, len(open))
			for i, a := range open {
				issues[i] = errs.Issue{Severity: "error", Code: "business-rule", Diagnostics: a.Message, Expression: []string{"alert:" + a.ID}}
			}
			msg := fmt.Sprintf("%d safety alert(s) must be overridden with a reason: %s", len(open), open[0].Message)
			return errs.E(op, errs.Invalid, msg, &AlertsError{Alerts: open}, issues)
		}
		now := dateTime(tx.Now())
		mrID := repo.NewID()
		mrRef := "MedicationRequest/" + mrID
		var issueRefs []any
		for _, a := range alerts {
			di := detectedIssue(a, enc.Patient, mrRef, requester, reasons[a.ID], now)
			o, err := tx.Create(ctx, di, repo.CreateOptions{})
			if err != nil {
				return err
			}
			ref := "DetectedIssue/" + o.Record.ID
			issueRefs = append(issueRefs, fhir.Reference(ref))
			out.DetectedIssues = append(out.DetectedIssues, ref)
		}
		mr := medicationRequest(&rx, d, enc, requester, now)
		if len(issueRefs) > 0 {
			mr["detectedIssue"] = issueRefs
		}
		if _, err := tx.Create(ctx, mr, repo.CreateOptions{ID: mrID}); err != nil {
			return err
		}
		out.MedicationRequest = mrRef
		return nil
	})
	return out, err
}

// detectedIssue records one overridden alert.
func detectedIssue(a Alert, patient, mrRef, author, reason, now string) map[string]any {
	display := map[string]string{"ALGY": "Allergy Alert", "DRG": "Drug Interaction Alert", "DUPTHPY": "Duplicate Therapy Alert"}[a.Code]
	implicated := []any{fhir.Reference(mrRef)}
	if a.RelatedRef != "" {
		implicated = append(implicated, fhir.Reference(a.RelatedRef))
	}
	di := map[string]any{
		"resourceType":       "DetectedIssue",
		"status":             "final",
		"code":               concept(sysActCode, a.Code, display),
		"severity":           a.Severity,
		"patient":            fhir.Reference(patient),
		"identifiedDateTime": now,
		"author":             fhir.Reference(author),
		"implicated":         implicated,
		"detail":             a.Message,
		"mitigation": []any{map[string]any{
			"action": map[string]any{
				"coding": []any{coding(sysActCode, "1", "Therapy Appropriate")},
				"text":   "Override: " + reason,
			},
			"date":   now,
			"author": fhir.Reference(author),
		}},
	}
	if a.Source != "" {
		di["evidence"] = []any{map[string]any{"code": []any{map[string]any{"text": a.Source}}}}
	}
	return di
}

// medicationRequest builds the MedicationRequest of rx.
func medicationRequest(rx *Rx, d Drug, enc *encounter, requester, now string) map[string]any {
	du, qu := DoseUnits[rx.DoseUnit], DoseUnits[rx.DispenseUnit]
	route := Routes[rx.Route]
	repeat := map[string]any{
		"boundsDuration": map[string]any{"value": json64(rx.DurationDays), "unit": "days", "system": sysUCUM, "code": "d"},
	}
	switch {
	case rx.TimesPerDay > 0:
		repeat["frequency"], repeat["period"], repeat["periodUnit"] = json64(rx.TimesPerDay), json64(1), "d"
	case rx.EveryHours > 0:
		repeat["frequency"], repeat["period"], repeat["periodUnit"] = json64(1), json64(rx.EveryHours), "h"
	}
	dosage := map[string]any{
		"sequence": json64(1),
		"text":     dosageText(rx, d),
		"timing":   map[string]any{"repeat": repeat},
		"route":    concept(sysSNOMED, route.Code, route.Display),
		"doseAndRate": []any{map[string]any{
			"type":         concept(sysDoseRate, "ordered", "Ordered"),
			"doseQuantity": map[string]any{"value": decimal(rx.Dose, 3), "unit": du.display, "system": sysUCUM, "code": du.ucum},
		}},
	}
	if rx.AsNeeded {
		dosage["asNeededBoolean"] = true
	}
	if rx.Note != "" {
		dosage["patientInstruction"] = rx.Note
	}
	mr := map[string]any{
		"resourceType":              "MedicationRequest",
		"status":                    "active",
		"intent":                    "order",
		"category":                  []any{concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "outpatient", "Outpatient")},
		"medicationCodeableConcept": concept(sysRxNorm, d.RxCUI, d.Name),
		"subject":                   fhir.Reference(enc.Patient),
		"encounter":                 fhir.Reference(enc.Ref()),
		"authoredOn":                now,
		"requester":                 fhir.Reference(requester),
		"dosageInstruction":         []any{dosage},
		"dispenseRequest": map[string]any{
			"numberOfRepeatsAllowed": json64(rx.Refills),
			"quantity":               map[string]any{"value": decimal(rx.Quantity, 3), "unit": qu.display, "system": sysUCUM, "code": qu.ucum},
			"expectedSupplyDuration": map[string]any{"value": json64(rx.DurationDays), "unit": "days", "system": sysUCUM, "code": "d"},
		},
	}
	if rx.Note != "" {
		mr["note"] = []any{map[string]any{"text": rx.Note}}
	}
	return mr
}

// dosageText is the sig in words: "500 mg by mouth 3 times a day for 7
// days".
func dosageText(rx *Rx, d Drug) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", decimal(rx.Dose, 3), plural(DoseUnits[rx.DoseUnit].display, rx.Dose), Routes[rx.Route].Words)
	switch {
	case rx.TimesPerDay == 1:
		b.WriteString(" once a day")
	case rx.TimesPerDay > 1:
		fmt.Fprintf(&b, " %d times a day", rx.TimesPerDay)
	case rx.EveryHours > 0:
		fmt.Fprintf(&b, " every %d hours", rx.EveryHours)
	}
	if rx.AsNeeded {
		b.WriteString(" as needed")
	}
	fmt.Fprintf(&b, " for %d %s", rx.DurationDays, plural("day", float64(rx.DurationDays)))
	return b.String()
}

func plural(word string, n float64) string {
	switch {
	case n == 1, strings.HasPrefix(word, "m"), word == "g":
		return word
	case strings.HasSuffix(word, "ch"):
		return word + "es"
	}
	return word + "s"
}

// json64 renders an integer as a JSON number.
func json64(n int) any { return decimal(float64(n), 0) }
