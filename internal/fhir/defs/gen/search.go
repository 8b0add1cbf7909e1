package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

type searchParameter struct {
	ResourceType string   `json:"resourceType"`
	URL          string   `json:"url"`
	Name         string   `json:"name"`
	Code         string   `json:"code"`
	Base         []string `json:"base"`
	Type         string   `json:"type"`
	Expression   string   `json:"expression"`
	Target       []string `json:"target"`
	Modifier     []string `json:"modifier"`
	Comparator   []string `json:"comparator"`
	MultipleOr   *bool    `json:"multipleOr"`
	MultipleAnd  *bool    `json:"multipleAnd"`
	Chain        []string `json:"chain"`
	Component    []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

func (sp *searchParameter) format(source string) format.SearchParam {
	p := format.SearchParam{URL: sp.URL, Name: sp.Name, Code: sp.Code, Base: sp.Base, Type: sp.Type,
		Expression: sp.Expression, Target: sp.Target, Modifier: sp.Modifier, Comparator: sp.Comparator,
		MultipleOr: sp.MultipleOr, MultipleAnd: sp.MultipleAnd, Chain: sp.Chain, Source: source}
	for _, c := range sp.Component {
		p.Component = append(p.Component, format.Component{Definition: c.Definition, Expression: c.Expression})
	}
	return p
}

// buildSearch gathers the core SearchParameters
// (https://hl7.org/fhir/R4/searchparameter-registry.html), US Core's, and the
// CompartmentDefinitions (https://hl7.org/fhir/R4/compartmentdefinition.html).
func buildSearch(defsDir, usCore string, comps []map[string]any) (*format.Search, error) {
	out := &format.Search{Version: format.Version}
	entries, err := readBundle(filepath.Join(defsDir, "search-parameters.json"))
	if err != nil {
		return nil, err
	}
	for _, raw := range entries {
		var sp searchParameter
		if err := json.Unmarshal(raw, &sp); err != nil {
			return nil, err
		}
		if sp.ResourceType != "SearchParameter" {
			continue
		}
		out.Params = append(out.Params, sp.format("core"))
	}
	files, err := filepath.Glob(filepath.Join(usCore, "SearchParameter-*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no US Core SearchParameters under %s", usCore)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var sp searchParameter
		if err := json.Unmarshal(data, &sp); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out.Params = append(out.Params, sp.format("us-core"))
	}
	for _, m := range comps {
		c := format.Compartment{Resources: map[string][]string{}}
		c.Code, _ = m["code"].(string)
		c.URL, _ = m["url"].(string)
		res, _ := m["resource"].([]any)
		for _, r := range res {
			rm, _ := r.(map[string]any)
			code, _ := rm["code"].(string)
			params, _ := rm["param"].([]any)
			var ps []string
			for _, p := range params {
				if s, ok := p.(string); ok {
					ps = append(ps, s)
				}
			}
			if code != "" && len(ps) > 0 {
				c.Resources[code] = ps
			}
		}
		out.Compartments = append(out.Compartments, c)
	}
	sort.Slice(out.Compartments, func(i, j int) bool {
		return strings.Compare(out.Compartments[i].Code, out.Compartments[j].Code) < 0
	})
	return out, nil
}
