package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/shareddata"
)

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, in string
	}{
		{"empty", ``},
		{"not object", `[1]`},
		{"no resourceType", `{"id":"a"}`},
		{"resourceType not string", `{"resourceType":1}`},
		{"duplicate key", `{"resourceType":"Patient","id":"a","id":"b"}`},
		{"null property", `{"resourceType":"Patient","active":null}`},
		{"trailing data", `{"resourceType":"Patient"} x`},
		{"trailing comma", `{"resourceType":"Patient",}`},
		{"leading zero", `{"resourceType":"Patient","n":01}`},
		{"bad escape", `{"resourceType":"Patient","n":"\q"}`},
		{"control char", "{\"resourceType\":\"Patient\",\"n\":\"a\x01\"}"},
		{"bad utf8", "{\"resourceType\":\"Patient\",\"n\":\"\xff\"}"},
		{"unterminated", `{"resourceType":"Patient"`},
		{"too deep", `{"resourceType":"Patient","a":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), ParseOptions{})
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", c.in)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Parse(%q) error kind = %v, want invalid", c.in, errs.KindOf(err))
			}
		})
	}
}

func TestParseKeepsDecimalsAndNullsInArrays(t *testing.T) {
	in := `{"resourceType":"Observation","valueQuantity":{"value":1.50},"_x":[null,{"id":"a"}],"s":"\u00e9\ud83d\ude00<b>"}`
	res, err := Parse([]byte(in), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res["valueQuantity"].(map[string]any)["value"]; got != json.Number("1.50") {
		t.Errorf("decimal = %v, want 1.50", got)
	}
	if got := res["s"]; got != "é😀<b>" {
		t.Errorf("string = %q", got)
	}
	out := string(Marshal(res))
	want := `{"resourceType":"Observation","s":"é😀<b>","valueQuantity":{"value":1.50},"_x":[null,{"id":"a"}]}`
	if out != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
}

// TestRoundTripExamples parses every example of the specification, writes it
// canonically and checks that nothing changed in meaning.
func TestRoundTripExamples(t *testing.T) {
	dir := shareddata.Path(t, "fhir-r4/examples")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no examples in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Parse(data, ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		var want any
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(any(res), want) {
			t.Errorf("%s: Parse differs from encoding/json", filepath.Base(f))
		}
		again, err := Parse(Marshal(res), ParseOptions{})
		if err != nil || !reflect.DeepEqual(again, res) {
			t.Errorf("%s: Marshal/Parse round trip differs (%v)", filepath.Base(f), err)
		}
		if ind, err := Parse(MarshalIndent(res), ParseOptions{}); err != nil || !reflect.DeepEqual(ind, res) {
			t.Errorf("%s: MarshalIndent round trip differs (%v)", filepath.Base(f), err)
		}
	}
	t.Logf("%d examples round-tripped", len(files))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["A"]}],"_x":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data, ParseOptions{})
		if err != nil {
			return
		}
		again, err := ParseJSON(Marshal(v), ParseOptions{})
		if err != nil {
			t.Fatalf("re-parse of canonical output failed: %v", err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("round trip changed the value")
		}
	})
}
