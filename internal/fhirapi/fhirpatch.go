package fhirapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhirpath"
)

// FHIRPathPatcher applies FHIRPath Patch documents
// (https://hl7.org/fhir/R4/fhirpatch.html) with the FHIRPath engine: each
// operation's path is evaluated with node locations, and the JSON tree is
// changed at those locations.
type FHIRPathPatcher struct {
	defs *defs.Definitions
}

// NewFHIRPathPatcher returns a patcher over the definitions.
func NewFHIRPathPatcher(d *defs.Definitions) *FHIRPathPatcher { return &FHIRPathPatcher{defs: d} }

// patchOp is one "operation" parameter.
type patchOp struct {
	typ, path, name   string
	value             any
	valueType         string // the FHIR type of a primitive value[x] ("date")
	hasValue          bool
	index, src, dst   int
	hasIndex, hasMove bool
}

// Apply applies the operations in order to res (which it modifies).
func (p *FHIRPathPatcher) Apply(res, patch map[string]any) (map[string]any, error) {
	params, _ := patch["parameter"].([]any)
	for i, x := range params {
		pm, _ := x.(map[string]any)
		if pm["name"] != "operation" {
			return nil, patchError(i, "every parameter must be named \"operation\"")
		}
		op, err := parseOp(pm)
		if err != nil {
			return nil, patchError(i, err.Error())
		}
		if err := p.apply(res, op); err != nil {
			return nil, patchError(i, err.Error())
		}
	}
	return res, nil
}

func patchError(i int, msg string) error {
	where := fmt.Sprintf("Parameters.parameter[%d]", i)
	return errs.E(errs.Invalid, "fhirpath patch", "FHIRPath Patch operation "+strconv.Itoa(i)+": "+msg,
		issue("error", "processing", msg, where))
}

func parseOp(pm map[string]any) (*patchOp, error) {
	op := &patchOp{}
	parts, _ := pm["part"].([]any)
	for _, x := range parts {
		part, _ := x.(map[string]any)
		name, _ := part["name"].(string)
		switch name {
		case "type", "path", "name":
			s := primitiveString(part)
			switch name {
			case "type":
				op.typ = s
			case "path":
				op.path = s
			default:
				op.name = s
			}
		case "value":
			op.value, op.valueType = partValue(part)
			op.hasValue = true
		case "index", "source", "destination":
			n, err := strconv.Atoi(primitiveString(part))
			if err != nil {
				return nil, fmt.Errorf("%s must be an integer", name)
			}
			switch name {
			case "index":
				op.index, op.hasIndex = n, true
			case "source":
				op.src, op.hasMove = n, true
			default:
				op.dst = n
			}
		}
	}
	if op.path == "" {
		return nil, fmt.Errorf("the operation has no path")
	}
	return op, nil
}

// primitiveString reads a part's value[x] as text.
func primitiveString(part map[string]any) string {
	for k, v := range part {
		if strings.HasPrefix(k, "value") {
			switch x := v.(type) {
			case string:
				return x
			case json.Number:
				return x.String()
			case bool:
				return strconv.FormatBool(x)
			}
		}
	}
	return ""
}

// partValue reads the "value" part: a value[x], or nested parts that
// build a complex value (https://hl7.org/fhir/R4/fhirpatch.html#concept).
func partValue(part map[string]any) (any, string) {
	for k, v := range part {
		if strings.HasPrefix(k, "value") && len(k) > 5 {
			t := k[5:]
			return v, strings.ToLower(t[:1]) + t[1:]
		}
	}
	sub, _ := part["part"].([]any)
	obj := map[string]any{}
	for _, x := range sub {
		sp, _ := x.(map[string]any)
		name, _ := sp["name"].(string)
		val, typ := partValue(sp)
		key := name
		if _, isObj := val.(map[string]any); !isObj && typ != "" && strings.HasSuffix(name, "[x]") {
			key = strings.TrimSuffix(name, "[x]") + strings.ToUpper(typ[:1]) + typ[1:]
		}
		if prev, ok := obj[key]; ok {
			list, isList := prev.([]any)
			if !isList {
				list = []any{prev}
			}
			obj[key] = append(list, val)
		} else {
			obj[key] = val
		}
	}
	return obj, ""
}

// eval evaluates an operation path and returns the located nodes.
func (p *FHIRPathPatcher) eval(res map[string]any, path string) (fhirpath.Collection, error) {
	expr, err := fhirpath.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid path %q: %v", path, err)
	}
	return expr.Evaluate(res, &fhirpath.Options{Model: p.defs, Paths: true})
}

func (p *FHIRPathPatcher) apply(res map[string]any, op *patchOp) error {
	nodes, err := p.eval(res, op.path)
	if err != nil {
		return err
	}
	if op.typ == "delete" && len(nodes) == 0 {
		return nil // deleting nothing is not an error
	}
	if op.typ == "insert" || op.typ == "move" {
		return listOp(res, nodes, op)
	}
	if len(nodes) != 1 {
		return fmt.Errorf("the path %q matches %d elements; it must match exactly one", op.path, len(nodes))
	}
	n := nodes[0]
	switch op.typ {
	case "add":
		return p.add(res, n, op)
	case "replace":
		if !op.hasValue {
			return fmt.Errorf("replace needs a value")
		}
		return setAt(res, n.Path(), op.value)
	case "delete":
		return deleteAt(res, n.Path())
	}
	return fmt.Errorf("unknown operation type %q", op.typ)
}

// add adds element op.name to the node at n: appended when the element repeats.
func (p *FHIRPathPatcher) add(res map[string]any, n fhirpath.Value, op *patchOp) error {
	obj, ok := n.Object()
	if !ok || op.name == "" || !op.hasValue {
		return fmt.Errorf("add needs a name, a value and a path to an element with children")
	}
	key, repeats := op.name, false
	if t := p.defs.Type(n.Type()); t != nil {
		if el := t.Element(op.name); el != nil {
			repeats = el.IsArray()
			if el.Choice && op.valueType != "" {
				key = op.name + strings.ToUpper(op.valueType[:1]) + op.valueType[1:]
			}
		}
	}
	if !repeats {
		obj[key] = op.value
		return nil
	}
	list, _ := obj[key].([]any)
	obj[key] = append(list, op.value)
	return nil
}

// seg is one step of a node location: a JSON key and, for an array
// element, its index (-1 otherwise).
type seg struct {
	key string
	idx int
}

// parseLocation splits "Patient.name[0].given[1]" after the root.
func parseLocation(loc string) ([]seg, error) {
	parts := strings.Split(loc, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("the path must name an element below the resource")
	}
	out := make([]seg, 0, len(parts)-1)
	for _, p := range parts[1:] {
		s := seg{key: p, idx: -1}
		if i := strings.IndexByte(p, '['); i >= 0 && strings.HasSuffix(p, "]") {
			n, err := strconv.Atoi(p[i+1 : len(p)-1])
			if err != nil {
				return nil, fmt.Errorf("bad location %q", loc)
			}
			s = seg{key: p[:i], idx: n}
		}
		out = append(out, s)
	}
	return out, nil
}

// parentOf walks to the object holding the last step of loc.
func parentOf(res map[string]any, loc string) (map[string]any, seg, error) {
	segs, err := parseLocation(loc)
	if err != nil {
		return nil, seg{}, err
	}
	cur := res
	for _, s := range segs[:len(segs)-1] {
		var next any = cur[s.key]
		if s.idx >= 0 {
			list, _ := next.([]any)
			if s.idx >= len(list) {
				return nil, seg{}, fmt.Errorf("location %q not found", loc)
			}
			next = list[s.idx]
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil, seg{}, fmt.Errorf("location %q is not inside an element", loc)
		}
		cur = m
	}
	return cur, segs[len(segs)-1], nil
}

func setAt(res map[string]any, loc string, v any) error {
	obj, last, err := parentOf(res, loc)
	if err != nil {
		return err
	}
	if last.idx >= 0 {
		list, _ := obj[last.key].([]any)
		if last.idx >= len(list) {
			return fmt.Errorf("location %q not found", loc)
		}
		list[last.idx] = v
		return nil
	}
	obj[last.key] = v
	return nil
}

// deleteAt removes the element at loc (with its primitive companion
// "_key", https://hl7.org/fhir/R4/json.html#primitive), then the elements
// the removal left empty: FHIR elements must have a value or children
// (https://hl7.org/fhir/R4/json.html, "empty objects ... are not allowed").
func deleteAt(res map[string]any, loc string) error {
	obj, last, err := parentOf(res, loc)
	if err != nil {
		return err
	}
	if last.idx < 0 {
		delete(obj, last.key)
		delete(obj, "_"+last.key)
	} else {
		list, _ := obj[last.key].([]any)
		if last.idx >= len(list) {
			return fmt.Errorf("location %q not found", loc)
		}
		obj[last.key] = removeAt(list, last.idx)
		if companion, ok := obj["_"+last.key].([]any); ok && last.idx < len(companion) {
			obj["_"+last.key] = removeAt(companion, last.idx)
		}
		dropEmptyList(obj, last.key)
		dropEmptyList(obj, "_"+last.key)
	}
	segs, _ := parseLocation(loc)
	pruneEmpty(res, segs[:len(segs)-1])
	return nil
}

func removeAt(list []any, i int) []any {
	return append(list[:i:i], list[i+1:]...)
}

// dropEmptyList removes obj[key] when it is an empty list, or a companion
// list holding only nulls.
func dropEmptyList(obj map[string]any, key string) {
	list, ok := obj[key].([]any)
	if !ok {
		return
	}
	for _, v := range list {
		if v != nil {
			return
		}
	}
	delete(obj, key)
}

// pruneEmpty removes, deepest first, the objects along segs (a location
// below res) that have no properties left.
func pruneEmpty(res map[string]any, segs []seg) {
	if len(segs) == 0 {
		return
	}
	// Find the parent of the last step; stop if the path no longer exists.
	cur := res
	for _, s := range segs[:len(segs)-1] {
		var next any = cur[s.key]
		if s.idx >= 0 {
			list, _ := next.([]any)
			if s.idx >= len(list) {
				return
			}
			next = list[s.idx]
		}
		m, ok := next.(map[string]any)
		if !ok {
			return
		}
		cur = m
	}
	last := segs[len(segs)-1]
	var node any = cur[last.key]
	if last.idx >= 0 {
		list, _ := node.([]any)
		if last.idx >= len(list) {
			return
		}
		node = list[last.idx]
	}
	if m, ok := node.(map[string]any); !ok || len(m) > 0 {
		return
	}
	if last.idx < 0 {
		delete(cur, last.key)
	} else {
		list := cur[last.key].([]any)
		cur[last.key] = removeAt(list, last.idx)
		if companion, ok := cur["_"+last.key].([]any); ok && last.idx < len(companion) {
			cur["_"+last.key] = removeAt(companion, last.idx)
		}
		dropEmptyList(cur, last.key)
		dropEmptyList(cur, "_"+last.key)
	}
	pruneEmpty(res, segs[:len(segs)-1])
}

// listOp performs insert and move on the list the path selects.
func listOp(res map[string]any, nodes fhirpath.Collection, op *patchOp) error {
	if len(nodes) == 0 {
		return fmt.Errorf("the path %q selects no list", op.path)
	}
	first := nodes[0].Path()
	i := strings.LastIndexByte(first, '[')
	if i < 0 {
		return fmt.Errorf("the path %q does not select a repeating element", op.path)
	}
	listLoc := first[:i]
	for _, n := range nodes {
		if !strings.HasPrefix(n.Path(), listLoc+"[") {
			return fmt.Errorf("the path %q selects elements of different lists", op.path)
		}
	}
	obj, last, err := parentOf(res, listLoc)
	if err != nil {
		return err
	}
	list, _ := obj[last.key].([]any)
	switch {
	case op.typ == "insert" && op.hasIndex && op.hasValue && op.index >= 0 && op.index <= len(list):
		list = append(list[:op.index], append([]any{op.value}, list[op.index:]...)...)
	case op.typ == "move" && op.hasMove && op.src >= 0 && op.src < len(list) && op.dst >= 0 && op.dst < len(list):
		v := list[op.src]
		list = append(list[:op.src:op.src], list[op.src+1:]...)
		list = append(list[:op.dst:op.dst], append([]any{v}, list[op.dst:]...)...)
	default:
		return fmt.Errorf("%s needs valid index (or source and destination) and value", op.typ)
	}
	obj[last.key] = list
	return nil
}
