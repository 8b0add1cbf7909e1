package fhirpath

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Model gives the engine FHIR type information. The definitions package
// satisfies it; a nil Model makes the engine work from the JSON alone.
type Model interface {
	// ChildType: the FHIR type of element `name` (FHIRPath name, e.g. "value", not "valueQuantity") of a
	// node of type `parent` ("Patient", "HumanName", "Observation.component"). For a choice element
	// (value[x]) it returns choice=true and types = the allowed type names ("Quantity","string",...);
	// otherwise one type. ok=false when unknown.
	ChildType(parent, name string) (types []string, choice bool, ok bool)
	// IsSubtype: typ is base or derives from it ("Age"→"Quantity", "Patient"→"DomainResource"→"Resource", "code"→"string").
	IsSubtype(typ, base string) bool
	// IsResource: name is a resource type.
	IsResource(name string) bool
}

// Options controls one evaluation. A nil *Options is the same as the zero value.
type Options struct {
	Model Model // type information; nil = model-free (best effort)
	// Resolve resolves a reference for resolve(); nil means only contained
	// ("#id") references resolve. See ReferenceStub for a cheap resolver.
	Resolve   func(ref string) (any, error)
	Variables map[string]any // %vars supplied by the caller: JSON nodes, Go primitives, Value or Collection
	RootType  string         // FHIR type of input when it is not a resource with resourceType
	Now       func() time.Time
	// MemberOf answers memberOf(); nil makes memberOf() return empty.
	MemberOf func(code Value, valueSet string) (bool, error)
	// Trace receives trace() output; nil discards it.
	Trace func(name string, c Collection)
	// StrictAs makes "as" (operator and function) an error on more than one
	// item, as FHIRPath N1 says. By default it filters the collection like
	// ofType(): R4 content needs that, e.g. the search parameter
	// "(Observation.component.value as Quantity)" and the invariant dom-3.
	StrictAs bool
	// Paths makes every node carry its location (e.g. "Patient.name[0].given[1]"),
	// at the cost of an allocation per node.
	Paths bool
}

// Kind says what a Value holds.
type Kind uint8

// Value kinds. KindNode is an element of the JSON tree; the rest are
// FHIRPath System types (FHIRPath §2.1.20).
const (
	KindNode Kind = iota
	KindBoolean
	KindString
	KindInteger
	KindDecimal
	KindDate
	KindDateTime
	KindTime
	KindQuantity
	KindTypeInfo
)

var kindNames = [...]string{"", "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity", "TypeInfo"}

// Collection is an ordered FHIRPath collection.
type Collection []Value

// Value is one item of a collection: either a node of the JSON tree with its
// FHIR type name, or a System primitive.
type Value struct {
	data any            // node: JSON value; system: bool, string, int64, Decimal, DateTime, Quantity, TypeInfo
	ext  map[string]any // node: the "_name" sibling of a primitive (id, extension)
	typ  string         // node: FHIR type name ("HumanName", "code", "Observation.component"); "" when unknown
	path string         // node: location, when Options.Paths is set
	kind Kind
}

// TypeInfo is the result of type() (FHIRPath §11 reflection, SimpleTypeInfo/ClassInfo).
type TypeInfo struct {
	Namespace, Name string
}

// NodeValue wraps a JSON node with its FHIR type name ("" if unknown).
func NodeValue(node any, fhirType string) Value { return Value{data: node, typ: fhirType} }

// Boolean returns a System.Boolean.
func Boolean(b bool) Value { return Value{kind: KindBoolean, data: b} }

// String returns a System.String.
func String(s string) Value { return Value{kind: KindString, data: s} }

// Integer returns a System.Integer.
func Integer(i int64) Value { return Value{kind: KindInteger, data: i} }

// DecimalValue returns a System.Decimal.
func DecimalValue(d Decimal) Value { return Value{kind: KindDecimal, data: d} }

// DateTimeValue returns a System.Date, DateTime or Time according to d.Kind.
func DateTimeValue(d DateTime) Value { return Value{kind: d.Kind, data: d} }

// QuantityValue returns a System.Quantity.
func QuantityValue(q Quantity) Value { return Value{kind: KindQuantity, data: q} }

// Kind reports what the value holds.
func (v Value) Kind() Kind { return v.kind }

// IsNode reports whether v is a node of the JSON tree (as opposed to a System value).
func (v Value) IsNode() bool { return v.kind == KindNode }

// Type returns the FHIR type name of a node ("HumanName", "code",
// "Observation.component"; "" if unknown) or the System type name
// ("String", "Integer", ...) of a System value.
func (v Value) Type() string {
	if v.kind == KindNode {
		return v.typ
	}
	return kindNames[v.kind]
}

// Namespace returns "FHIR" for nodes and "System" for System values.
func (v Value) Namespace() string {
	if v.kind == KindNode {
		return "FHIR"
	}
	return "System"
}

// Path returns the node's location when Options.Paths was set.
func (v Value) Path() string { return v.path }

// JSON returns the underlying JSON value of a node (map[string]any, string,
// json.Number, bool, or nil for a primitive that has only an extension). For
// a System value it returns its JSON form (bool, string, json.Number).
func (v Value) JSON() any {
	switch v.kind {
	case KindNode:
		return v.data
	case KindBoolean:
		return v.data
	case KindInteger:
		return json.Number(strconv.FormatInt(v.data.(int64), 10))
	case KindDecimal:
		return json.Number(v.data.(Decimal).String())
	case KindQuantity:
		q := v.data.(Quantity)
		m := map[string]any{"value": json.Number(q.Value.String())}
		if code, ok := calendarUCUM[q.Unit]; ok {
			m["unit"], m["code"], m["system"] = q.Unit, code, ucumSystem
		} else {
			m["unit"], m["code"], m["system"] = q.Unit, q.Unit, ucumSystem
		}
		return m
	}
	return v.String()
}

// Extension returns the primitive-extension sibling object ("_name") of a
// primitive node, or nil.
func (v Value) Extension() map[string]any { return v.ext }

// Object returns the node as a JSON object, if it is one.
func (v Value) Object() (map[string]any, bool) {
	m, ok := v.data.(map[string]any)
	return m, ok && v.kind == KindNode
}

// Primitive returns the Go value of a primitive: bool, string, int64,
// Decimal, DateTime or Quantity. Primitive nodes are converted according to
// their FHIR type (a "date" node gives a DateTime of kind KindDate).
func (v Value) Primitive() (any, bool) {
	s, ok := v.system()
	if !ok {
		return nil, false
	}
	return s.data, true
}

// String renders the value as FHIRPath's toString() would.
func (v Value) String() string {
	s, ok := v.system()
	if !ok {
		if v.kind == KindNode {
			b, _ := json.Marshal(v.data)
			return string(b)
		}
		return ""
	}
	switch x := s.data.(type) {
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case Decimal:
		return x.String()
	case DateTime:
		return x.String()
	case Quantity:
		return x.String()
	case TypeInfo:
		return x.Namespace + "." + x.Name
	}
	return ""
}

// system converts a primitive node to its System value (FHIR R4 §2.1.9.1
// mapping of FHIR primitives to FHIRPath types). System values return themselves.
func (v Value) system() (Value, bool) {
	if v.kind != KindNode {
		return v, true
	}
	switch x := v.data.(type) {
	case nil:
		return Value{}, false
	case string:
		switch v.typ {
		case "date":
			if d, err := ParseDate(x); err == nil {
				return DateTimeValue(d), true
			}
		case "dateTime", "instant":
			if d, err := ParseDateTime(x); err == nil {
				return DateTimeValue(d), true
			}
		case "time":
			if d, err := ParseTime(x); err == nil {
				return DateTimeValue(d), true
			}
		}
		return String(x), true
	case json.Number:
		s := string(x)
		if v.typ != "decimal" && !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return Integer(i), true
			}
		}
		if d, err := ParseDecimal(s); err == nil {
			return DecimalValue(d), true
		}
	case float64:
		if d, ok := DecimalFromFloat(x); ok {
			if v.typ != "decimal" && d.IsInteger() {
				i, _ := d.Int64()
				return Integer(i), true
			}
			return DecimalValue(d), true
		}
	case bool:
		return Boolean(x), true
	case map[string]any:
		if q, ok := quantityFromNode(x, v.typ); ok {
			return QuantityValue(q), true
		}
	}
	return Value{}, false
}

// hasNoValue reports whether v is a primitive node that carries only an id or
// extensions (FHIR JSON "_name" without "name"); operators treat it as empty.
func hasNoValue(v Value) bool { return v.kind == KindNode && v.data == nil }

// isPrimitiveNode reports whether v is a node holding a JSON primitive (or only an extension).
func (v Value) isPrimitiveNode() bool {
	if v.kind != KindNode {
		return false
	}
	switch v.data.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}
