package search

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

// The conversions below turn one value, by its FHIR type, into index rows
// of one parameter type, following the table of
// https://hl7.org/fhir/R4/search.html#ptypes. A value of a type the
// parameter type does not cover gives no row.

// ofTypeSuffix names the derived token parameter that carries identifier
// types for :of-type: under Param+ofTypeSuffix, each Identifier.type coding
// is stored as System = "typeSystem|typeCode" and Code = the identifier value.
const ofTypeSuffix = ":of-type"

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func strs(m map[string]any, k string) []string {
	var out []string
	switch x := m[k].(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// eachObj calls fn for the object, or each object of the array, at m[k].
func eachObj(m map[string]any, k string, fn func(map[string]any)) {
	switch x := m[k].(type) {
	case map[string]any:
		fn(x)
	case []any:
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				fn(o)
			}
		}
	}
}

// firstObj returns the object, or the first object of the array, at m[k].
func firstObj(m map[string]any, k string) map[string]any {
	switch x := m[k].(type) {
	case map[string]any:
		return x
	case []any:
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				return o
			}
		}
	}
	return nil
}

// primitiveText is the text of a primitive value: a string, a number's
// decimal text or a boolean.
func primitiveText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// codeSystem is the implicit system of a code element bound to a required
// value set drawing on one code system (Patient.gender ->
// http://hl7.org/fhir/administrative-gender), so that a search with an
// explicit system matches too.
func codeSystem(d *defs.Definitions, el *defs.Element) string {
	if el == nil || el.Binding == nil || el.Binding.Strength != "required" {
		return ""
	}
	vs := d.ValueSet(el.Binding.ValueSet)
	if vs == nil || len(vs.Systems()) != 1 {
		return ""
	}
	return vs.Systems()[0]
}

// appendTokens converts a value into token rows
// (https://hl7.org/fhir/R4/search.html#token).
func appendTokens(d *defs.Definitions, dst []store.Token, param string, v typed) []store.Token {
	switch v.typ {
	case "Coding":
		m, _ := v.node.(map[string]any)
		return appendCoding(dst, param, m)
	case "CodeableConcept":
		m, _ := v.node.(map[string]any)
		eachObj(m, "coding", func(c map[string]any) { dst = appendCoding(dst, param, c) })
		if text := str(m, "text"); text != "" {
			// The concept's text serves :text; it rides on a row of the
			// first coding (stores deduplicate on system|code), or stands
			// alone when there is no coding.
			t := store.Token{Param: param, Text: NormalizeString(text)}
			if c := firstObj(m, "coding"); c != nil {
				t.System, t.Code = str(c, "system"), str(c, "code")
			}
			dst = append(dst, t)
		}
		return dst
	case "Identifier":
		m, _ := v.node.(map[string]any)
		value, system := str(m, "value"), str(m, "system")
		if value == "" && system == "" {
			return dst
		}
		t := store.Token{Param: param, System: system, Code: value}
		if typ, ok := m["type"].(map[string]any); ok {
			t.Text = str(typ, "text")
			eachObj(typ, "coding", func(c map[string]any) {
				if code := str(c, "code"); code != "" && value != "" {
					dst = append(dst, store.Token{Param: param + ofTypeSuffix, System: str(c, "system") + "|" + code, Code: value})
				}
			})
		}
		return append(dst, t)
	case "ContactPoint":
		m, _ := v.node.(map[string]any)
		if value := str(m, "value"); value != "" {
			dst = append(dst, store.Token{Param: param, Code: value})
		}
		return dst
	case "Reference":
		// A few token parameters point at Reference elements; their
		// identifier is the token.
		m, _ := v.node.(map[string]any)
		if id, ok := m["identifier"].(map[string]any); ok {
			return appendTokens(d, dst, param, typed{node: id, typ: "Identifier"})
		}
		return dst
	}
	if s, ok := primitiveText(v.node); ok && s != "" {
		t := store.Token{Param: param, Code: s}
		if v.typ == "code" {
			t.System = codeSystem(d, v.elem)
		}
		dst = append(dst, t)
	}
	return dst
}

func appendCoding(dst []store.Token, param string, m map[string]any) []store.Token {
	system, code, display := str(m, "system"), str(m, "code"), str(m, "display")
	if system == "" && code == "" && display == "" {
		return dst
	}
	// Text is folded like every string the :text modifier compares with
	// (NormalizeString), so "Café" matches :text=cafe.
	return append(dst, store.Token{Param: param, System: system, Code: code, Text: NormalizeString(display)})
}

// appendStrings converts a value into string rows
// (https://hl7.org/fhir/R4/search.html#string): HumanName and Address parts
// each give a row.
func appendStrings(dst []store.String, param string, v typed) []store.String {
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			if norm := NormalizeString(s); norm != "" { // not only combining marks
				dst = append(dst, store.String{Param: param, Norm: norm, Exact: s})
			}
		}
	}
	m, isObj := v.node.(map[string]any)
	switch {
	case v.typ == "HumanName" && isObj:
		add(str(m, "text"))
		add(str(m, "family"))
		for _, k := range [...]string{"given", "prefix", "suffix"} {
			for _, s := range strs(m, k) {
				add(s)
			}
		}
	case v.typ == "Address" && isObj:
		add(str(m, "text"))
		for _, s := range strs(m, "line") {
			add(s)
		}
		for _, k := range [...]string{"city", "district", "state", "postalCode", "country"} {
			add(str(m, k))
		}
	case isObj:
		// Other complex types (Annotation, Attachment, ...) are not strings.
	default:
		if s, ok := v.node.(string); ok {
			add(s)
		}
	}
	return dst
}

// appendDates converts a value into date rows
// (https://hl7.org/fhir/R4/search.html#date): a date, dateTime or instant
// covers its precision; a Period its start to its end (open ends are open);
// a Timing each event and its repeat bounds.
func appendDates(dst []store.Date, param string, v typed) []store.Date {
	switch v.typ {
	case "Period":
		m, _ := v.node.(map[string]any)
		if r, ok := periodRange(m); ok {
			r.Param = param
			dst = append(dst, r)
		}
	case "Timing":
		m, _ := v.node.(map[string]any)
		for _, e := range strs(m, "event") {
			if lo, hi, err := DateRange(e); err == nil {
				dst = append(dst, store.Date{Param: param, Low: lo, High: hi})
			}
		}
		if rep, ok := m["repeat"].(map[string]any); ok {
			if bp, ok := rep["boundsPeriod"].(map[string]any); ok {
				if r, ok := periodRange(bp); ok {
					r.Param = param
					dst = append(dst, r)
				}
			}
		}
	case "date", "dateTime", "instant", "DateTime", "Date":
		if s, ok := v.node.(string); ok {
			if lo, hi, err := DateRange(s); err == nil {
				dst = append(dst, store.Date{Param: param, Low: lo, High: hi})
			}
		}
	}
	return dst
}

func periodRange(m map[string]any) (store.Date, bool) {
	start, end := str(m, "start"), str(m, "end")
	if start == "" && end == "" {
		return store.Date{}, false
	}
	r := store.Date{Low: OpenLow, High: OpenHigh}
	if start != "" {
		lo, _, err := DateRange(start)
		if err != nil {
			return r, false
		}
		r.Low = lo
	}
	if end != "" {
		_, hi, err := DateRange(end)
		if err != nil {
			return r, false
		}
		r.High = hi
	}
	return r, true
}

// appendNumbers converts a value into number rows
// (https://hl7.org/fhir/R4/search.html#number).
func appendNumbers(dst []store.Number, param string, v typed) []store.Number {
	text, ok := v.node.(json.Number)
	if !ok {
		return dst
	}
	if _, lo, hi, err := NumberRange(string(text)); err == nil {
		dst = append(dst, store.Number{Param: param, Value: string(text), Low: lo, High: hi})
	}
	return dst
}

// quantityTypes are Quantity and its specializations and profiles.
var quantityTypes = map[string]bool{
	"Quantity": true, "Age": true, "Duration": true, "Distance": true, "Count": true,
	"SimpleQuantity": true, "MoneyQuantity": true,
}

// appendQuantities converts a value into quantity rows
// (https://hl7.org/fhir/R4/search.html#quantity). A Range gives one row
// covering low to high.
func appendQuantities(dst []store.Quantity, param string, v typed) []store.Quantity {
	m, _ := v.node.(map[string]any)
	if m == nil {
		return dst
	}
	switch {
	case quantityTypes[v.typ]:
		text, _ := m["value"].(json.Number)
		val, lo, hi, err := NumberRange(string(text))
		if err != nil {
			return dst
		}
		q := store.Quantity{Param: param, System: str(m, "system"), Code: str(m, "code"), Unit: str(m, "unit"),
			Value: string(text), Low: lo, High: hi}
		canonicalize(&q, val)
		dst = append(dst, q)
	case v.typ == "Money":
		text, _ := m["value"].(json.Number)
		if _, lo, hi, err := NumberRange(string(text)); err == nil {
			cur := str(m, "currency")
			dst = append(dst, store.Quantity{Param: param, System: "urn:iso:std:iso:4217", Code: cur, Unit: cur,
				Value: string(text), Low: lo, High: hi})
		}
	case v.typ == "Range":
		low, _ := m["low"].(map[string]any)
		high, _ := m["high"].(map[string]any)
		q := store.Quantity{Param: param, Low: math.Inf(-1), High: math.Inf(1)}
		found := false
		for i, b := range []map[string]any{low, high} {
			if b == nil {
				continue
			}
			text, _ := b["value"].(json.Number)
			_, lo, hi, err := NumberRange(string(text))
			if err != nil {
				continue
			}
			if i == 0 {
				q.Low = lo
			} else {
				q.High = hi
			}
			q.System, q.Code, q.Unit = str(b, "system"), str(b, "code"), str(b, "unit")
			found = true
		}
		if found {
			dst = append(dst, q)
		}
	}
	return dst
}

// appendReferences converts a value into reference rows
// (https://hl7.org/fhir/R4/search.html#reference); a Reference's identifier
// becomes a token row under the same parameter, for :identifier. base is
// this server's base URL ("" when unknown).
func appendReferences(dst []store.Reference, toks []store.Token, param, base string, v typed) ([]store.Reference, []store.Token) {
	switch v.typ {
	case "Reference":
		m, _ := v.node.(map[string]any)
		if ref := str(m, "reference"); ref != "" {
			if r, ok := referenceRow(ref, base, false); ok {
				r.Param = param
				dst = append(dst, r)
			}
		}
		if id, ok := m["identifier"].(map[string]any); ok {
			toks = appendTokens(nil, toks, param, typed{node: id, typ: "Identifier"})
		}
	case "canonical", "uri", "url":
		if s, ok := v.node.(string); ok && s != "" {
			if r, ok := referenceRow(s, base, true); ok {
				r.Param = param
				dst = append(dst, r)
			}
		}
	}
	return dst, toks
}

// referenceRow interprets a literal reference
// (https://hl7.org/fhir/R4/references.html#literal). A relative reference,
// or an absolute one under this server's base, gives TargetType/TargetID;
// any other absolute reference keeps only its URL (and a canonical's
// "|version" goes to Version). A foreign "http://other/fhir/Patient/1" is
// deliberately not given the local target Patient/1: that would put the
// resource in the compartment of an unrelated local patient and let chains
// and _include reach that patient. Contained references ("#id") and
// conditional ones ("Type?query") are not indexed.
func referenceRow(ref, base string, canonical bool) (store.Reference, bool) {
	if strings.HasPrefix(ref, "#") || strings.IndexByte(ref, '?') >= 0 {
		return store.Reference{}, false
	}
	var r store.Reference
	if canonical {
		ref, r.Version = splitCanonical(ref)
	}
	if !isAbsolute(ref) {
		if typ, id, ok := splitAnyReference(ref); ok {
			r.TargetType, r.TargetID = typ, id
		} else {
			r.URL = ref
		}
		return r, true
	}
	if base != "" {
		if rel, ok := strings.CutPrefix(ref, base); ok {
			if typ, id, ok := splitAnyReference(rel); ok {
				r.TargetType, r.TargetID = typ, id
				return r, true
			}
		}
	}
	r.URL = ref
	return r, true
}

// appendURIs converts a value into uri rows (https://hl7.org/fhir/R4/search.html#uri).
func appendURIs(dst []store.URI, param string, v typed) []store.URI {
	if s, ok := v.node.(string); ok && s != "" {
		dst = append(dst, store.URI{Param: param, Value: s})
	}
	return dst
}
