package defs

import (
	"sort"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

// ValueSet is an expanded value set: the codes it contains, by system.
type ValueSet struct {
	URL     string
	Version string
	Name    string
	codes   map[string]map[string]struct{} // system -> code set
	systems []string
}

// Contains reports whether the value set contains code in system.
func (v *ValueSet) Contains(system, code string) bool {
	_, ok := v.codes[system][code]
	return ok
}

// ContainsCode reports whether code is in the value set under any system
// (used for elements of type code, which carry no system).
func (v *ValueSet) ContainsCode(code string) bool {
	for _, s := range v.codes {
		if _, ok := s[code]; ok {
			return true
		}
	}
	return false
}

// HasSystem reports whether any code of the value set is from system.
func (v *ValueSet) HasSystem(system string) bool {
	_, ok := v.codes[system]
	return ok
}

// Systems returns the systems of the value set's codes, sorted. The slice is
// shared: do not modify it.
func (v *ValueSet) Systems() []string { return v.systems }

// Codes returns the codes of one system, sorted.
func (v *ValueSet) Codes(system string) []string {
	out := make([]string, 0, len(v.codes[system]))
	for c := range v.codes[system] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func (d *Definitions) loadValueSets(fv *format.ValueSets) {
	d.valueSets = make(map[string]*ValueSet, len(fv.ValueSets))
	for _, vs := range fv.ValueSets {
		v := &ValueSet{URL: vs.URL, Version: vs.Version, Name: vs.Name, codes: map[string]map[string]struct{}{}}
		for _, sc := range vs.Systems {
			m := make(map[string]struct{}, len(sc.Codes))
			for _, c := range sc.Codes {
				m[c] = struct{}{}
			}
			v.codes[sc.System] = m
			v.systems = append(v.systems, sc.System)
		}
		d.valueSets[vs.URL] = v
	}
	d.unexpanded = make(map[string]string, len(fv.Unexpanded))
	for _, u := range fv.Unexpanded {
		d.unexpanded[u.URL] = u.Reason
	}
}
