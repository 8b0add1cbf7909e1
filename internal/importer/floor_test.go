package importer_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// floorResources returns the resources of the benchmark's files as JSON
// texts, one per resource: the lines of NDJSON files, the entries of
// Bundles.
func floorResources(b *testing.B) [][]byte {
	var out [][]byte
	var walk func(path string)
	walk = func(path string) {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			ents, _ := os.ReadDir(path)
			for _, e := range ents {
				walk(filepath.Join(path, e.Name()))
			}
			return
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return // the sample holds an empty .json.gz file
			}
			r = zr
		}
		data, err := io.ReadAll(r)
		if err != nil {
			b.Fatal(err)
		}
		if strings.Contains(path, ".ndjson") {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
					out = append(out, bytes.Clone(line))
				}
			}
			return
		}
		bundle, err := fhir.Parse(data, fhir.ParseOptions{})
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		entries, _ := bundle["entry"].([]any)
		for _, e := range entries {
			if res, ok := e.(map[string]any)["resource"].(map[string]any); ok {
				out = append(out, fhir.Marshal(res))
			}
		}
	}
	for _, p := range benchFiles(b) {
		walk(p)
	}
	return out
}

// BenchmarkFloor is the CPU a resource costs before any store sees it:
// parse its JSON, stamp id and meta, validate (FHIRPath invariants
// included), extract its index rows, write the canonical JSON and flatten
// the index rows as the stores do. One goroutine; cpu-µs/resource bounds
// what an import can reach on a given number of cores with a free store.
func BenchmarkFloor(b *testing.B) {
	lines := floorResources(b)
	d := defs.Default()
	val := validate.New(d, validate.Options{Invariants: validate.FHIRPathInvariants(d)})
	ix, err := search.NewIndexer(d)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
	var bytesOut int
	b.ReportAllocs()
	b.ResetTimer()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	for b.Loop() {
		for i, line := range lines {
			res, err := fhir.Parse(line, fhir.ParseOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if fhir.IDOf(res) == "" {
				res["id"] = "r" + strconv.Itoa(i)
			}
			meta := fhir.Meta(res)
			meta["versionId"] = "1"
			meta["lastUpdated"] = now
			val.Validate(res)
			x, err := ix.Index(res)
			if err != nil {
				b.Fatal(err)
			}
			bytesOut += len(fhir.MarshalResource(res, d))
			sqlgen.Flatten(&x)
		}
	}
	n := float64(b.N * len(lines))
	b.ReportMetric(n/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "cpu-µs/resource")
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/resource")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/resource")
	b.ReportMetric(float64(bytesOut)/n, "json-B/resource")
}
