package validate

import (
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs"
)

// primKind says how a primitive value is checked.
type primKind uint8

const (
	notPrimitive primKind = iota
	pBoolean
	pInteger
	pPositiveInt
	pUnsignedInt
	pDecimal
	pString
	pMarkdown
	pCode
	pID
	pURI // uri, url, canonical
	pOID
	pUUID
	pDate
	pDateTime
	pInstant
	pTime
	pBase64
	pXHTML
)

var primKinds = map[string]primKind{
	"boolean": pBoolean, "integer": pInteger, "positiveInt": pPositiveInt, "unsignedInt": pUnsignedInt,
	"decimal": pDecimal, "string": pString, "markdown": pMarkdown, "code": pCode, "id": pID,
	"uri": pURI, "url": pURI, "canonical": pURI, "oid": pOID, "uuid": pUUID, "date": pDate,
	"dateTime": pDateTime, "instant": pInstant, "time": pTime, "base64Binary": pBase64, "xhtml": pXHTML,
}

// special marks complex types with checks beyond their elements.
type special uint8

const (
	plain special = iota
	spResource
	spReference
	spExtension
	spCoding
	spCodeableConcept
)

// typeInfo is the validator's precomputed view of a defs.Type.
type typeInfo struct {
	name        string
	t           *defs.Type
	isResource  bool
	children    map[string]*childInfo // by JSON property name, choice variants spelled out
	required    []required
	constraints []*defs.Constraint // the type's own invariants for the hook
}

// required is an element with min > 0 and the JSON names that satisfy it.
type required struct {
	elem  *defs.Element
	names []string
}

// childInfo is one JSON property of an object of some type.
type childInfo struct {
	name        string
	elem        *defs.Element
	typeName    string
	prim        primKind
	special     special
	ti          *typeInfo // nil for primitives and resources
	array       bool
	vs          *defs.ValueSet // expanded required binding, or nil
	targets     []string       // allowed reference target types; nil = any
	constraints []*defs.Constraint
}

// structural lists the invariants that the validator enforces in Go, so the
// hook need not evaluate them on every node.
var structural = map[string]bool{
	"ele-1": true, "ext-1": true, "dom-2": true, "dom-3": true, "dom-4": true, "dom-5": true,
	"ref-1": true, "txt-1": true, "txt-2": true,
}

// advisory lists invariants whose findings are reported as warnings whatever
// their declared severity:
//   - dom-6 (a resource should have narrative) is best practice, not a rule;
//   - que-7 in R4 reads "answer is Boolean", which under FHIRPath's type
//     rules is never true for a FHIR boolean (System.Boolean is not
//     FHIR.boolean), so it would reject every exists-operator enableWhen,
//     the specification's own examples included; later versions correct it
//     to "answer is boolean".
var advisory = map[string]bool{"dom-6": true, "que-7": true}

func (v *Validator) buildModel() {
	v.types = map[string]*typeInfo{}
	names := v.d.ResourceTypes()
	for _, n := range append([]string{"Resource", "DomainResource"}, names...) {
		v.info(n)
	}
	v.element = v.info("Element")
}

// info returns the typeInfo of a complex, resource or backbone type,
// building it (and those it refers to) on first use during New.
func (v *Validator) info(name string) *typeInfo {
	if ti, ok := v.types[name]; ok {
		return ti
	}
	t := v.d.Type(name)
	if t == nil {
		return nil
	}
	ti := &typeInfo{name: name, t: t, isResource: t.Kind == defs.ResourceKind, children: map[string]*childInfo{}}
	v.types[name] = ti
	if t.Kind != defs.BackboneKind {
		ti.constraints = hookConstraints(t.Root.Constraints)
	}
	for _, e := range t.Elements {
		var names []string
		for _, tn := range e.TypeNames {
			jsonName := e.Name
			if e.Choice {
				jsonName = e.Name + strings.ToUpper(tn[:1]) + tn[1:]
			}
			names = append(names, jsonName)
			ti.children[jsonName] = v.child(ti, e, jsonName, tn)
		}
		if e.Min > 0 {
			req := required{elem: e}
			for _, n := range names {
				req.names = append(req.names, n, "_"+n)
			}
			ti.required = append(ti.required, req)
		}
	}
	return ti
}

func (v *Validator) child(parent *typeInfo, e *defs.Element, jsonName, typeName string) *childInfo {
	c := &childInfo{name: jsonName, elem: e, typeName: typeName, array: e.IsArray()}
	// Resource.id is declared as a System.String, but its format is that of
	// id (https://hl7.org/fhir/R4/resource.html#id).
	if parent.isResource && e.Name == "id" {
		c.typeName = "id"
	}
	if k, ok := primKinds[c.typeName]; ok {
		c.prim = k
	} else {
		switch c.typeName {
		case "Resource":
			c.special = spResource
		case "Reference":
			c.special = spReference
		case "Extension":
			c.special = spExtension
		case "Coding":
			c.special = spCoding
		case "CodeableConcept":
			c.special = spCodeableConcept
		}
		if c.special != spResource {
			c.ti = v.info(c.typeName)
		}
	}
	for _, tr := range e.Types {
		if tr.Code == "Reference" && tr.Code == typeName {
			c.targets = tr.TargetTypes()
		}
	}
	if b := e.Binding; b != nil && b.Strength == "required" {
		c.vs = v.d.ValueSet(b.ValueSet) // nil when it could not be expanded: no check
	}
	c.constraints = hookConstraints(e.Constraints)
	if c.ti != nil && c.ti.t.Kind != defs.BackboneKind {
		c.constraints = mergeConstraints(c.constraints, c.ti.constraints)
	}
	return c
}

func hookConstraints(cs []*defs.Constraint) []*defs.Constraint {
	var out []*defs.Constraint
	for _, c := range cs {
		if c.Expression != "" && !structural[c.Key] {
			out = append(out, c)
		}
	}
	return out
}

func mergeConstraints(a, b []*defs.Constraint) []*defs.Constraint {
	out := a
outer:
	for _, c := range b {
		for _, x := range a {
			if x.Key == c.Key {
				continue outer
			}
		}
		out = append(out, c)
	}
	return out
}
