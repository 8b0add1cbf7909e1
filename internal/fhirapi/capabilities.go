package fhirapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
)

// capabilities is GET [base]/metadata (https://hl7.org/fhir/R4/http.html#capabilities).
func (a *API) capabilities(_ context.Context, _ *Request) (*Response, error) {
	return &Response{Status: http.StatusOK, Body: a.capability}, nil
}

// typeInteractions are the instance and type interactions this server
// implements for every resource type.
var typeInteractions = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}

// validateOp is the $validate operation (https://hl7.org/fhir/R4/resource-operation-validate.html).
var validateOp = map[string]any{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}

// buildCapabilities writes the CapabilityStatement
// (https://hl7.org/fhir/R4/capabilitystatement.html) describing exactly
// what this layer does, from the definitions. It runs once, in New.
func (a *API) buildCapabilities(software, version string, oauth *OAuthURLs) []byte {
	if software == "" {
		software = "OpenChart"
	}
	rev := a.revIncludes()
	var resources []any
	for _, typ := range a.defs.ResourceTypes() {
		resources = append(resources, a.resourceCapability(typ, rev[typ]))
	}
	patch := []any{"application/json-patch+json"}
	if a.patcher != nil {
		patch = append(patch, "application/fhir+json")
	}
	rest := map[string]any{
		"mode":     "server",
		"resource": resources,
		"interaction": []any{
			map[string]any{"code": "transaction"}, map[string]any{"code": "batch"},
			map[string]any{"code": "search-system"}, map[string]any{"code": "history-system"},
		},
		"operation": []any{validateOp},
	}
	if oauth != nil {
		rest["security"] = securityOf(oauth)
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         formatInstant(a.now())[:10],
		"kind":         "instance",
		"software":     map[string]any{"name": software, "version": orStr(version, "dev")},
		"implementation": map[string]any{
			"description": software + " FHIR R4 server (JSON only)",
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"json", "application/fhir+json"},
		"patchFormat": patch,
		"rest":        []any{rest},
	}
	return fhir.MarshalResource(cs, a.defs)
}

// securityOf is rest.security for a SMART on FHIR server
// (https://hl7.org/fhir/smart-app-launch/STU2/conformance.html): the
// SMART-on-FHIR service code and the oauth-uris extension.
func securityOf(o *OAuthURLs) map[string]any {
	var uris []any
	for _, u := range []struct{ name, url string }{
		{"authorize", o.Authorize}, {"token", o.Token}, {"revoke", o.Revoke}, {"introspect", o.Introspect}, {"manage", o.Manage},
	} {
		if u.url != "" {
			uris = append(uris, map[string]any{"url": u.name, "valueUri": u.url})
		}
	}
	return map[string]any{
		"cors": true,
		"service": []any{map[string]any{
			"coding": []any{map[string]any{
				"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR",
			}},
			"text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
		}},
		"extension": []any{map[string]any{
			"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": uris,
		}},
		"description": "Every request except this statement needs an access token: SMART App Launch (authorization code with PKCE), SMART Backend Services (client credentials with a signed JWT), or an operator token (openchart token).",
	}
}

func (a *API) resourceCapability(typ string, revIncludes []string) map[string]any {
	var inter []any
	for _, code := range typeInteractions {
		inter = append(inter, map[string]any{"code": code})
	}
	var params, includes []any
	for _, sp := range a.defs.SearchParams(typ) {
		p := map[string]any{"name": sp.Code, "type": sp.Type}
		if sp.URL != "" {
			p["definition"] = sp.URL
		}
		params = append(params, p)
		if sp.Type == "reference" {
			includes = append(includes, typ+":"+sp.Code)
		}
	}
	rc := map[string]any{
		"type":              typ,
		"profile":           "http://hl7.org/fhir/StructureDefinition/" + typ,
		"interaction":       inter,
		"versioning":        "versioned-update",
		"readHistory":       true,
		"updateCreate":      true,
		"conditionalCreate": true,
		"conditionalRead":   "full-support",
		"conditionalUpdate": true,
		"conditionalDelete": "single",
		"referencePolicy":   []any{"literal", "local"},
		"operation":         []any{validateOp},
	}
	if typ == "Patient" {
		rc["operation"] = []any{validateOp, everythingOp}
	}
	if len(params) > 0 {
		rc["searchParam"] = params
	}
	if len(includes) > 0 && a.indexer != nil {
		rc["searchInclude"] = includes
	}
	if len(revIncludes) > 0 {
		list := make([]any, len(revIncludes))
		for i, s := range revIncludes {
			list[i] = s
		}
		rc["searchRevInclude"] = list
	}
	return rc
}

// revIncludes maps each type to the "Source:param" values that can
// reverse-include resources of that type.
func (a *API) revIncludes() map[string][]string {
	out := map[string][]string{}
	for _, src := range a.defs.ResourceTypes() {
		for _, sp := range a.defs.SearchParams(src) {
			if sp.Type != "reference" {
				continue
			}
			for _, t := range targetsOf(a.defs, sp) {
				out[t] = append(out[t], src+":"+sp.Code)
			}
		}
	}
	for t := range out {
		slices.Sort(out[t])
		out[t] = slices.Compact(out[t])
	}
	return out
}

func targetsOf(d *defs.Definitions, sp *defs.SearchParam) []string {
	if len(sp.Target) == 0 || slices.Contains(sp.Target, "Resource") {
		return d.ResourceTypes()
	}
	return sp.Target
}
