// Package fhir holds the representation of FHIR R4 resources that the rest
// of OpenChart shares: a resource is its JSON object, parsed into
// map[string]any (objects), []any (arrays), string, json.Number (numbers,
// keeping their decimal text exactly) and bool. Parse is strict in the ways
// the FHIR JSON format requires (https://hl7.org/fhir/R4/json.html): no
// duplicate names, no null outside primitive-extension arrays, valid UTF-8,
// bounded nesting. Marshal writes the canonical form that OpenChart stores
// and serves: resourceType, id and meta first, the rest in a stable order,
// no insignificant whitespace, HTML characters left unescaped.
package fhir
