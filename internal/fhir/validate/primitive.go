package validate

import (
	"strconv"
	"strings"
)

// primitive checks a primitive value's JSON type and lexical form
// (https://hl7.org/fhir/R4/datatypes.html#primitive, json.html#primitive):
// booleans are JSON booleans, integer and decimal types JSON numbers, all
// others JSON strings, never empty. The formats are checked by hand rather
// than with the definitions' regular expressions: this runs for every
// primitive of every resource written, and the hand checks also catch
// impossible calendar dates.
func (s *state) primitive(val any, c *childInfo) {
	switch c.prim {
	case pBoolean:
		if _, ok := val.(bool); !ok {
			s.errorf("structure", "%s must be a JSON boolean, not %s", c.typeName, jsonKind(val))
		}
		return
	case pInteger, pPositiveInt, pUnsignedInt, pDecimal:
		text, ok := number(val)
		if !ok {
			s.errorf("structure", "%s must be a JSON number, not %s", c.typeName, jsonKind(val))
			return
		}
		if msg := checkNumber(c.prim, text); msg != "" {
			s.errorf("value", "%q is not a valid %s: %s", text, c.typeName, msg)
		}
		return
	}
	str, ok := val.(string)
	if !ok {
		s.errorf("structure", "%s must be a JSON string, not %s", c.typeName, jsonKind(val))
		return
	}
	if str == "" {
		s.errorf("value", "%s values must not be empty", c.typeName)
		return
	}
	if msg := checkString(c.prim, str); msg != "" {
		s.errorf("value", "%s is not a valid %s: %s", clip(str), c.typeName, msg)
		return
	}
	switch c.prim {
	case pXHTML:
		s.checkXHTML(str)
	case pURI:
		if str[0] == '#' && s.res != nil {
			s.res.localRefs = append(s.res.localRefs, str)
		}
	}
	if c.vs != nil && !c.vs.ContainsCode(str) {
		s.errorf("code-invalid", "the value %q is not in the value set %s, which is required", str, c.elem.Binding.ValueSet)
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	if _, ok := number(v); ok {
		return "a number"
	}
	return "an unexpected value"
}

func clip(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strconv.Quote(s)
}

// checkNumber checks the text of a JSON number (already JSON-valid, so it
// matches the decimal pattern) against the integer types' ranges: 32-bit
// signed integers (https://hl7.org/fhir/R4/datatypes.html#integer).
func checkNumber(k primKind, text string) string {
	if k == pDecimal {
		return ""
	}
	if strings.ContainsAny(text, ".eE") {
		return "not a whole number"
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return "out of the 32-bit range"
	}
	if text[0] == '-' && n == 0 {
		return "negative zero"
	}
	switch {
	case k == pPositiveInt && n < 1:
		return "must be at least 1"
	case k == pUnsignedInt && n < 0:
		return "must not be negative"
	}
	return ""
}

// checkString checks the lexical form of a non-empty string primitive.
func checkString(k primKind, s string) string {
	switch k {
	case pString, pMarkdown:
		// [ \r\n\t\S]+ : anything but other whitespace controls.
		if strings.ContainsRune(s, '\f') || strings.ContainsRune(s, '\v') {
			return "contains a form feed or vertical tab"
		}
	case pCode:
		// [^\s]+(\s[^\s]+)* : no leading, trailing or repeated whitespace.
		prevSpace := true
		for i := 0; i < len(s); i++ {
			sp := isSpace(s[i])
			if sp && prevSpace {
				return "leading or repeated whitespace"
			}
			prevSpace = sp
		}
		if prevSpace {
			return "trailing whitespace"
		}
	case pID:
		if len(s) > 64 {
			return "longer than 64 characters"
		}
		for i := 0; i < len(s); i++ {
			if b := s[i]; !(isAlnum(b) || b == '-' || b == '.') {
				return "only letters, digits, '-' and '.' are allowed"
			}
		}
	case pURI:
		for i := 0; i < len(s); i++ {
			if isSpace(s[i]) {
				return "whitespace is not allowed"
			}
		}
	case pOID:
		if !validOID(s) {
			return "expected urn:oid:n.n..."
		}
	case pUUID:
		if !validUUID(s) {
			return "expected urn:uuid: and a lower-case UUID"
		}
	case pDate:
		if !parseDateTime(s, dateOnly) {
			return "expected YYYY, YYYY-MM or YYYY-MM-DD"
		}
	case pDateTime:
		if !parseDateTime(s, dateOrDateTime) {
			return "expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss(.s)+zz:zz"
		}
	case pInstant:
		if !parseDateTime(s, instantOnly) {
			return "expected YYYY-MM-DDThh:mm:ss(.s)+zz:zz"
		}
	case pTime:
		if !parseTime(s) {
			return "expected hh:mm:ss(.s)"
		}
	case pBase64:
		if !validBase64(s) {
			return "not base64"
		}
	}
	return ""
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}
func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isAlnum(b byte) bool {
	return isDigit(b) || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func validOID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:oid:")
	if !ok || len(rest) < 3 || rest[0] < '0' || rest[0] > '2' || rest[1] != '.' {
		return false
	}
	for _, part := range strings.Split(rest[2:], ".") {
		if part == "" || (len(part) > 1 && part[0] == '0') {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return false
			}
		}
	}
	return true
}

func validUUID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || len(rest) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		b := rest[i]
		switch i {
		case 8, 13, 18, 23:
			if b != '-' {
				return false
			}
		default:
			if !isDigit(b) && (b < 'a' || b > 'f') {
				return false
			}
		}
	}
	return true
}

// validBase64 accepts groups of four characters of the base64 alphabet,
// with whitespace between them (https://hl7.org/fhir/R4/datatypes.html#base64Binary).
func validBase64(s string) bool {
	n := 0
	pad := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case isSpace(b):
			continue
		case b == '=':
			pad++
		case isAlnum(b) || b == '+' || b == '/':
			if pad > 0 {
				return false
			}
		default:
			return false
		}
		n++
	}
	return n > 0 && n%4 == 0 && pad <= 2
}
