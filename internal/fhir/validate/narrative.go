package validate

import (
	"encoding/xml"
	"io"
	"strings"
)

const xhtmlNS = "http://www.w3.org/1999/xhtml"

// checkXHTML checks Narrative.div (https://hl7.org/fhir/R4/narrative.html#xhtml):
// well-formed XML whose root is an XHTML div, with only the basic HTML
// elements and attributes the spec allows: no scripts, forms, frames or
// event handlers (txt-1), and not empty (txt-2).
func (s *state) checkXHTML(div string) {
	if !strings.HasPrefix(div, "<div") {
		s.errorf("value", "the narrative must start with <div")
		return
	}
	d := xml.NewDecoder(strings.NewReader(div))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	depth := 0
	sawContent := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.errorf("value", "the narrative is not well-formed XHTML: %v", err)
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if t.Name.Local != "div" || t.Name.Space != xhtmlNS {
					s.errorf("value", "the narrative root must be a div in the XHTML namespace")
					return
				}
			} else if depth > 0 {
				sawContent = true
			}
			if forbiddenElements[strings.ToLower(t.Name.Local)] {
				s.errorf("value", "txt-1: the narrative must not contain <%s>", t.Name.Local)
				return
			}
			for _, a := range t.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					s.errorf("value", "txt-1: the narrative must not have event handler attributes (%s)", a.Name.Local)
					return
				}
				if v := strings.ToLower(strings.TrimSpace(a.Value)); strings.HasPrefix(v, "javascript:") {
					s.errorf("value", "txt-1: the narrative must not contain javascript: URLs")
					return
				}
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				// Anything but whitespace after the root element is an error.
				rest, err := d.Token()
				for err == nil {
					if cd, ok := rest.(xml.CharData); !ok || strings.TrimSpace(string(cd)) != "" {
						s.errorf("value", "the narrative has content after the root div")
						return
					}
					rest, err = d.Token()
				}
				if err != io.EOF {
					s.errorf("value", "the narrative is not well-formed XHTML: %v", err)
					return
				}
				if !sawContent {
					s.errorf("value", "txt-2: the narrative must have some non-whitespace content")
				}
				return
			}
		case xml.CharData:
			if depth > 0 && strings.TrimSpace(string(t)) != "" {
				sawContent = true
			}
		}
	}
}

// forbiddenElements are the elements txt-1 excludes (active content, forms,
// frames, embedded objects and document-level elements).
var forbiddenElements = map[string]bool{
	"script": true, "object": true, "applet": true, "embed": true, "iframe": true, "frame": true, "frameset": true,
	"form": true, "input": true, "button": true, "select": true, "textarea": true, "head": true, "body": true,
	"html": true, "link": true, "meta": true, "style": true, "base": true, "basefont": true, "noscript": true, "param": true,
}
