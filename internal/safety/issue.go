package safety

import "time"

// Override is what a prescriber records on an alert: who, about which
// patient and prescription, when, and why the prescription stands.
type Override struct {
	Patient string // "Patient/123"
	Request string // the MedicationRequest the alert is about, "MedicationRequest/9"
	Author  string // "Practitioner/7"
	Reason  string // free text; empty when the alert was shown but not overridden
	When    time.Time
}

const actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

// DetectedIssue returns the alert as a FHIR R4 DetectedIssue resource
// (parsed-JSON shape, ready for the Repository), so that an alert shown
// before signing and the reason it was overridden are recorded with the
// prescription. The code is the v3 ActCode of the alert kind (ALGY, DRG,
// DUPTHPY, as in the R4 DetectedIssue examples); contraindicated and major
// map to severity high, moderate to moderate, minor to low. A reason
// becomes a mitigation "Therapy Appropriate" (v3 ActCode 1) with the reason
// as its text.
func (a Alert) DetectedIssue(o Override) map[string]any {
	code, display := "DRG", "Drug Interaction Alert"
	switch a.Kind {
	case KindAllergy:
		code, display = "ALGY", "Allergy Alert"
	case KindDuplicate:
		code, display = "DUPTHPY", "Duplicate Therapy Alert"
	}
	severity := "low"
	switch a.Severity {
	case Contraindicated, Major:
		severity = "high"
	case Moderate:
		severity = "moderate"
	}
	detail := a.Message
	if a.Source != "" {
		detail += " Source: " + a.Source
	}
	issue := map[string]any{
		"resourceType": "DetectedIssue",
		"status":       "final",
		"code":         map[string]any{"coding": []any{map[string]any{"system": actCode, "code": code, "display": display}}},
		"severity":     severity,
		"detail":       detail,
	}
	if o.Patient != "" {
		issue["patient"] = map[string]any{"reference": o.Patient}
	}
	if !o.When.IsZero() {
		issue["identifiedDateTime"] = o.When.UTC().Format(time.RFC3339)
	}
	var implicated []any
	if o.Request != "" {
		implicated = append(implicated, map[string]any{"reference": o.Request})
	}
	if a.RelatedRef != "" || a.Related != "" {
		ref := map[string]any{}
		if a.RelatedRef != "" {
			ref["reference"] = a.RelatedRef
		}
		if a.Related != "" {
			ref["display"] = a.Related
		}
		implicated = append(implicated, ref)
	}
	if implicated != nil {
		issue["implicated"] = implicated
	}
	if o.Reason != "" {
		m := map[string]any{
			"action": map[string]any{
				"coding": []any{map[string]any{"system": actCode, "code": "1", "display": "Therapy Appropriate"}},
				"text":   o.Reason,
			},
		}
		if !o.When.IsZero() {
			m["date"] = o.When.UTC().Format(time.RFC3339)
		}
		if o.Author != "" {
			m["author"] = map[string]any{"reference": o.Author}
		}
		issue["mitigation"] = []any{m}
	}
	return issue
}
