package validate

import (
	"slices"
	"strings"
)

// checkReference checks Reference.reference
// (https://hl7.org/fhir/R4/references.html#literal): a relative
// "Type/id[/_history/vid]" with a known type and a valid id, an absolute URL,
// urn:uuid: or urn:oid:, a "#id" that names a contained resource (ref-1), or
// a conditional "Type?criteria" (allowed in transactions,
// https://hl7.org/fhir/R4/bundle.html#references). When the element
// restricts the target types and the type can be read from the reference,
// it must be one of them.
func (s *state) checkReference(ref map[string]any, c *childInfo) {
	r, ok := ref["reference"].(string)
	if !ok || r == "" {
		return // reported by the primitive check if present but bad
	}
	s.push("reference", -1)
	defer s.pop()
	switch {
	case r[0] == '#':
		s.res.localRefs = append(s.res.localRefs, r)
		if r == "#" {
			if !s.res.contained {
				s.errorf("invalid", "the reference %q refers to the container, but this resource is not contained", r)
			}
			return
		}
		ids := s.res.ids
		if s.res.contained && s.res.parent != nil {
			ids = s.res.parent.ids // contained resources refer to their siblings
		}
		if !slices.Contains(ids, r[1:]) {
			s.errorf("invalid", "the reference %q does not resolve to a contained resource (ref-1)", r)
		}
		return
	case strings.HasPrefix(r, "urn:uuid:"):
		if !validUUID(r) {
			s.errorf("invalid", "the reference %s is not a valid urn:uuid:", clip(r))
		}
		return
	case strings.HasPrefix(r, "urn:oid:"):
		if !validOID(r) {
			s.errorf("invalid", "the reference %s is not a valid urn:oid:", clip(r))
		}
		return
	}
	if typ, query, ok := strings.Cut(r, "?"); ok {
		if !s.knownResourceType(typ) || query == "" {
			s.errorf("invalid", "the conditional reference %s does not start with a known resource type", clip(r))
			return
		}
		s.checkTarget(typ, c)
		return
	}
	if i := strings.Index(r, "://"); i > 0 {
		// An absolute URL: check the target type when it ends in Type/id.
		parts := strings.Split(r[i+3:], "/")
		if n := len(parts); n >= 4 && parts[n-2] == "_history" {
			parts = parts[:n-2]
		}
		if n := len(parts); n >= 3 && s.knownResourceType(parts[n-2]) {
			s.checkTarget(parts[n-2], c)
		}
		return
	}
	parts := strings.Split(r, "/")
	if len(parts) == 4 && parts[2] == "_history" && parts[3] != "" && checkString(pID, parts[3]) == "" {
		parts = parts[:2]
	}
	if len(parts) != 2 {
		s.errorf("invalid", "the reference %s is neither Type/id, an absolute URL, a urn nor #id", clip(r))
		return
	}
	if !s.knownResourceType(parts[0]) {
		s.errorf("invalid", "the reference %s names an unknown resource type %q", clip(r), parts[0])
		return
	}
	if parts[1] == "" || checkString(pID, parts[1]) != "" {
		s.errorf("invalid", "the reference %s has an invalid id", clip(r))
		return
	}
	s.checkTarget(parts[0], c)
}

func (s *state) knownResourceType(name string) bool {
	ti := s.v.types[name]
	return ti != nil && ti.isResource && !ti.t.Abstract
}

func (s *state) checkTarget(typ string, c *childInfo) {
	if c.targets == nil || slices.Contains(c.targets, typ) {
		return
	}
	s.errorf("invalid", "%s may not refer to a %s (allowed: %s)", c.elem.Path, typ, strings.Join(c.targets, ", "))
}

// checkLocalRefs enforces dom-3: every contained resource is referenced
// from elsewhere in its container, or refers to the container ("#").
// https://hl7.org/fhir/R4/domainresource.html#invs
func (s *state) checkLocalRefs(ctx *resourceCtx) {
	if len(ctx.ids) == 0 || ctx.contained {
		return // nested contained resources are already a dom-2 error
	}
	contained, _ := ctx.obj["contained"].([]any)
	for i, r := range contained {
		m, _ := r.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" || slices.Contains(ctx.localRefs, "#"+id) || refersToContainer(m) {
			continue
		}
		s.push("contained", i)
		s.errorf("invariant", "dom-3: the contained resource %q is not referenced from the rest of the resource", id)
		s.pop()
	}
}

// refersToContainer reports whether a contained resource has a reference
// "#" anywhere, which points at its container.
func refersToContainer(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["reference"].(string); ok && r == "#" {
			return true
		}
		for _, e := range x {
			if refersToContainer(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if refersToContainer(e) {
				return true
			}
		}
	}
	return false
}

// checkContainedRules enforces dom-2, dom-4 and dom-5 on a contained resource
// (https://hl7.org/fhir/R4/domainresource.html#invs) and requires an id,
// without which nothing could refer to it.
func (s *state) checkContainedRules(obj map[string]any) {
	if _, ok := obj["contained"]; ok {
		s.errorf("invariant", "dom-2: a contained resource must not contain resources")
	}
	if meta, ok := obj["meta"].(map[string]any); ok {
		_, v := meta["versionId"]
		_, l := meta["lastUpdated"]
		if v || l {
			s.errorf("invariant", "dom-4: a contained resource must not have meta.versionId or meta.lastUpdated")
		}
		if _, ok := meta["security"]; ok {
			s.errorf("invariant", "dom-5: a contained resource must not have a security label")
		}
	}
	if _, ok := obj["id"]; !ok {
		s.errorf("required", "a contained resource must have an id")
	}
}
