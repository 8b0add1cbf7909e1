package scale

import (
	"bufio"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
)

// refIndex resolves the references NDJSON cannot carry: conditional
// references into the information Bundles.
type refIndex struct {
	conditional map[string]string // "Type?identifier=sys|value" -> "Type/id"
}

func newRefIndex() *refIndex { return &refIndex{conditional: map[string]string{}} }

func (x *refIndex) addInfo(b map[string]any) {
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		typ, id := fhir.TypeOf(r), fhir.IDOf(r)
		ids, _ := r["identifier"].([]any)
		for _, i := range ids {
			ident, _ := i.(map[string]any)
			sys, _ := ident["system"].(string)
			val, _ := ident["value"].(string)
			if val != "" {
				x.conditional[typ+"?identifier="+sys+"|"+val] = typ + "/" + id
			}
		}
	}
}

// ndjsonWriter keeps one gzip stream per resource type.
type ndjsonWriter struct {
	dir   string
	files map[string]*typeFile
	err   error // the first write error, reported by close
}

type typeFile struct {
	f  *os.File
	bw *bufio.Writer
	gz *gzip.Writer
}

func newNDJSONWriter(dir string) (*ndjsonWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &ndjsonWriter{dir: dir, files: map[string]*typeFile{}}, nil
}

// writeBundle writes each entry's resource as one line of its type's file,
// with urn:uuid and conditional references made literal. It returns the
// number of references it could not resolve.
func (w *ndjsonWriter) writeBundle(b map[string]any, refs *refIndex) int {
	entries, _ := b["entry"].([]any)
	local := map[string]string{}
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		if fu, ok := entry["fullUrl"].(string); ok && strings.HasPrefix(fu, "urn:uuid:") {
			local[fu] = fhir.TypeOf(r) + "/" + fhir.IDOf(r)
		}
	}
	unresolved := 0
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		typ := fhir.TypeOf(r)
		if typ == "" {
			continue
		}
		unresolved += literalRefs(r, local, refs)
		tf, err := w.file(typ)
		if err == nil {
			_, err = tf.gz.Write(append(fhir.AppendJSON(nil, r, ""), '\n'))
		}
		if err != nil && w.err == nil {
			w.err = err
		}
	}
	return unresolved
}

func literalRefs(v any, local map[string]string, refs *refIndex) (unresolved int) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s, ok := e.(string)
			if k != "reference" || !ok {
				unresolved += literalRefs(e, local, refs)
				continue
			}
			switch {
			case strings.HasPrefix(s, "urn:uuid:"):
				if lit, ok := local[s]; ok {
					x[k] = lit
				} else {
					unresolved++
				}
			case strings.Contains(s, "?"):
				if lit, ok := refs.conditional[s]; ok {
					x[k] = lit
				} else {
					unresolved++
				}
			}
		}
	case []any:
		for _, e := range x {
			unresolved += literalRefs(e, local, refs)
		}
	}
	return unresolved
}

func (w *ndjsonWriter) file(typ string) (*typeFile, error) {
	if tf, ok := w.files[typ]; ok {
		return tf, nil
	}
	f, err := os.Create(filepath.Join(w.dir, typ+".ndjson.gz"))
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	gz, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	tf := &typeFile{f: f, bw: bw, gz: gz}
	w.files[typ] = tf
	return tf, nil
}

// close finishes every file, in a fixed order.
func (w *ndjsonWriter) close() error {
	types := make([]string, 0, len(w.files))
	for t := range w.files {
		types = append(types, t)
	}
	sort.Strings(types)
	errList := []error{w.err}
	for _, t := range types {
		tf := w.files[t]
		errList = append(errList, tf.gz.Close(), tf.bw.Flush(), tf.f.Close())
		delete(w.files, t)
	}
	return errors.Join(errList...)
}

// abort closes whatever is still open after a failure.
func (w *ndjsonWriter) abort() {
	for _, tf := range w.files {
		tf.f.Close()
	}
}
