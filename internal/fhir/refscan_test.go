package fhir

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/shareddata"
)

// scanRefs collects what EachReference reports (copied: fn's slice is
// only valid during the call).
func scanRefs(data []byte) ([]string, error) {
	var out []string
	err := EachReference(data, func(ref []byte) { out = append(out, string(ref)) })
	return out, err
}

// walkReferences is what the scanner must agree with: every string value
// of a "reference" property in the tree Parse builds, "div" skipped (the
// walk $everything made before the scanner).
func walkReferences(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			switch s, ok := child.(string); {
			case k == "div":
			case ok && k == "reference":
				fn(s)
			case !ok:
				walkReferences(child, fn)
			}
		}
	case []any:
		for _, child := range x {
			walkReferences(child, fn)
		}
	}
}

// treeRefs is walkReferences over ParseJSON, sorted (map order is random).
func treeRefs(data []byte) ([]string, error) {
	v, err := ParseJSON(data, ParseOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	walkReferences(v, func(s string) { out = append(out, s) })
	slices.Sort(out)
	return out, nil
}

func TestEachReference(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"none", `{"resourceType":"Patient","id":"p1"}`, nil},
		{"top level", `{"reference":"Patient/1"}`, []string{"Patient/1"}},
		{"nested in document order",
			`{"resourceType":"Observation","subject":{"reference":"Patient/1","display":"A"},"performer":[{"reference":"Practitioner/2"},{"display":"x"},{"reference":"Organization/3"}],"encounter":{"reference":"Encounter/4"}}`,
			[]string{"Patient/1", "Practitioner/2", "Organization/3", "Encounter/4"}},
		{"deep arrays and objects",
			`{"a":[[[{"b":{"c":[{"reference":"Location/1"}]}}]],[]],"d":{},"e":[{},[],{"reference":"Location/2"}]}`,
			[]string{"Location/1", "Location/2"}},
		{"white space", " \t\r\n{ \"x\" : [ { \"reference\" : \"Group/g\" } ] } \n", []string{"Group/g"}},
		{"byte order mark", "\xEF\xBB\xBF{\"reference\":\"Patient/bom\"}", []string{"Patient/bom"}},
		{"escaped quote and backslash", `{"reference":"a\"b\\c\/d"}`, []string{`a"b\c/d`}},
		{"control escapes", `{"reference":"\b\f\n\r\t"}`, []string{"\b\f\n\r\t"}},
		{"unicode escape", `{"reference":"Patient/caf\u00e9"}`, []string{"Patient/café"}},
		{"upper-case hex", `{"reference":"\u00C9"}`, []string{"É"}},
		{"surrogate pair", `{"reference":"x\ud83d\ude00y"}`, []string{"x😀y"}},
		{"lone high surrogate", `{"reference":"\ud800z"}`, []string{"\uFFFDz"}},
		{"high surrogate then a non-surrogate escape", `{"reference":"\ud800\u0041"}`, []string{"\uFFFD"}},
		{"raw UTF-8", `{"reference":"Practitioner/é😀"}`, []string{"Practitioner/é😀"}},
		{"escaped key", `{"refer\u0065nce":"Patient/k"}`, []string{"Patient/k"}},
		{"escaped strings one after another", `{"a":{"reference":"A\u0041"},"b":{"reference":"B\u0042"},"c":{"reference":"plain"}}`,
			[]string{"AA", "BB", "plain"}},
		{"empty string", `{"reference":""}`, []string{""}},
		{"non-string values", `{"a":{"reference":1},"b":{"reference":-1.5e+3},"c":{"reference":null},"d":{"reference":true},"e":{"reference":false}}`, nil},
		{"object value is walked", `{"reference":{"reference":"Patient/inner","x":{"reference":[{"reference":"Patient/deeper"}]}}}`,
			[]string{"Patient/inner", "Patient/deeper"}},
		{"array of strings is not a reference", `{"reference":["Patient/1","Patient/2"]}`, nil},
		{"keys that contain reference",
			`{"referenceRange":[{"text":"x"}],"_reference":{"extension":[{"url":"u","valueString":"Patient/no"}]},"references":"Patient/no","Reference":"Patient/no","referenceX":"no","xreference":"no"}`,
			nil},
		{"reference as a value, not a key", `{"type":"reference","a":["reference"]}`, nil},
		{"primitive extension beside a reference",
			`{"subject":{"reference":"Patient/1","_reference":{"extension":[{"url":"u","valueReference":{"reference":"Patient/ext"}}]}}}`,
			[]string{"Patient/1", "Patient/ext"}},
		{"narrative skipped",
			`{"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">{\"reference\":\"Patient/no\"}</div>"},"subject":{"reference":"Patient/yes"}}`,
			[]string{"Patient/yes"}},
		{"div holding an object is skipped whole",
			`{"div":{"reference":"Patient/no","a":[{"reference":"Patient/no"},{"div":{"reference":"Patient/no"}}]},"after":{"reference":"Patient/yes"}}`,
			[]string{"Patient/yes"}},
		{"empty div object and array", `{"div":{},"x":{"reference":"A/1"},"y":{"div":[]},"z":{"reference":"B/2"}}`, []string{"A/1", "B/2"}},
		{"contained resources",
			`{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication","id":"m","manufacturer":{"reference":"Organization/o"}},{"resourceType":"Provenance","id":"p","target":[{"reference":"#m"}],"text":{"div":"<div>Patient/no</div>"}}],"medicationReference":{"reference":"#m"},"subject":{"reference":"Patient/1"}}`,
			[]string{"Organization/o", "#m", "#m", "Patient/1"}},
		{"nulls in arrays", `{"given":[null,"a"],"_given":[{"id":"x"},null],"x":{"reference":"P/1"}}`, []string{"P/1"}},
		{"numbers", `{"a":0,"b":-0,"c":12.50,"d":1e10,"e":1E-2,"f":[0.0,-1],"g":{"reference":"N/1"}}`, []string{"N/1"}},
		{"top-level scalar", `"reference"`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := scanRefs([]byte(c.in))
			if err != nil {
				t.Fatalf("EachReference: %v", err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("references (-want +got):\n%s", diff)
			}
			// The tree walk agrees wherever Parse accepts the input.
			if tree, err := treeRefs([]byte(c.in)); err == nil {
				sorted := slices.Sorted(slices.Values(got))
				if diff := cmp.Diff(tree, sorted); diff != "" {
					t.Errorf("scanner and tree walk differ (-tree +scan):\n%s", diff)
				}
			}
		})
	}
}

func TestEachReferenceRejects(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `[`, `}`, `]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`,
		`{"a":[1}`, `{"a":{]}`, `[1]]`, `{} {}`, `{}x`, `{a:1}`, `{'a':1}`, `{"a":'x'}`,
		`{"a":tru}`, `{"a":nul}`, `{"a":True}`, `{"a":undefined}`, `{"a":NaN}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":1e+}`, `{"a":+1}`, `{"a":0x1}`,
		`{"a":"x`, `{"reference":"x`, `{"reference":"x\`, `{"reference":"\q"}`, `{"reference":"\u12"}`,
		`{"reference":"\u12g4"}`, `{"reference":"\ud800\u12"}`, "{\"reference\":\"a\x01b\"}", "{\"a\":\"\tb\"}",
		"{\"reference\":\"\xff\"}", "{\"reference\":\"a\\u0041\xfe\"}",
		`{"div":{"reference":1,}}`, `{"div":"<div>`, `{"a":[{"reference":"x"}`,
	} {
		_, err := scanRefs([]byte(in))
		if err == nil {
			t.Errorf("EachReference(%q) succeeded, want an error", in)
			continue
		}
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("EachReference(%q) error kind = %v, want invalid", in, errs.KindOf(err))
		}
		if _, perr := ParseJSON([]byte(in), ParseOptions{}); perr == nil {
			t.Errorf("EachReference(%q) refused what Parse accepts: %v", in, err)
		}
	}
}

// TestEachReferenceLenient: what Parse refuses beyond the JSON grammar is
// not the scanner's concern (a stored resource has passed Parse already).
func TestEachReferenceLenient(t *testing.T) {
	deep := strings.Repeat(`[`, 100) + `{"reference":"Deep/1"}` + strings.Repeat(`]`, 100)
	for in, want := range map[string][]string{
		`{"a":null,"b":{"reference":"P/1"}}`:    {"P/1"},
		`{"reference":"P/1","reference":"P/2"}`: {"P/1", "P/2"},
		deep:                                    {"Deep/1"},
		"{\"name\":\"\xff\",\"x\":{\"reference\":\"P/3\"}}": {"P/3"},
	} {
		got, err := scanRefs([]byte(in))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("EachReference(%.40q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestEachReferenceExamples compares the scanner with the tree walk on
// every example resource of the specification, and on their canonical
// form, the bytes the store keeps.
func TestEachReferenceExamples(t *testing.T) {
	dir := shareddata.Path(t, "fhir-r4/examples")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no examples in %s", dir)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(data, ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, in := range [][]byte{data, Marshal(res)} {
			want, _ := treeRefs(in)
			got, err := scanRefs(in)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-tree +scan):\n%s", filepath.Base(f), diff)
			}
			n += len(got)
		}
	}
	t.Logf("%d examples, %d references", len(files), n)
}

// FuzzEachReference: wherever Parse accepts the input, the scanner
// succeeds and reports exactly the references the tree walk finds; where
// the scanner refuses an input, Parse refuses it too.
func FuzzEachReference(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Observation","subject":{"reference":"Patient/1"},"text":{"div":"<div/>"}}`,
		`{"reference":"a\"b\\c\u00e9\ud83d\ude00"}`,
		`{"refer\u0065nce":"k","referenceRange":[{"reference":{"reference":"x"}}],"_reference":{"reference":null}}`,
		`{"div":{"reference":"no"},"contained":[{"resourceType":"Medication","id":"m"}],"m":{"reference":"#m"}}`,
		`[null,{"reference":"\ud800\u0041"},1.5e-3,true,false]`,
	} {
		f.Add([]byte(s))
	}
	for _, data := range syntheaSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := scanRefs(data)
		want, perr := treeRefs(data)
		if perr != nil {
			return
		}
		if err != nil {
			t.Fatalf("EachReference refused what Parse accepts: %v", err)
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-tree +scan):\n%s", diff)
		}
	})
}

// syntheaSeeds returns a few resources of one Synthea patient, in the
// canonical form the store keeps (nil when the data is absent).
func syntheaSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(shareddataRoot(), "synthea-120", "0696ac49-*.json.gz"))
	if len(files) == 0 {
		return nil
	}
	entries := syntheaEntries(tb, files[0])
	var out [][]byte
	seen := map[string]bool{}
	for _, res := range entries {
		if t := TypeOf(res); !seen[t] {
			seen[t] = true
			out = append(out, Marshal(res))
		}
	}
	return out
}

// shareddataRoot is ../shared/data from the module root, found without
// skipping (seeds are optional).
func shareddataRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// syntheaEntries reads the resources of a gzipped Synthea Bundle.
func syntheaEntries(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := Parse(data, ParseOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]any
	for _, e := range b["entry"].([]any) {
		if res, ok := e.(map[string]any)["resource"].(map[string]any); ok {
			out = append(out, res)
		}
	}
	return out
}

// BenchmarkReferences finds the references of every resource of the
// largest Synthea patient in the sample (the bytes $everything reads):
// the scanner, the tree walk it replaced, and encoding/json's tokenizer.
func BenchmarkReferences(b *testing.B) {
	path := filepath.Join(shareddata.Path(b, "synthea-120"), "e5a8d3f4-4484-ebfd-7404-d9f02c9fe6a6.json.gz")
	var recs [][]byte
	size := 0
	for _, res := range syntheaEntries(b, path) {
		recs = append(recs, Marshal(res))
		size += len(recs[len(recs)-1])
	}
	b.Logf("%d resources, %d bytes", len(recs), size)
	count := 0
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				if err := EachReference(r, func([]byte) { count++ }); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("parse-walk", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				res, err := Parse(r, ParseOptions{})
				if err != nil {
					b.Fatal(err)
				}
				walkReferences(res, func(string) { count++ })
			}
		}
	})
	b.Run("json-token", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				if err := tokenRefs(r, func(string) { count++ }); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// tokenRefs is the same search over encoding/json's Decoder.Token, to
// compare with (it does not skip div objects: Synthea has none).
func tokenRefs(data []byte, fn func(string)) error {
	d := json.NewDecoder(bytes.NewReader(data))
	const (
		inArray = iota
		wantKey
		wantValue
	)
	var stack []int
	isRef := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := -1
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top == wantKey {
			if k, ok := tok.(string); ok {
				isRef = k == "reference"
				stack[len(stack)-1] = wantValue
				continue
			}
		}
		if top == wantValue {
			stack[len(stack)-1] = wantKey
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, wantKey)
			case '[':
				stack = append(stack, inArray)
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top == wantValue && isRef {
				fn(v)
			}
		}
	}
}
