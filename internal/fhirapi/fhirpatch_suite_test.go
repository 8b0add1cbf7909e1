package fhirapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// patchSuite is the official FHIRPath Patch test list
// (fhir-test-cases r4/patch/fhir-patch-tests.xml). Each case holds an input
// resource, a Parameters patch, and the expected output or an error.
const patchSuite = "../../../shared/data/fhir-test-cases/r4/patch/fhir-patch-tests.xml"

// patchOutOfScope lists the cases this server does not run, with why.
// Every case of the list is in scope today; the "mode" attribute (forwards
// or both) concerns generating a diff from two resources, which a server
// applying patches does not do, so both kinds are run forwards. The
// folder's other two files test JSON Patch (json-patch-tests.json, RFC
// 6902) and XML Patch (xml-patch-tests.xml, RFC 5261), not FHIRPath Patch;
// this server does not accept XML Patch at all.
var patchOutOfScope = map[string]string{}

// xmlNode is an element of FHIR XML kept generically: its attributes, its
// child elements and, for XHTML narrative, its raw content.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xmlNode  `xml:",any"`
	Inner    string     `xml:",innerxml"`
}

func (n *xmlNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

type patchCase struct {
	Name  string `xml:"name,attr"`
	Mode  string `xml:"mode,attr"`
	Input struct {
		Res xmlNode `xml:",any"`
	} `xml:"input"`
	Diff struct {
		Res xmlNode `xml:",any"`
	} `xml:"diff"`
	Output *struct {
		Res xmlNode `xml:",any"`
	} `xml:"output"`
	Error *struct {
		Msg string `xml:"msg,attr"`
	} `xml:"error"`
}

// TestFHIRPathPatchSuite runs the official FHIRPath Patch cases
// (https://hl7.org/fhir/R4/fhirpatch.html) against the Patcher: the
// input and expected output, in FHIR XML, are converted to FHIR JSON using
// the definitions (https://hl7.org/fhir/R4/xml.html, json.html), and the
// patched input must equal the output exactly, or the patch must fail when
// the case expects an error.
func TestFHIRPathPatchSuite(t *testing.T) {
	raw, err := os.ReadFile(patchSuite)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FHIRPath Patch cases missing under CI: %v", err)
		}
		t.Skipf("FHIRPath Patch cases not found (%v); skipping", err)
	}
	var suite struct {
		Cases []patchCase `xml:"case"`
	}
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatalf("%s: %v", filepath.Base(patchSuite), err)
	}
	d := defs.Default()
	p := NewFHIRPathPatcher(d)
	passed, failed := 0, 0
	for _, c := range suite.Cases {
		if why, ok := patchOutOfScope[c.Name]; ok {
			t.Logf("out of scope: %s: %s", c.Name, why)
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if msg := runPatchCase(d, p, c); msg != "" {
				failed++
				t.Error(msg)
				return
			}
			passed++
		})
	}
	fmt.Printf("fhirpath patch suite: %d passed, %d failed\n", passed, failed)
	if passed == 0 {
		t.Error("no case ran")
	}
}

// runPatchCase returns "" when the case passes, else what went wrong.
func runPatchCase(d *defs.Definitions, p *FHIRPathPatcher, c patchCase) string {
	in, err := xmlResource(d, &c.Input.Res)
	if err != nil {
		return "input: " + err.Error()
	}
	patch, err := xmlResource(d, &c.Diff.Res)
	if err != nil {
		return "patch: " + err.Error()
	}
	got, err := p.Apply(in, patch)
	switch {
	case c.Error != nil && err == nil:
		return fmt.Sprintf("want the error %q, got %s", c.Error.Msg, fhir.Marshal(got))
	case c.Error != nil:
		return ""
	case err != nil:
		return "unexpected error: " + err.Error()
	case c.Output == nil:
		return "the case has neither an output nor an error"
	}
	want, err := xmlResource(d, &c.Output.Res)
	if err != nil {
		return "output: " + err.Error()
	}
	for _, r := range []map[string]any{want, got} {
		if err := canonicalDivs(r); err != nil {
			return "narrative: " + err.Error()
		}
	}
	if diff := cmp.Diff(string(fhir.Marshal(want)), string(fhir.Marshal(got))); diff != "" {
		return "patched resource (-want +got):\n" + diff
	}
	return ""
}

// xmlResource converts a resource in FHIR XML to its FHIR JSON form.
func xmlResource(d *defs.Definitions, n *xmlNode) (map[string]any, error) {
	typ := n.XMLName.Local
	if d.Type(typ) == nil || !d.IsResource(typ) {
		return nil, fmt.Errorf("%s is not a resource type", typ)
	}
	obj, err := xmlObject(d, typ, n)
	if err != nil {
		return nil, err
	}
	obj["resourceType"] = typ
	return obj, nil
}

// xmlObject converts the children of an element of type typ: repeating
// elements become arrays, primitives take their value attribute (with
// their id and extensions in the "_name" companion), and a nested resource
// is converted as one.
func xmlObject(d *defs.Definitions, typ string, n *xmlNode) (map[string]any, error) {
	t := d.Type(typ)
	if t == nil {
		return nil, fmt.Errorf("unknown type %s", typ)
	}
	obj := map[string]any{}
	for _, a := range n.Attrs {
		// Element.id and Extension.url are XML attributes.
		if a.Name.Space == "" && (a.Name.Local == "id" || a.Name.Local == "url") {
			obj[a.Name.Local] = a.Value
		}
	}
	// Primitive companions of repeating elements are filled index by index.
	count := map[string]int{}
	for i := range n.Children {
		ch := &n.Children[i]
		key := ch.XMLName.Local
		jc, ok := t.JSONChild(key)
		if !ok {
			return nil, fmt.Errorf("%s has no element %s", typ, key)
		}
		idx := count[key]
		count[key]++
		ct := d.Type(jc.Type)
		var val, ext any
		switch {
		case key == "div" && jc.Type == "xhtml":
			val = `<div xmlns="http://www.w3.org/1999/xhtml">` + ch.Inner + `</div>`
		case ct != nil && ct.Kind == defs.PrimitiveType:
			v, hasValue := ch.attr("value")
			if hasValue {
				val = primitiveJSON(jc.Type, v)
			}
			if len(ch.Children) > 0 || hasAttr(ch, "id") {
				e, err := xmlObject(d, "Element", ch)
				if err != nil {
					return nil, err
				}
				ext = e
			}
		case ct != nil && ct.Kind == defs.ResourceKind:
			if len(ch.Children) != 1 {
				return nil, fmt.Errorf("%s.%s must hold one resource", typ, key)
			}
			r, err := xmlResource(d, &ch.Children[0])
			if err != nil {
				return nil, err
			}
			val = r
		default:
			o, err := xmlObject(d, jc.Type, ch)
			if err != nil {
				return nil, err
			}
			val = o
		}
		if !jc.Element.IsArray() {
			if val != nil {
				obj[key] = val
			}
			if ext != nil {
				obj["_"+key] = ext
			}
			continue
		}
		list, _ := obj[key].([]any)
		obj[key] = append(list, val)
		if ext != nil {
			companion, _ := obj["_"+key].([]any)
			for len(companion) < idx {
				companion = append(companion, nil)
			}
			obj["_"+key] = append(companion, ext)
		}
	}
	// A companion list is as long as its list (https://hl7.org/fhir/R4/json.html#primitive).
	for key, c := range obj {
		if companion, ok := c.([]any); ok && strings.HasPrefix(key, "_") {
			for len(companion) < count[key[1:]] {
				companion = append(companion, nil)
			}
			obj[key] = companion
		}
	}
	return obj, nil
}

// canonicalDivs rewrites every narrative div of a resource in a canonical
// spelling, so that XHTML that XML treats as equal (line ends, entities,
// namespace declarations) compares equal.
func canonicalDivs(v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "div" {
				canon, err := canonicalXHTML(s)
				if err != nil {
					return err
				}
				x[k] = canon
			} else if err := canonicalDivs(c); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := canonicalDivs(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func canonicalXHTML(s string) (string, error) {
	var b strings.Builder
	dec := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			b.WriteString("<" + t.Name.Local)
			attrs := slices.Clone(t.Attr)
			slices.SortFunc(attrs, func(x, y xml.Attr) int { return strings.Compare(x.Name.Local, y.Name.Local) })
			for _, a := range attrs {
				if a.Name.Local != "xmlns" && a.Name.Space != "xmlns" {
					b.WriteString(" " + a.Name.Local + "=")
					xml.EscapeText(&b, []byte(a.Value))
				}
			}
			b.WriteString(">")
		case xml.EndElement:
			b.WriteString("</" + t.Name.Local + ">")
		case xml.CharData:
			xml.EscapeText(&b, t)
		}
	}
}

func hasAttr(n *xmlNode, name string) bool {
	_, ok := n.attr(name)
	return ok
}

// primitiveJSON gives a primitive value its JSON type
// (https://hl7.org/fhir/R4/json.html#primitive): booleans and numbers are
// not strings.
func primitiveJSON(typ, v string) any {
	switch typ {
	case "boolean":
		return v == "true"
	case "integer", "positiveInt", "unsignedInt", "decimal", "integer64":
		return json.Number(v)
	}
	return v
}

// TestFHIRPathPatchDeletePrunes checks that a delete leaves no empty
// element behind and keeps primitive companions aligned with their lists
// (https://hl7.org/fhir/R4/json.html#primitive).
func TestFHIRPathPatchDeletePrunes(t *testing.T) {
	tests := []struct {
		name, path, in, want string
	}{
		{"emptied parent removed", "Patient.contact[0].name.text",
			`{"resourceType":"Patient","contact":[{"name":{"text":"a"},"gender":"male"}]}`,
			`{"resourceType":"Patient","contact":[{"gender":"male"}]}`},
		{"emptied list removed", "Patient.contact.name.text",
			`{"resourceType":"Patient","contact":[{"name":{"text":"a"}}]}`,
			`{"resourceType":"Patient"}`},
		{"companion follows the list", "Patient.name.given[0]",
			`{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null,{"extension":[{"url":"http://x","valueString":"v"}]}]}]}`,
			`{"resourceType":"Patient","name":[{"given":["b"],"_given":[{"extension":[{"url":"http://x","valueString":"v"}]}]}]}`},
		{"companion of nulls dropped", "Patient.name.given[1]",
			`{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null,{"id":"x"}]}]}`,
			`{"resourceType":"Patient","name":[{"given":["a"]}]}`},
	}
	p := NewFHIRPathPatcher(defs.Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := fhir.Parse([]byte(tc.in), fhir.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			patch := map[string]any{"resourceType": "Parameters", "parameter": []any{map[string]any{
				"name": "operation", "part": []any{
					map[string]any{"name": "type", "valueCode": "delete"},
					map[string]any{"name": "path", "valueString": tc.path},
				}}}}
			got, err := p.Apply(in, patch)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(fhir.Marshal(got))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
