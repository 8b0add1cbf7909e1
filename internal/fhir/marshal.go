package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// leading lists the properties written first, in this order, wherever they
// occur; the remaining properties follow in byte order of their names, each
// primitive's "_name" companion directly after "name". This makes the
// stored bytes of a resource a function of its content alone.
var leading = []string{"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension", "url"}

func leadingRank(k string) int {
	for i, l := range leading {
		if k == l {
			return i
		}
	}
	return -1
}

// Layout tells the writer the element order of FHIR types
// (defs.Definitions satisfies it). Order returns the position of JSON
// property key among the children of an object of FHIR type typ and the
// type of its value; ok is false for a property the type does not define.
type Layout interface {
	Order(typ, key string) (pos int, childType string, ok bool)
}

// Marshal writes v (a parsed resource or any part of one) as canonical JSON
// without type information: resourceType, id and meta first, the rest by
// name.
func Marshal(v any) []byte {
	return AppendJSON(make([]byte, 0, 1024), v, "")
}

// MarshalIndent writes v as canonical JSON indented with two spaces, for
// humans (the _pretty parameter).
func MarshalIndent(v any) []byte {
	return AppendJSON(make([]byte, 0, 2048), v, "  ")
}

// AppendJSON appends the canonical JSON of v to dst. indent "" means compact.
func AppendJSON(dst []byte, v any, indent string) []byte {
	e := encoder{indent: indent}
	e.buf = dst
	e.value(v, 0, "")
	return e.buf
}

// MarshalResource writes a resource in FHIR's element order
// (https://hl7.org/fhir/R4/json.html: "properties SHOULD be in the order
// defined"), the order the Repository stores and serves. Properties the
// layout does not know follow, by name.
func MarshalResource(res map[string]any, l Layout) []byte {
	bp := scratch.Get().(*[]byte)
	e := encoder{layout: l, buf: (*bp)[:0]}
	e.value(res, 0, TypeOf(res))
	out := bytes.Clone(e.buf)
	if cap(e.buf) <= maxScratch {
		*bp = e.buf
		scratch.Put(bp)
	}
	return out
}

// scratch holds the buffers MarshalResource writes into before copying the
// result at its exact size: a buffer grown by doubling would allocate about
// twice the resource's size and keep the unused half with the stored bytes.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxScratch bounds the buffers kept for reuse (a resource with a large
// attachment does not keep its buffer alive).
const maxScratch = 256 << 10

type encoder struct {
	buf    []byte
	indent string
	layout Layout
}

// Raw is JSON that is already canonical (a stored resource): the writer
// copies it as it is, so a search Bundle embeds stored resources without
// parsing them again.
type Raw []byte

func (e *encoder) newline(depth int) {
	if e.indent == "" {
		return
	}
	e.buf = append(e.buf, '\n')
	for i := 0; i < depth; i++ {
		e.buf = append(e.buf, e.indent...)
	}
}

func (e *encoder) value(v any, depth int, typ string) {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case json.Number:
		e.buf = append(e.buf, x...)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case float64:
		e.buf = strconv.AppendFloat(e.buf, x, 'f', -1, 64)
	case Raw:
		if e.indent == "" {
			e.buf = append(e.buf, x...)
			return
		}
		v, err := ParseJSON(x, ParseOptions{})
		if err != nil {
			panic(fmt.Sprintf("fhir.Marshal: Raw holds invalid JSON: %v", err))
		}
		e.value(v, depth, typ)
	case map[string]any:
		if rt, ok := x["resourceType"].(string); ok && (typ == "" || typ == "Resource" || typ == rt) {
			typ = rt
		}
		e.object(x, depth, typ)
	case []any:
		e.buf = append(e.buf, '[')
		for i, item := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.newline(depth + 1)
			e.value(item, depth+1, typ)
		}
		if len(x) > 0 {
			e.newline(depth)
		}
		e.buf = append(e.buf, ']')
	case []map[string]any:
		arr := make([]any, len(x))
		for i := range x {
			arr[i] = x[i]
		}
		e.value(arr, depth, typ)
	case []string:
		arr := make([]any, len(x))
		for i := range x {
			arr[i] = x[i]
		}
		e.value(arr, depth, typ)
	default:
		panic(fmt.Sprintf("fhir.Marshal: unsupported type %T", v))
	}
}

// place ranks property k of an object of type typ. Without a layout (or for
// an unknown type) every property has the same rank and keyOrder decides.
func (e *encoder) place(typ, k string) prop {
	if e.layout == nil || typ == "" {
		return prop{key: k}
	}
	if k == "resourceType" {
		return prop{key: k, rank: -1}
	}
	base, under := baseName(k)
	pos, ct, ok := e.layout.Order(typ, base)
	if !ok {
		return prop{key: k, rank: unknownRank}
	}
	p := prop{key: k, rank: 2 * pos, typ: ct}
	if under {
		p.rank++
		p.typ = "Element" // a primitive's id and extensions
	}
	return p
}

// keyOrder compares property names for canonical output.
func keyOrder(a, b string) int {
	ra, rb := leadingRank(a), leadingRank(b)
	switch {
	case ra >= 0 && rb >= 0:
		return ra - rb
	case ra >= 0:
		return -1
	case rb >= 0:
		return 1
	}
	// "_x" sorts right after "x".
	ba, ua := baseName(a)
	bb, ub := baseName(b)
	if ba != bb {
		if ba < bb {
			return -1
		}
		return 1
	}
	switch {
	case ua == ub:
		return 0
	case ub:
		return -1
	default:
		return 1
	}
}

func baseName(k string) (string, bool) {
	if len(k) > 1 && k[0] == '_' {
		return k[1:], true
	}
	return k, false
}

// prop is a property with its place in the output and its value's type.
type prop struct {
	key  string
	rank int // 2*position, +1 for a "_x" companion; unknown properties rank last
	typ  string
}

const unknownRank = 1 << 30

func (e *encoder) object(m map[string]any, depth int, typ string) {
	var small [24]prop
	props := small[:0]
	for k := range m {
		props = append(props, e.place(typ, k))
	}
	slices.SortFunc(props, func(a, b prop) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return keyOrder(a.key, b.key)
	})
	e.buf = append(e.buf, '{')
	for i, p := range props {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.newline(depth + 1)
		e.buf = appendString(e.buf, p.key)
		e.buf = append(e.buf, ':')
		if e.indent != "" {
			e.buf = append(e.buf, ' ')
		}
		e.value(m[p.key], depth+1, p.typ)
	}
	if len(props) > 0 {
		e.newline(depth)
	}
	e.buf = append(e.buf, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping only what JSON requires
// (quotes, backslashes, control characters) and the line separators U+2028
// and U+2029. Narrative XHTML stays readable.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
