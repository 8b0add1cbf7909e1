package chart

import (
	"bytes"
	"errors"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// The summary shows the newest observation of each code, and the largest
// records hold thousands of observations. Parsing each one whole is most
// of the summary's time, so observations are first read in part: only the
// members that decide which one is the newest of its code (status, category,
// code, effective time, which members hold a value, the components'
// codes), skipping the rest of the bytes without building anything. Only
// the observations that are the newest for some code are then parsed
// whole. The choice is the one the whole parse would make: each
// observation is ranked under exactly the keys the summary's rules group
// it by.

// members calls fn with the key and the raw value of each member of the
// JSON object in data.
func members(data []byte, fn func(key, raw []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		if data[i] != '"' {
			return errors.New("a member name was expected")
		}
		end, err := skipValue(data, i)
		if err != nil {
			return err
		}
		key := data[i+1 : end-1] // member names of FHIR JSON have no escapes
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errors.New("':' was expected")
		}
		i = skipSpace(data, i+1)
		end, err = skipValue(data, i)
		if err != nil {
			return err
		}
		fn(key, data[i:end])
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return nil
		}
		return errors.New("',' or '}' was expected")
	}
	return errors.New("unterminated object")
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the offset just after the JSON value starting at i.
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("a value was expected")
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errors.New("unterminated string")
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := skipValue(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	default: // number, true, false, null
		j := i
		for j < len(data) && !strings.ContainsRune(",}] \t\r\n", rune(data[j])) {
			j++
		}
		return j, nil
	}
}

// peeker ranks the observations of one record. Codes, categories and
// coded values repeat across a record's observations: each distinct one
// is parsed once, and so are the rank keys of each code and category.
type peeker struct {
	raw  map[string]any      // parsed JSON by its bytes
	keys map[string][]string // rank keys of the code and category
}

// peek reads the members of an Observation that rank it, and returns its
// rank keys (nil for one entered in error or cancelled). References,
// narrative, meta, notes, reference ranges and the values themselves are
// skipped.
func (pk *peeker) peek(rec *store.Record) (Date, []string, error) {
	part := map[string]any{}
	var code, category []byte
	quantityShown := false
	err := members(rec.JSON, func(k, raw []byte) {
		switch string(k) { // compared, not copied
		case "code":
			code = raw
			return
		case "category":
			category = raw
			return
		case "status", "effectiveDateTime", "effectiveInstant", "issued":
			if v, ok := plainString(raw); ok {
				part[string(k)] = v
				return
			}
		case "valueQuantity":
			// A quantity with a number always shows it: no need to build it.
			if bytes.Contains(raw, []byte(`"value":`)) {
				quantityShown = true
				return
			}
		case "valueCodeableConcept":
			if v := pk.parsed(raw); v != nil {
				part["valueCodeableConcept"] = v
			}
			return
		case "component", "effectivePeriod", "dataAbsentReason", "valueSampledData", "valueAttachment":
		default:
			if !bytes.HasPrefix(k, []byte("value")) {
				return
			}
		}
		if string(k) == "valueSampledData" || string(k) == "valueAttachment" {
			return // not shown as a value
		}
		if v, err := fhir.ParseJSON(raw, fhir.ParseOptions{}); err == nil {
			part[string(k)] = v
		}
	})
	if err != nil {
		return Date{}, nil, err
	}
	if st := fhir.Str(part["status"]); st == "entered-in-error" || st == "cancelled" {
		return Date{}, nil, nil
	}
	// Whether a value is shown is decided as the whole parse decides it.
	hasValue := quantityShown || value(part).Text != ""
	eff := effective(part)
	comps := objs(part, "component")
	var keys []string
	if hasValue || len(comps) > 0 {
		keys = pk.mainKeys(code, category)
	}
	for _, comp := range comps {
		// A component's value is read whole: components are small.
		if value(comp).Text == "" {
			continue
		}
		for _, cd := range concept(fhir.Obj(comp["code"])).Codings {
			keys = append(keys[:len(keys):len(keys)], "code:"+cd.System+"|"+cd.Code)
		}
	}
	return eff, keys, nil
}

// mainKeys are the rank keys of an observation with a value or
// components, by its code and category, with the conditions of the
// summary's rules: every coding of its code (latestVitals), and its code
// key among laboratory results and among social history (latestByCode).
func (pk *peeker) mainKeys(code, category []byte) []string {
	memoKey := string(code) + "\x00" + string(category)
	if k, ok := pk.keys[memoKey]; ok {
		return k
	}
	var o Observation
	if v, ok := pk.parsed(code).(map[string]any); ok {
		o.Code = concept(v)
	}
	if v := pk.parsed(category); v != nil {
		for _, c := range concepts(map[string]any{"category": v}, "category") {
			for _, cd := range c.Codings {
				o.Category = append(o.Category, cd.Code)
			}
		}
	}
	var keys []string
	for _, cd := range o.Code.Codings {
		keys = append(keys, "code:"+cd.System+"|"+cd.Code)
	}
	if isLab(o) {
		keys = append(keys, "lab:"+codeKey(o.Code))
	}
	if isSocial(o) {
		keys = append(keys, "social:"+codeKey(o.Code))
	}
	pk.keys[memoKey] = keys
	return keys
}

// parsed parses raw JSON once per distinct value; nil for nothing or
// what is not an object or an array.
func (pk *peeker) parsed(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	if v, ok := pk.raw[string(raw)]; ok {
		return v
	}
	v, err := fhir.ParseJSON(raw, fhir.ParseOptions{})
	switch v.(type) {
	case map[string]any, []any:
	default:
		v = nil
	}
	if err != nil {
		v = nil
	}
	pk.raw[string(raw)] = v
	return v
}

// plainString returns the content of a JSON string without escapes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	for _, b := range raw[1 : len(raw)-1] {
		if b == '\\' {
			return "", false
		}
	}
	return string(raw[1 : len(raw)-1]), true
}

// newestObservations keeps, of the Observation records, those that are
// the newest under one of their rank keys (the latest effective time,
// then the greater id, as newer decides), leaving out those entered in
// error or cancelled.
func newestObservations(recs []*store.Record) ([]*store.Record, error) {
	type best struct {
		eff Date
		rec *store.Record
	}
	top := map[string]best{}
	pk := &peeker{raw: map[string]any{}, keys: map[string][]string{}}
	for _, rec := range recs {
		eff, keys, err := pk.peek(rec)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if cur, ok := top[k]; !ok || newestFirst(eff, cur.eff, cur.rec.ID, rec.ID) < 0 {
				top[k] = best{eff, rec}
			}
		}
	}
	seen := map[*store.Record]bool{}
	for _, b := range top {
		seen[b.rec] = true
	}
	var out []*store.Record
	for _, rec := range recs { // in the search's order
		if seen[rec] {
			out = append(out, rec)
		}
	}
	return out, nil
}
