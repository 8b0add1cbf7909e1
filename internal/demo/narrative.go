package demo

import (
	"fmt"
	"html"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
)

// narrate gives r a generated narrative: one line that names the resource,
// its main value and its date, so that a system without a renderer of its
// own can still show it (https://hl7.org/fhir/R4/narrative.html; dom-6).
func narrate(r map[string]any) {
	if _, ok := r["text"]; ok {
		return
	}
	parts := []string{}
	if t := title(r); t != "" {
		parts = append(parts, "<b>"+html.EscapeString(t)+"</b>")
	}
	if v := valueText(r); v != "" {
		parts = append(parts, html.EscapeString(v))
	}
	var meta []string
	if s, ok := r["status"].(string); ok {
		meta = append(meta, s)
	} else if cs := ccText(r["clinicalStatus"]); cs != "" {
		meta = append(meta, strings.ToLower(cs))
	}
	if d := when(r); d != "" {
		meta = append(meta, d)
	}
	line := strings.Join(parts, ": ")
	if len(meta) > 0 {
		line += " (" + html.EscapeString(strings.Join(meta, ", ")) + ")"
	}
	if line == "" {
		line = html.EscapeString(fhir.TypeOf(r) + " " + fhir.IDOf(r))
	}
	r["text"] = map[string]any{
		"status": "generated",
		"div":    `<div xmlns="http://www.w3.org/1999/xhtml"><p>` + line + `</p></div>`,
	}
}

// ccText is the text (or first display) of a CodeableConcept.
func ccText(v any) string {
	cc, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if s, ok := cc["text"].(string); ok {
		return s
	}
	if cs, ok := cc["coding"].([]any); ok && len(cs) > 0 {
		s, _ := cs[0].(map[string]any)["display"].(string)
		return s
	}
	return ""
}

func first(v any) any {
	if a, ok := v.([]any); ok && len(a) > 0 {
		return a[0]
	}
	return nil
}

func title(r map[string]any) string {
	switch fhir.TypeOf(r) {
	case "Patient", "Practitioner", "RelatedPerson":
		n, _ := first(r["name"]).(map[string]any)
		var given []string
		for _, g := range asList(n["given"]) {
			given = append(given, fmt.Sprint(g))
		}
		s := strings.TrimSpace(strings.Join(given, " ") + " " + fmt.Sprint(n["family"]))
		if sfx := asList(n["suffix"]); len(sfx) > 0 {
			s += ", " + fmt.Sprint(sfx[0])
		}
		if fhir.TypeOf(r) == "Patient" {
			id, _ := first(r["identifier"]).(map[string]any)
			s += fmt.Sprintf(", %v, MRN %v", r["gender"], id["value"])
		}
		return s
	case "Organization", "Location", "CareTeam":
		s, _ := r["name"].(string)
		return s
	case "Coverage":
		p, _ := first(r["payor"]).(map[string]any)
		return fmt.Sprintf("%v %s", p["display"], ccText(r["type"]))
	case "Slot", "Schedule":
		return fhir.TypeOf(r)
	case "Appointment":
		s, _ := r["description"].(string)
		return s
	case "PractitionerRole":
		return ccText(first(r["specialty"]))
	}
	for _, k := range []string{"code", "vaccineCode", "medicationCodeableConcept", "type"} {
		if s := ccText(r[k]); s != "" {
			return s
		}
		if s := ccText(first(r[k])); s != "" {
			return s
		}
	}
	if s, ok := r["name"].(string); ok {
		return s
	}
	return ""
}

func asList(v any) []any { a, _ := v.([]any); return a }

func quantityText(v any) string {
	q, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%v %v", q["value"], q["unit"])
}

func valueText(r map[string]any) string {
	switch {
	case r["valueQuantity"] != nil:
		return quantityText(r["valueQuantity"])
	case r["valueCodeableConcept"] != nil:
		return ccText(r["valueCodeableConcept"])
	case r["valueDateTime"] != nil:
		return fmt.Sprint(r["valueDateTime"])
	case r["component"] != nil:
		var vs []string
		for _, c := range asList(r["component"]) {
			vs = append(vs, strings.Fields(quantityText(c.(map[string]any)["valueQuantity"]))[0])
		}
		q := asList(r["component"])[0].(map[string]any)["valueQuantity"].(map[string]any)
		return strings.Join(vs, "/") + " " + fmt.Sprint(q["unit"])
	case r["dosageInstruction"] != nil:
		s, _ := first(r["dosageInstruction"]).(map[string]any)["text"].(string)
		return s
	case r["reaction"] != nil:
		re := first(r["reaction"]).(map[string]any)
		return fmt.Sprintf("%s, %v", ccText(first(re["manifestation"])), re["severity"])
	case r["description"] != nil && fhir.TypeOf(r) == "DocumentReference":
		return fmt.Sprint(r["description"])
	}
	return ""
}

// when is the resource's main date, shortened to the day.
func when(r map[string]any) string {
	for _, k := range []string{"effectiveDateTime", "occurrenceDateTime", "onsetDateTime", "authoredOn", "date", "start", "birthDate", "recordedDate"} {
		if s, ok := r[k].(string); ok && len(s) >= 10 {
			if fhir.TypeOf(r) == "Slot" || fhir.TypeOf(r) == "Appointment" {
				return strings.Replace(s[:16], "T", " ", 1)
			}
			return s[:10]
		}
	}
	if p, ok := r["period"].(map[string]any); ok {
		if s, ok := p["start"].(string); ok && len(s) >= 10 {
			return s[:10]
		}
	}
	return ""
}
