package safety

import (
	"errors"
	"fmt"
)

// DrugFromMedicationRequest reads the drug of a MedicationRequest (also a
// MedicationStatement or a Medication) parsed as internal/fhir parses it:
// the codings and text of medicationCodeableConcept (code for a
// Medication). A medicationReference cannot be followed here: the caller
// reads the Medication and passes it instead.
func DrugFromMedicationRequest(r map[string]any) (Drug, error) {
	rt, _ := r["resourceType"].(string)
	var cc map[string]any
	switch rt {
	case "MedicationRequest", "MedicationStatement":
		cc, _ = r["medicationCodeableConcept"].(map[string]any)
		if cc == nil {
			if _, ok := r["medicationReference"]; ok {
				return Drug{}, errors.New("the medication is a reference: read the Medication resource and pass it")
			}
			return Drug{}, fmt.Errorf("%s has no medicationCodeableConcept", rt)
		}
	case "Medication":
		cc, _ = r["code"].(map[string]any)
		if cc == nil {
			return Drug{}, errors.New("the Medication has no code")
		}
	default:
		return Drug{}, fmt.Errorf("want a MedicationRequest, MedicationStatement or Medication, not %q", rt)
	}
	d := Drug{Ref: reference(r), Codings: codings(cc)}
	d.Text, _ = cc["text"].(string)
	if len(d.Codings) == 0 && d.Text == "" {
		return Drug{}, errors.New("the medication has neither a coding nor text")
	}
	return d, nil
}

// AllergyFromResource reads an AllergyIntolerance parsed as internal/fhir
// parses it. ok is false when the allergy does not apply: its clinical
// status is inactive or resolved, its verification status refuted or
// entered-in-error, or it has no code at all.
func AllergyFromResource(r map[string]any) (a Allergy, ok bool, err error) {
	if rt, _ := r["resourceType"].(string); rt != "AllergyIntolerance" {
		return Allergy{}, false, fmt.Errorf("want an AllergyIntolerance, not %q", rt)
	}
	switch statusCode(r["clinicalStatus"]) {
	case "inactive", "resolved":
		return Allergy{}, false, nil
	}
	switch statusCode(r["verificationStatus"]) {
	case "refuted", "entered-in-error":
		return Allergy{}, false, nil
	}
	cc, _ := r["code"].(map[string]any)
	if cc == nil {
		return Allergy{}, false, nil
	}
	a = Allergy{Ref: reference(r), Codings: codings(cc)}
	a.Text, _ = cc["text"].(string)
	if len(a.Codings) == 0 && a.Text == "" {
		return Allergy{}, false, nil
	}
	return a, true, nil
}

func codings(cc map[string]any) []Coding {
	list, _ := cc["coding"].([]any)
	var out []Coding
	for _, x := range list {
		m, _ := x.(map[string]any)
		if m == nil {
			continue
		}
		c := Coding{}
		c.System, _ = m["system"].(string)
		c.Code, _ = m["code"].(string)
		c.Display, _ = m["display"].(string)
		if c.Code != "" || c.Display != "" {
			out = append(out, c)
		}
	}
	return out
}

func statusCode(v any) string {
	cc, _ := v.(map[string]any)
	for _, c := range codings(cc) {
		if c.Code != "" {
			return c.Code
		}
	}
	return ""
}

func reference(r map[string]any) string {
	rt, _ := r["resourceType"].(string)
	id, _ := r["id"].(string)
	if rt == "" || id == "" {
		return ""
	}
	return rt + "/" + id
}
