package main

import (
	"encoding/json"
	"fmt"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

// codeSystem is the part of a CodeSystem the expansion needs
// (https://hl7.org/fhir/R4/codesystem.html).
type codeSystem struct {
	URL     string    `json:"url"`
	Content string    `json:"content"`
	Concept []concept `json:"concept"`
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

type valueSet struct {
	URL     string `json:"url"`
	Version string `json:"version"`
	Name    string `json:"name"`
	Compose *struct {
		Include []include `json:"include"`
		Exclude []include `json:"exclude"`
	} `json:"compose"`
	Expansion *struct {
		Contains []containsEntry `json:"contains"`
	} `json:"expansion"`
}

type containsEntry struct {
	System   string          `json:"system"`
	Code     string          `json:"code"`
	Contains []containsEntry `json:"contains"`
}

type include struct {
	System   string   `json:"system"`
	ValueSet []string `json:"valueSet"`
	Concept  []struct {
		Code string `json:"code"`
	} `json:"concept"`
	Filter []struct {
		Property string `json:"property"`
		Op       string `json:"op"`
		Value    string `json:"value"`
	} `json:"filter"`
}

type terminology struct {
	codeSystems map[string]*codeSystem
	valueSets   map[string]*valueSet
}

func newTerminology() *terminology {
	return &terminology{codeSystems: map[string]*codeSystem{}, valueSets: map[string]*valueSet{}}
}

func (t *terminology) add(entries []json.RawMessage) error {
	for _, raw := range entries {
		var head struct{ ResourceType string }
		if err := json.Unmarshal(raw, &head); err != nil {
			return err
		}
		switch head.ResourceType {
		case "CodeSystem":
			var cs codeSystem
			if err := json.Unmarshal(raw, &cs); err != nil {
				return err
			}
			if _, dup := t.codeSystems[cs.URL]; !dup {
				t.codeSystems[cs.URL] = &cs
			}
		case "ValueSet":
			var vs valueSet
			if err := json.Unmarshal(raw, &vs); err != nil {
				return err
			}
			if _, dup := t.valueSets[vs.URL]; !dup {
				t.valueSets[vs.URL] = &vs
			}
		}
	}
	return nil
}

// codeSet is an expansion under construction: system -> code -> present.
type codeSet map[string]map[string]bool

func (s codeSet) add(system, code string) {
	m := s[system]
	if m == nil {
		m = map[string]bool{}
		s[system] = m
	}
	m[code] = true
}

// expandAll expands every value set in urls that can be expanded from the
// code systems at hand (https://hl7.org/fhir/R4/valueset.html#compositions).
func (t *terminology) expandAll(urls map[string]bool) *format.ValueSets {
	out := &format.ValueSets{Version: format.Version}
	for _, url := range sortedKeys(urls) {
		vs, ok := t.valueSets[url]
		if !ok {
			out.Unexpanded = append(out.Unexpanded, format.Unexpanded{URL: url, Reason: "value set not in the definitions"})
			continue
		}
		set, err := t.expand(vs, map[string]bool{})
		if err != nil {
			out.Unexpanded = append(out.Unexpanded, format.Unexpanded{URL: url, Reason: err.Error()})
			continue
		}
		fv := format.ValueSet{URL: vs.URL, Version: vs.Version, Name: vs.Name}
		for _, sys := range sortedKeys(set) {
			codes := sortedKeys(set[sys])
			fv.Systems = append(fv.Systems, format.SystemCodes{System: sys, Codes: codes})
		}
		out.ValueSets = append(out.ValueSets, fv)
	}
	return out
}

func (t *terminology) expand(vs *valueSet, seen map[string]bool) (codeSet, error) {
	if seen[vs.URL] {
		return nil, fmt.Errorf("value set %s includes itself", vs.URL)
	}
	seen[vs.URL] = true
	defer delete(seen, vs.URL)
	if vs.Compose == nil {
		if vs.Expansion != nil {
			set := codeSet{}
			addContains(set, vs.Expansion.Contains)
			return set, nil
		}
		return nil, fmt.Errorf("no compose and no expansion")
	}
	set := codeSet{}
	for _, inc := range vs.Compose.Include {
		part, err := t.expandInclude(inc, seen)
		if err != nil {
			return nil, err
		}
		for sys, codes := range part {
			for c := range codes {
				set.add(sys, c)
			}
		}
	}
	for _, exc := range vs.Compose.Exclude {
		part, err := t.expandInclude(exc, seen)
		if err != nil {
			return nil, fmt.Errorf("exclude: %w", err)
		}
		for sys, codes := range part {
			for c := range codes {
				delete(set[sys], c)
			}
		}
	}
	return set, nil
}

func addContains(set codeSet, cs []containsEntry) {
	for _, c := range cs {
		if c.Code != "" {
			set.add(c.System, c.Code)
		}
		addContains(set, c.Contains)
	}
}

func (t *terminology) expandInclude(inc include, seen map[string]bool) (codeSet, error) {
	var fromVS codeSet
	for i, url := range inc.ValueSet {
		vs, ok := t.valueSets[stripVersion(url)]
		if !ok {
			return nil, fmt.Errorf("included value set %s not in the definitions", url)
		}
		s, err := t.expand(vs, seen)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			fromVS = s
			continue
		}
		fromVS = intersect(fromVS, s)
	}
	if inc.System == "" {
		if fromVS == nil {
			return nil, fmt.Errorf("include with neither system nor valueSet")
		}
		return fromVS, nil
	}
	set := codeSet{}
	switch {
	case len(inc.Concept) > 0:
		for _, c := range inc.Concept {
			set.add(inc.System, c.Code)
		}
	case len(inc.Filter) > 0:
		cs, err := t.complete(inc.System)
		if err != nil {
			return nil, err
		}
		if err := filterConcepts(set, cs, inc); err != nil {
			return nil, err
		}
	default:
		cs, err := t.complete(inc.System)
		if err != nil {
			return nil, err
		}
		walk(cs.Concept, func(c concept) { set.add(cs.URL, c.Code) })
	}
	if fromVS != nil {
		set = intersect(set, fromVS)
	}
	return set, nil
}

func (t *terminology) complete(system string) (*codeSystem, error) {
	cs, ok := t.codeSystems[system]
	if !ok {
		return nil, fmt.Errorf("code system %s not in the definitions", system)
	}
	if cs.Content != "complete" {
		return nil, fmt.Errorf("code system %s has content %q", system, cs.Content)
	}
	return cs, nil
}

// filterConcepts supports the hierarchy filters that core value sets use
// (concept is-a / descendent-of / = on the code system's own hierarchy).
func filterConcepts(set codeSet, cs *codeSystem, inc include) error {
	if len(inc.Filter) != 1 || inc.Filter[0].Property != "concept" {
		return fmt.Errorf("unsupported filter on %s", cs.URL)
	}
	f := inc.Filter[0]
	root, ok := find(cs.Concept, f.Value)
	if !ok {
		return fmt.Errorf("filter value %s not in %s", f.Value, cs.URL)
	}
	switch f.Op {
	case "is-a":
		set.add(cs.URL, root.Code)
		walk(root.Concept, func(c concept) { set.add(cs.URL, c.Code) })
	case "descendent-of":
		walk(root.Concept, func(c concept) { set.add(cs.URL, c.Code) })
	case "=":
		set.add(cs.URL, root.Code)
	default:
		return fmt.Errorf("unsupported filter op %s on %s", f.Op, cs.URL)
	}
	return nil
}

func walk(cs []concept, fn func(concept)) {
	for _, c := range cs {
		fn(c)
		walk(c.Concept, fn)
	}
}

func find(cs []concept, code string) (concept, bool) {
	for _, c := range cs {
		if c.Code == code {
			return c, true
		}
		if r, ok := find(c.Concept, code); ok {
			return r, true
		}
	}
	return concept{}, false
}

func intersect(a, b codeSet) codeSet {
	out := codeSet{}
	for sys, codes := range a {
		for c := range codes {
			if b[sys][c] {
				out.add(sys, c)
			}
		}
	}
	return out
}
