package fhir

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/errs"
)

// DefaultMaxDepth bounds how deeply objects and arrays may nest. The deepest
// structures in real FHIR (nested Questionnaire items, extensions of
// extensions) stay well below it.
const DefaultMaxDepth = 64

// ParseOptions tunes Parse.
type ParseOptions struct {
	MaxDepth int // 0 means DefaultMaxDepth
}

// Parse decodes one JSON object that must be a FHIR resource (it has a
// string resourceType). Errors are errs.Invalid with an issue of code
// "structure" naming the byte offset.
func Parse(data []byte, opts ParseOptions) (map[string]any, error) {
	v, err := ParseJSON(data, opts)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, structureError("a FHIR resource must be a JSON object", 0)
	}
	rt, ok := obj["resourceType"].(string)
	if !ok || rt == "" {
		return nil, errs.E(errs.Invalid, "parse", "the resource has no resourceType",
			errs.Issue{Severity: "error", Code: "structure", Diagnostics: "missing or non-string resourceType"})
	}
	return obj, nil
}

// ParseJSON decodes any JSON value with the same strictness as Parse.
func ParseJSON(data []byte, opts ParseOptions) (any, error) {
	p := parser{data: data, maxDepth: opts.MaxDepth}
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxDepth
	}
	// A UTF-8 byte order mark is tolerated, as many exporters write one.
	if len(p.data) >= 3 && p.data[0] == 0xEF && p.data[1] == 0xBB && p.data[2] == 0xBF {
		p.pos = 3
	}
	p.skipSpace()
	v, err := p.value(0, false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.fail("unexpected data after the JSON value")
	}
	return v, nil
}

func structureError(msg string, offset int) error {
	d := fmt.Sprintf("%s (at byte %d)", msg, offset)
	return errs.E(errs.Invalid, "parse", "the body is not valid FHIR JSON: "+d,
		errs.Issue{Severity: "error", Code: "structure", Diagnostics: d})
}

type parser struct {
	data     []byte
	pos      int
	maxDepth int
}

func (p *parser) fail(msg string) error { return structureError(msg, p.pos) }

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int, inArray bool) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of JSON")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.strValue()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		if !inArray {
			return nil, p.fail("null is not allowed in FHIR JSON except inside arrays of primitives")
		}
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.fail(fmt.Sprintf("unexpected character %q", c))
	}
}

func (p *parser) literal(lit string) error {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return p.fail("invalid literal")
	}
	p.pos += len(lit)
	return nil
}

func (p *parser) object(depth int) (any, error) {
	if depth > p.maxDepth {
		return nil, errs.E(errs.Invalid, "parse", fmt.Sprintf("JSON nesting deeper than %d levels", p.maxDepth),
			errs.Issue{Severity: "error", Code: "too-costly", Diagnostics: fmt.Sprintf("nesting deeper than %d levels at byte %d", p.maxDepth, p.pos)})
	}
	p.pos++ // {
	obj := make(map[string]any, 8)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return obj, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a property name")
		}
		keyPos := p.pos
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if _, dup := obj[key]; dup {
			return nil, structureError(fmt.Sprintf("duplicate property %q", key), keyPos)
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("expected ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		var v any
		if p.pos < len(p.data) && p.data[p.pos] == '"' && uninterned(key) {
			v, err = p.str()
		} else {
			v, err = p.value(depth, false)
		}
		if err != nil {
			return nil, err
		}
		obj[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail("unexpected end of JSON in an object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return obj, nil
		default:
			return nil, p.fail("expected ',' or '}' in an object")
		}
	}
}

func (p *parser) array(depth int) (any, error) {
	if depth > p.maxDepth {
		return nil, errs.E(errs.Invalid, "parse", fmt.Sprintf("JSON nesting deeper than %d levels", p.maxDepth),
			errs.Issue{Severity: "error", Code: "too-costly", Diagnostics: fmt.Sprintf("nesting deeper than %d levels at byte %d", p.maxDepth, p.pos)})
	}
	p.pos++ // [
	arr := make([]any, 0, 2)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return arr, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth, true)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail("unexpected end of JSON in an array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return arr, nil
		default:
			return nil, p.fail("expected ',' or ']' in an array")
		}
	}
}

func (p *parser) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if digits() == 0 {
		return nil, p.fail("invalid number")
	}
	if p.data[intStart] == '0' && p.pos-intStart > 1 {
		return nil, structureError("numbers must not have leading zeros", start)
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail("invalid number: digits expected after '.'")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number: digits expected in the exponent")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}

// plain scans a string without escapes at p.pos (its opening quote) and
// returns its bytes, moving past the closing quote; ok is false, and p.pos
// unchanged, for a string with escapes or invalid content, which str
// handles.
func (p *parser) plain() (b []byte, ok bool) {
	for i := p.pos + 1; i < len(p.data); i++ {
		c := p.data[i]
		if c == '"' {
			b = p.data[p.pos+1 : i]
			if !utf8.Valid(b) {
				return nil, false
			}
			p.pos = i + 1
			return b, true
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
	}
	return nil, false
}

// key parses a property name, taking short ones from the intern table.
func (p *parser) key() (string, error) {
	start := p.pos
	if b, ok := p.plain(); ok {
		if len(b) <= internMaxLen {
			return intern(b).s, nil
		}
		p.pos = start
	}
	return p.str()
}

// strValue parses a string value, taking short ones from the intern table
// already boxed.
func (p *parser) strValue() (any, error) {
	start := p.pos
	if b, ok := p.plain(); ok {
		if len(b) <= internMaxLen {
			return intern(b).v, nil
		}
		p.pos = start
	}
	return p.str()
}

func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes, all ASCII or valid UTF-8.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return "", structureError("invalid UTF-8 in a string", start)
			}
			return string(s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character in a string")
		}
		p.pos++
	}
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, p.data[start:p.pos]...)
	buf, end, msg := unescape(p.data, p.pos, buf)
	p.pos = end
	if msg != "" {
		return "", p.fail(msg)
	}
	if !utf8.Valid(buf) {
		return "", structureError("invalid UTF-8 in a string", start)
	}
	return string(buf), nil
}

// unescape appends to buf the rest of a JSON string from data[pos], which
// follows the opening quote and whatever plain bytes buf already holds, up
// to the closing quote, decoding escapes; it returns the position after the
// quote. On a fault msg names it, and end is where it was found. An escape
// right after a surrogate escape is taken as its pair; a pair that is not
// one decodes to U+FFFD. Parse and EachReference both read strings with it.
func unescape(data []byte, pos int, buf []byte) (out []byte, end int, msg string) {
	for pos < len(data) {
		c := data[pos]
		switch {
		case c == '"':
			return buf, pos + 1, ""
		case c < 0x20:
			return nil, pos, "control character in a string"
		case c != '\\':
			buf = append(buf, c)
			pos++
			continue
		}
		pos++
		if pos >= len(data) {
			break
		}
		e := data[pos]
		pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(data, pos)
			if !ok {
				return nil, pos, "invalid \\u escape"
			}
			pos += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if pos+1 < len(data) && data[pos] == '\\' && data[pos+1] == 'u' {
					pos += 2
					if r2, ok = hex4(data, pos); !ok {
						return nil, pos, "invalid \\u escape"
					}
					pos += 4
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, pos, "invalid escape in a string"
		}
	}
	return nil, pos, "unterminated string"
}

// hex4 reads the four hexadecimal digits of a \\u escape at data[pos].
func hex4(data []byte, pos int) (rune, bool) {
	if len(data)-pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range data[pos : pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
