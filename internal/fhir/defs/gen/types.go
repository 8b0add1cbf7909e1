package main

import (
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

// structureDef is the part of a StructureDefinition the generator reads
// (https://hl7.org/fhir/R4/structuredefinition.html).
type structureDef struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	Name           string `json:"name"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	Snapshot       struct {
		Element []elementDef `json:"element"`
	} `json:"snapshot"`
}

type elementDef struct {
	Path             string `json:"path"`
	SliceName        string `json:"sliceName"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsSummary        bool   `json:"isSummary"`
	IsModifier       bool   `json:"isModifier"`
	Type             []struct {
		Code          string      `json:"code"`
		Profile       []string    `json:"profile"`
		TargetProfile []string    `json:"targetProfile"`
		Extension     []extension `json:"extension"`
	} `json:"type"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
	Constraint []struct {
		Key        string `json:"key"`
		Severity   string `json:"severity"`
		Human      string `json:"human"`
		Expression string `json:"expression"`
		Source     string `json:"source"`
	} `json:"constraint"`
}

type extension struct {
	URL         string `json:"url"`
	ValueURL    string `json:"valueUrl"`
	ValueString string `json:"valueString"`
}

const (
	extFHIRType = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
	extRegex    = "http://hl7.org/fhir/StructureDefinition/regex"
	sdPrefix    = "http://hl7.org/fhir/StructureDefinition/"
)

// systemTypes maps the FHIRPath system types that R4 snapshots use for
// primitive values and a few special elements to FHIR type names, for
// elements that lack the structuredefinition-fhir-type extension.
var systemTypes = map[string]string{
	"http://hl7.org/fhirpath/System.String":   "string",
	"http://hl7.org/fhirpath/System.Boolean":  "boolean",
	"http://hl7.org/fhirpath/System.Integer":  "integer",
	"http://hl7.org/fhirpath/System.Decimal":  "decimal",
	"http://hl7.org/fhirpath/System.Date":     "date",
	"http://hl7.org/fhirpath/System.DateTime": "dateTime",
	"http://hl7.org/fhirpath/System.Time":     "time",
}

// buildTypes flattens the specializations (constraint profiles such as
// SimpleQuantity are not types of their own) and collects the value sets of
// required bindings.
func buildTypes(sds []*structureDef) (*format.Types, map[string]bool) {
	out := &format.Types{Version: format.Version, FHIR: "4.0.1"}
	constraintIndex := map[format.Constraint]int{}
	required := map[string]bool{}
	sort.Slice(sds, func(i, j int) bool { return sds[i].ID < sds[j].ID })
	for _, sd := range sds {
		if sd.Derivation == "constraint" || sd.Kind == "logical" {
			continue
		}
		t := format.Type{
			Name:     sd.Type,
			URL:      sd.URL,
			Kind:     sd.Kind,
			Abstract: sd.Abstract,
			Base:     strings.TrimPrefix(sd.BaseDefinition, sdPrefix),
		}
		for _, ed := range sd.Snapshot.Element {
			if ed.SliceName != "" {
				continue // core snapshots have no slices; be safe
			}
			e := format.Element{Path: ed.Path, Min: ed.Min, ContentRef: strings.TrimPrefix(ed.ContentReference, "#"),
				Summary: ed.IsSummary, Modifier: ed.IsModifier}
			if ed.Max != "1" {
				e.Max = ed.Max
			}
			for _, tr := range ed.Type {
				code := tr.Code
				for _, x := range tr.Extension {
					switch x.URL {
					case extFHIRType:
						code = x.ValueURL
					case extRegex:
						if sd.Kind == "primitive-type" && ed.Path == sd.Type+".value" {
							t.Regex = x.ValueString
						}
					}
				}
				if m, ok := systemTypes[code]; ok {
					code = m
				}
				e.Types = append(e.Types, format.TypeRef{Code: code, TargetProfiles: tr.TargetProfile, Profiles: tr.Profile})
			}
			if b := ed.Binding; b != nil && b.Strength != "" {
				e.Binding = &format.Binding{Strength: b.Strength, ValueSet: b.ValueSet}
				if b.Strength == "required" && b.ValueSet != "" {
					required[stripVersion(b.ValueSet)] = true
				}
			}
			for _, c := range ed.Constraint {
				fc := format.Constraint{Key: c.Key, Severity: c.Severity, Human: c.Human, Expression: c.Expression,
					Source: strings.TrimPrefix(c.Source, sdPrefix)}
				i, ok := constraintIndex[fc]
				if !ok {
					i = len(out.Constraints)
					out.Constraints = append(out.Constraints, fc)
					constraintIndex[fc] = i
				}
				e.Constraints = append(e.Constraints, i)
			}
			t.Elements = append(t.Elements, e)
		}
		out.Types = append(out.Types, t)
	}
	return out, required
}
