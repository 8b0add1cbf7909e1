package fhirpath

import (
	"encoding/json"
	"fmt"
	"strings"
)

// typeSpec is a type named in an expression: "Patient", "FHIR.string", "System.Integer".
type typeSpec struct {
	ns   string // "", "FHIR" or "System"
	name string
}

func (t typeSpec) String() string {
	if t.ns == "" {
		return t.name
	}
	return t.ns + "." + t.name
}

var systemTypes = map[string]Kind{
	"Boolean": KindBoolean, "String": KindString, "Integer": KindInteger, "Decimal": KindDecimal,
	"Date": KindDate, "DateTime": KindDateTime, "Time": KindTime, "Quantity": KindQuantity,
}

// modelFreeBases lists the specializations among FHIR primitive and general
// types, used only when no Model is supplied.
var modelFreeBases = map[string]string{
	"code": "string", "id": "string", "markdown": "string",
	"url": "uri", "canonical": "uri", "oid": "uri", "uuid": "uri",
	"positiveInt": "integer", "unsignedInt": "integer",
	"Age": "Quantity", "Duration": "Quantity", "Distance": "Quantity", "Count": "Quantity",
	"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity",
}

// nodeType returns the FHIR type of a node, inferring it from the JSON when unknown.
func nodeType(v Value) string {
	if v.typ != "" {
		return v.typ
	}
	switch x := v.data.(type) {
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "decimal"
		}
		return "integer"
	case map[string]any:
		if rt, ok := x["resourceType"].(string); ok {
			return rt
		}
	}
	return ""
}

// isSubtype reports whether typ is base or derives from it.
func (c *ctx) isSubtype(typ, base string) bool {
	if typ == base {
		return true
	}
	if c.model != nil {
		return c.model.IsSubtype(typ, base)
	}
	for t := typ; t != ""; t = modelFreeBases[t] {
		if t == base {
			return true
		}
	}
	return false
}

// nodeIs implements the "is" test (FHIRPath §6.3.1) for any value.
func (c *ctx) nodeIs(v Value, ns, name string) bool {
	if v.kind != KindNode {
		if ns == "FHIR" {
			return false
		}
		k, ok := systemTypes[name]
		return ok && k == v.kind
	}
	if v.typ == "" && ns != "FHIR" {
		if k, ok := systemTypes[name]; ok {
			// model-free JSON primitive: judge by its System value
			s, ok := v.system()
			return ok && s.kind == k
		}
	}
	if ns == "System" {
		return false
	}
	t := nodeType(v)
	if c.model == nil && (name == "Resource" || name == "DomainResource") {
		// model-free: anything with a resourceType is a resource
		m, _ := v.data.(map[string]any)
		_, isRes := m["resourceType"]
		return isRes && (name == "Resource" || t != "Bundle" && t != "Binary" && t != "Parameters")
	}
	return t != "" && c.isSubtype(t, name)
}

// checkType reports an error for a type name the model does not know.
func (c *ctx) checkType(t typeSpec) error {
	if c.model == nil || t.ns == "System" {
		return nil
	}
	if _, ok := systemTypes[t.name]; ok && t.ns == "" {
		return nil
	}
	n := t.name
	switch n {
	case "Element", "Resource", "DomainResource", "BackboneElement", "Base":
		return nil
	}
	if c.model.IsResource(n) || c.model.IsSubtype(n, "Element") || c.model.IsSubtype(n, "Resource") {
		return nil
	}
	return fmt.Errorf("unknown type %s", t)
}

type typeOpNode struct {
	left node
	op   string // "is" or "as"
	typ  typeSpec
}

func (n *typeOpNode) eval(c *ctx, e *env) (Collection, error) {
	in, err := n.left.eval(c, e)
	if err != nil {
		return nil, err
	}
	if n.op == "is" {
		return c.isOp(in, n.typ)
	}
	return c.asOp(in, n.typ)
}

func (c *ctx) isOp(in Collection, t typeSpec) (Collection, error) {
	if err := c.checkType(t); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > 1 {
		return nil, fmt.Errorf("'is' needs a single item, found %d", len(in))
	}
	return Collection{Boolean(c.nodeIs(in[0], t.ns, t.name))}, nil
}

func (c *ctx) asOp(in Collection, t typeSpec) (Collection, error) {
	if err := c.checkType(t); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > 1 {
		if c.opts.StrictAs {
			return nil, fmt.Errorf("'as' needs a single item, found %d", len(in))
		}
		return c.ofType(in, t)
	}
	if c.nodeIs(in[0], t.ns, t.name) {
		return in[:1:1], nil
	}
	return nil, nil
}

func (c *ctx) ofType(in Collection, t typeSpec) (Collection, error) {
	if err := c.checkType(t); err != nil {
		return nil, err
	}
	var out Collection
	for _, v := range in {
		if c.nodeIs(v, t.ns, t.name) {
			out = append(out, v)
		}
	}
	return out, nil
}

// typeOf implements type() (FHIRPath §11.2).
func typeOf(v Value) Value {
	if v.kind == KindNode {
		return Value{kind: KindTypeInfo, data: TypeInfo{Namespace: "FHIR", Name: nodeType(v)}}
	}
	return Value{kind: KindTypeInfo, data: TypeInfo{Namespace: "System", Name: kindNames[v.kind]}}
}
