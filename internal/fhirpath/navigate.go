package fhirpath

import "strconv"

// Navigation of the JSON tree: child elements, choice types, primitive
// extensions (FHIR R4 JSON representation §2.6.2 and FHIRPath §3 path selection).

// children returns the child elements called name of every item in in.
func (c *ctx) children(in Collection, name string) Collection {
	var out Collection
	for _, v := range in {
		out = c.childrenOf(v, name, out)
	}
	return out
}

func (c *ctx) childrenOf(v Value, name string, out Collection) Collection {
	if v.kind != KindNode {
		if q, ok := v.data.(Quantity); ok {
			switch name {
			case "value":
				out = append(out, DecimalValue(q.Value))
			case "unit", "code":
				out = append(out, String(q.Unit))
			}
			return out
		}
		if ti, ok := v.data.(TypeInfo); ok && v.kind == KindTypeInfo {
			switch name {
			case "name":
				out = append(out, String(ti.Name))
			case "namespace":
				out = append(out, String(ti.Namespace))
			}
		}
		return out
	}
	m, ok := v.data.(map[string]any)
	if !ok {
		// a primitive: only its id and extension, from the "_name" sibling
		if v.ext != nil && (name == "extension" || name == "id") {
			typ := "Extension"
			if name == "id" {
				typ = "string"
			}
			return c.emit(out, v, name, v.ext[name], nil, typ)
		}
		return out
	}
	if c.model != nil && v.typ != "" {
		if types, choice, ok := c.model.ChildType(v.typ, name); ok {
			if !choice {
				return c.emit(out, v, name, m[name], m["_"+name], types[0])
			}
			// scan the object's keys rather than building name+Type for
			// every allowed type: cheaper, and no allocations
			for key, jv := range m {
				primExt := false
				if len(key) > 0 && key[0] == '_' {
					if _, ok := m[key[1:]]; ok {
						continue // handled with its value
					}
					key, primExt = key[1:], true
				}
				if len(key) <= len(name) || key[:len(name)] != name {
					continue
				}
				suffix := key[len(name):]
				for _, t := range types {
					if !sameUpperFirst(t, suffix) {
						continue
					}
					if primExt {
						out = c.emit(out, v, key, nil, jv, t)
					} else {
						out = c.emit(out, v, key, jv, m["_"+key], t)
					}
					break
				}
			}
			return out
		}
	}
	if jv, ok := m[name]; ok {
		return c.emit(out, v, name, jv, m["_"+name], "")
	}
	if ext, ok := m["_"+name]; ok {
		return c.emit(out, v, name, nil, ext, "")
	}
	// model-free choice element: valueQuantity, valueString, ...
	for key, jv := range m {
		if len(key) > len(name) && key[:len(name)] == name && key[len(name)] >= 'A' && key[len(name)] <= 'Z' {
			return c.emit(out, v, key, jv, m["_"+key], choiceSuffixType(key[len(name):]))
		}
	}
	return out
}

// emit appends the value(s) of one JSON property, aligning a primitive's
// "_name" extension siblings by index (FHIR JSON §2.6.2).
func (c *ctx) emit(out Collection, parent Value, key string, jv, ext any, typ string) Collection {
	if arr, ok := jv.([]any); ok {
		exts, _ := ext.([]any)
		for i, item := range arr {
			var em map[string]any
			if i < len(exts) {
				em, _ = exts[i].(map[string]any)
			}
			if item == nil && em == nil {
				continue
			}
			out = append(out, c.makeNode(parent, key, i, item, em, typ))
		}
		if len(arr) == 0 {
			for i, x := range exts {
				if em, ok := x.(map[string]any); ok {
					out = append(out, c.makeNode(parent, key, i, nil, em, typ))
				}
			}
		}
		return out
	}
	em, _ := ext.(map[string]any)
	if jv == nil && em == nil {
		if exts, ok := ext.([]any); ok {
			for i, x := range exts {
				if em, ok := x.(map[string]any); ok {
					out = append(out, c.makeNode(parent, key, i, nil, em, typ))
				}
			}
		}
		return out
	}
	return append(out, c.makeNode(parent, key, -1, jv, em, typ))
}

func (c *ctx) makeNode(parent Value, key string, idx int, jv any, ext map[string]any, typ string) Value {
	if m, ok := jv.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok && (typ == "" || typ == "Resource" || typ == "DomainResource") {
			typ = rt
		}
	}
	v := Value{data: jv, ext: ext, typ: typ}
	if c.opts.Paths {
		p := parent.path + "." + key
		if idx >= 0 {
			p += "[" + strconv.Itoa(idx) + "]"
		}
		v.path = p
	}
	return v
}

// sameUpperFirst reports whether suffix is typ with its first letter upper-cased.
func sameUpperFirst(typ, suffix string) bool {
	if len(typ) != len(suffix) || len(typ) == 0 {
		return false
	}
	c := typ[0]
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	return c == suffix[0] && typ[1:] == suffix[1:]
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// fhirPrimitives are the FHIR R4 primitive type names; used model-free to
// turn a choice suffix ("valueString") back into a type name.
var fhirPrimitives = map[string]bool{
	"boolean": true, "integer": true, "string": true, "decimal": true, "uri": true, "url": true,
	"canonical": true, "base64Binary": true, "instant": true, "date": true, "dateTime": true,
	"time": true, "code": true, "oid": true, "id": true, "markdown": true, "unsignedInt": true,
	"positiveInt": true, "uuid": true, "xhtml": true, "integer64": true,
}

func choiceSuffixType(s string) string {
	l := string(s[0]-'A'+'a') + s[1:]
	if fhirPrimitives[l] {
		return l
	}
	return s
}
