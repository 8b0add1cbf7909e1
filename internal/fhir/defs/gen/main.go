// Command gen turns the official FHIR R4 definition bundles (and US Core's
// SearchParameters) into the compact files that package defs embeds.
//
// Run from the repository root:
//
//	go run ./internal/fhir/defs/gen
//
// It reads ../shared/data/fhir-r4/definitions and ../shared/data/us-core/6.1.0
// by default (see the flags) and writes internal/fhir/defs/data/*.json.gz.
// The output is deterministic so that regenerating without a change in the
// inputs leaves the committed files untouched.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	defsDir := flag.String("defs", "../shared/data/fhir-r4/definitions", "directory of the FHIR R4 definition bundles")
	usCore := flag.String("uscore", "../shared/data/us-core/6.1.0/package", "directory of the US Core package")
	out := flag.String("out", "internal/fhir/defs/data", "output directory")
	flag.Parse()
	if err := run(*defsDir, *usCore, *out); err != nil {
		log.Fatal(err)
	}
}

func run(defsDir, usCore, out string) error {
	var sds []*structureDef
	var comps []map[string]any
	for _, f := range []string{"profiles-types.json", "profiles-resources.json"} {
		entries, err := readBundle(filepath.Join(defsDir, f))
		if err != nil {
			return err
		}
		for _, raw := range entries {
			var head struct{ ResourceType string }
			if err := json.Unmarshal(raw, &head); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			switch head.ResourceType {
			case "StructureDefinition":
				var sd structureDef
				if err := json.Unmarshal(raw, &sd); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				sds = append(sds, &sd)
			case "CompartmentDefinition":
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					return err
				}
				comps = append(comps, m)
			}
		}
	}
	types, required := buildTypes(sds)

	term := newTerminology()
	for _, f := range []string{"valuesets.json", "v3-codesystems.json", "v2-tables.json"} {
		entries, err := readBundle(filepath.Join(defsDir, f))
		if err != nil {
			return err
		}
		if err := term.add(entries); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	vsets := term.expandAll(required)

	search, err := buildSearch(defsDir, usCore, comps)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, v := range map[string]any{"types.json.gz": types, "valuesets.json.gz": vsets, "search.json.gz": search} {
		if err := writeGzipJSON(filepath.Join(out, name), v); err != nil {
			return err
		}
	}
	log.Printf("%d types, %d value sets (%d required not expanded), %d search parameters, %d compartments",
		len(types.Types), len(vsets.ValueSets), len(vsets.Unexpanded), len(search.Params), len(search.Compartments))
	return nil
}

func readBundle(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]json.RawMessage, 0, len(b.Entry))
	for _, e := range b.Entry {
		out = append(out, e.Resource)
	}
	return out, nil
}

func writeGzipJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	// No name or modification time in the header: the output must be
	// byte-for-byte reproducible.
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stripVersion(url string) string {
	if i := strings.IndexByte(url, '|'); i >= 0 {
		return url[:i]
	}
	return url
}
