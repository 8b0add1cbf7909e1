package fhir

import (
	"fmt"
	"unicode/utf8"
)

// EachReference calls fn with the value of every "reference" property whose
// value is a string, at any depth of the JSON document raw: the
// Reference.reference of every Reference
// (https://hl7.org/fhir/R4/references.html), in document order. The value
// of a "div" property (the narrative) is skipped whole.
//
// It reads the bytes as they are, without building the document: a stored
// resource's references cost no allocation unless a reference holds an
// escape. ref aliases raw, or a scratch buffer for an escaped string; it is
// valid only until fn returns.
//
// It finds the same references as walking the tree fhir.Parse builds, and
// refuses malformed JSON as Parse does (errs.Invalid, "structure"). It
// checks the JSON grammar only: what Parse refuses beyond it (null outside
// an array, duplicate properties, nesting deeper than DefaultMaxDepth, a
// document that is not a resource, invalid UTF-8 outside the reported
// references) is not an error here.
func EachReference(raw []byte, fn func(ref []byte)) error {
	s := refScanner{data: raw}
	if len(raw) >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF {
		s.pos = 3
	}
	var stackArr [DefaultMaxDepth]byte
	stack := stackArr[:0] // '{' or '[' of each open container
	mute := -1            // the depth of the "div" value being skipped, -1 when none
	key := keyOther       // what the next value is the value of
	for {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail("unexpected end of JSON")
		}
		switch c := s.data[s.pos]; {
		case c == '{' || c == '[':
			if key == keyDiv && mute < 0 {
				mute = len(stack)
			}
			stack = append(stack, c)
			s.pos++
			s.skipSpace()
			if s.pos < len(s.data) && s.data[s.pos] == c+2 { // '}' or ']'
				s.pos++
				stack = stack[:len(stack)-1]
				if mute == len(stack) {
					mute = -1
				}
				break
			}
			if c == '[' {
				key = keyOther
				continue
			}
			var err error
			if key, err = s.key(); err != nil {
				return err
			}
			continue
		case c == '"':
			v, err := s.str()
			if err != nil {
				return err
			}
			if key == keyRef && mute < 0 {
				if !utf8.Valid(v) {
					return s.fail("invalid UTF-8 in a string")
				}
				fn(v)
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := s.number(); err != nil {
				return err
			}
		default:
			return s.fail(fmt.Sprintf("unexpected character %q", c))
		}
		// A value ended: close the containers that end here, then move to
		// the next value.
	next:
		for {
			s.skipSpace()
			if len(stack) == 0 {
				if s.pos != len(s.data) {
					return s.fail("unexpected data after the JSON value")
				}
				return nil
			}
			if s.pos >= len(s.data) {
				return s.fail("unexpected end of JSON")
			}
			top, c := stack[len(stack)-1], s.data[s.pos]
			switch {
			case c == ',':
				s.pos++
				if top == '[' {
					key = keyOther
					break next
				}
				s.skipSpace()
				var err error
				if key, err = s.key(); err != nil {
					return err
				}
				break next
			case c == top+2:
				s.pos++
				stack = stack[:len(stack)-1]
				if mute == len(stack) {
					mute = -1
				}
			case top == '{':
				return s.fail("expected ',' or '}' in an object")
			default:
				return s.fail("expected ',' or ']' in an array")
			}
		}
	}
}

// The kinds of property name EachReference tells apart.
const (
	keyOther = iota
	keyRef
	keyDiv
)

type refScanner struct {
	data []byte
	pos  int
	buf  []byte // unescaped strings
}

func (s *refScanner) fail(msg string) error { return structureError(msg, s.pos) }

func (s *refScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// key reads a property name and the ':' after it.
func (s *refScanner) key() (int, error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return 0, s.fail("expected a property name")
	}
	k, err := s.str()
	if err != nil {
		return 0, err
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return 0, s.fail("expected ':' after a property name")
	}
	s.pos++
	switch string(k) {
	case "reference":
		return keyRef, nil
	case "div":
		return keyDiv, nil
	}
	return keyOther, nil
}

// plain marks the bytes a string holds as they are: not the closing quote,
// not a backslash, not a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string starting at its opening quote and returns its value:
// a slice of data when it has no escapes, of s.buf when it has. Escapes
// are decoded as Parse decodes them.
func (s *refScanner) str() ([]byte, error) {
	s.pos++ // opening quote
	start := s.pos
	for s.pos < len(s.data) && plain[s.data[s.pos]] {
		s.pos++
	}
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		s.pos++
		return s.data[start : s.pos-1], nil
	}
	buf, end, msg := unescape(s.data, s.pos, append(s.buf[:0], s.data[start:s.pos]...))
	s.pos = end
	if msg != "" {
		return nil, s.fail(msg)
	}
	s.buf = buf // kept for the next escaped string
	return buf, nil
}

func (s *refScanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.fail("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// number reads a JSON number with Parse's grammar (no leading zeros).
func (s *refScanner) number() error {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	intStart := s.pos
	if digits() == 0 {
		return s.fail("invalid number")
	}
	if s.data[intStart] == '0' && s.pos-intStart > 1 {
		return structureError("numbers must not have leading zeros", start)
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.fail("invalid number: digits expected after '.'")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.fail("invalid number: digits expected in the exponent")
		}
	}
	return nil
}
