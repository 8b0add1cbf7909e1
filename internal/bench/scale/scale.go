package scale

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
)

// Options says what to generate.
type Options struct {
	// Source is the directory of Synthea transaction Bundles (.json or
	// .json.gz); files whose names start with "0-" are the shared
	// information Bundles.
	Source   string
	Out      string
	Patients int
	Seed     uint64
	// Format is "bundles", "ndjson" or "both" (the default).
	Format string
	// Progress, when set, is called after each patient.
	Progress func(done, total int)
}

// Manifest describes a generated data set; it is written to
// manifest.json in the output directory.
type Manifest struct {
	Patients  int            `json:"patients"`
	Seed      uint64         `json:"seed"`
	Source    string         `json:"source"`
	Format    string         `json:"format"`
	Resources int            `json:"resources"`
	Types     map[string]int `json:"types"`
	Info      []string       `json:"informationBundles"`
	// Unresolved counts NDJSON references that could not be made literal.
	Unresolved int `json:"unresolvedReferences"`
}

// Sources lists the information Bundles and the patient Bundles of a
// Synthea directory, each sorted by name; empty files are left out.
func Sources(dir string) (info, patients []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the source directory: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz")) || strings.Contains(name, "*") {
			continue
		}
		if fi, err := e.Info(); err != nil || fi.Size() == 0 {
			continue
		}
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, "0-") {
			info = append(info, p)
		} else {
			patients = append(patients, p)
		}
	}
	sort.Strings(info)
	sort.Strings(patients)
	if len(patients) == 0 {
		return nil, nil, fmt.Errorf("no patient Bundles in %s", dir)
	}
	return info, patients, nil
}

// Generate writes a scaled data set: Out/bundles/*.json.gz (the information
// Bundles, then one transaction Bundle per patient) and/or
// Out/ndjson/<Type>.ndjson.gz, and Out/manifest.json.
func Generate(ctx context.Context, opts Options) (*Manifest, error) {
	if opts.Patients <= 0 {
		return nil, errors.New("the number of patients must be positive")
	}
	if opts.Format == "" {
		opts.Format = "both"
	}
	wantBundles := opts.Format == "bundles" || opts.Format == "both"
	wantNDJSON := opts.Format == "ndjson" || opts.Format == "both"
	if !wantBundles && !wantNDJSON {
		return nil, fmt.Errorf("unknown format %q (bundles, ndjson or both)", opts.Format)
	}
	info, patients, err := Sources(opts.Source)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Patients: opts.Patients, Seed: opts.Seed, Source: opts.Source, Format: opts.Format, Types: map[string]int{}}
	bundleDir := filepath.Join(opts.Out, "bundles")
	if wantBundles {
		if err := os.MkdirAll(bundleDir, 0o755); err != nil {
			return nil, err
		}
	}
	var nd *ndjsonWriter
	if wantNDJSON {
		if nd, err = newNDJSONWriter(filepath.Join(opts.Out, "ndjson")); err != nil {
			return nil, err
		}
		defer nd.abort()
	}
	refs := newRefIndex()
	for _, p := range info {
		b, err := readBundle(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".gz"), ".json") + ".json.gz"
		m.Info = append(m.Info, name)
		if wantBundles {
			if err := writeGzip(filepath.Join(bundleDir, name), fhir.Marshal(b)); err != nil {
				return nil, err
			}
		}
		refs.addInfo(b)
		m.count(b)
	}
	for k := 0; k < opts.Patients; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src := patients[k%len(patients)]
		b, err := readBundle(src)
		if err != nil {
			return nil, err
		}
		if _, err := newCopier(opts.Seed, k).reidentify(b); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if wantBundles {
			if err := writeGzip(filepath.Join(bundleDir, fmt.Sprintf("patient-%07d.json.gz", k)), fhir.Marshal(b)); err != nil {
				return nil, err
			}
		}
		if wantNDJSON {
			m.Unresolved += nd.writeBundle(b, refs)
		}
		m.count(b)
		if opts.Progress != nil {
			opts.Progress(k+1, opts.Patients)
		}
	}
	if wantNDJSON {
		// The information resources are written once, with their own ids.
		for _, p := range info {
			b, err := readBundle(p)
			if err != nil {
				return nil, err
			}
			m.Unresolved += nd.writeBundle(b, refs)
		}
		if err := nd.close(); err != nil {
			return nil, err
		}
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(opts.Out, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manifest) count(b map[string]any) {
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		if t := fhir.TypeOf(r); t != "" {
			m.Types[t]++
			m.Resources++
		}
	}
}

// ReadManifest reads the manifest of a generated data set.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the data set's manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading the data set's manifest: %w", err)
	}
	return &m, nil
}

// ReadFile returns the contents of a .json or .json.gz file.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func readBundle(path string) (map[string]any, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := fhir.Parse(data, fhir.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// writeGzip writes data compressed, with no time stamp in the header, so
// the same data gives the same bytes.
func writeGzip(path string, data []byte) error {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	gz.Write(data)
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
