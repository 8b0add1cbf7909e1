package fhir

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/errs"
)

func TestNormalize(t *testing.T) {
	type period struct {
		Start string `json:"start"`
	}
	got, err := Normalize(map[string]any{
		"resourceType":    "Appointment",
		"minutesDuration": 30,
		"priority":        uint8(5),
		"weight":          1.5,
		"tags":            []string{"a", "b"},
		"extension":       []map[string]any{{"url": "u", "valueBoolean": true}},
		"period":          period{Start: "2026-01-02"},
		"text":            map[string]string{"div": "<div>x</div>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resourceType":    "Appointment",
		"minutesDuration": json.Number("30"),
		"priority":        json.Number("5"),
		"weight":          json.Number("1.5"),
		"tags":            []any{"a", "b"},
		"extension":       []any{map[string]any{"url": "u", "valueBoolean": true}},
		"period":          map[string]any{"start": "2026-01-02"},
		"text":            map[string]any{"div": "<div>x</div>"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %#v\nwant %#v", got, want)
	}
	// The result is what Parse reads back from the canonical form.
	back, err := Parse(Marshal(got), ParseOptions{})
	if err != nil || !reflect.DeepEqual(back, got) {
		t.Errorf("Parse(Marshal(Normalize)) = %#v, %v", back, err)
	}
}

func TestNormalizeRejects(t *testing.T) {
	deep := map[string]any{}
	for cur, i := deep, 0; i < DefaultMaxDepth+1; i++ {
		next := map[string]any{}
		cur["x"] = next
		cur = next
	}
	cases := map[string]map[string]any{
		"nan":         {"value": math.NaN()},
		"channel":     {"c": make(chan int)},
		"null member": {"resourceType": "Patient", "active": nil},
		"too deep":    deep,
		"nil map":     nil,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Normalize(in)
			if err == nil {
				t.Fatalf("Normalize succeeded with %v", got)
			}
			if !errs.Is(err, errs.Internal) {
				t.Errorf("error kind = %v, want internal (%v)", errs.KindOf(err), err)
			}
		})
	}
}

func TestParseStored(t *testing.T) {
	res, err := ParseStored("inbox", "Task", "t1", []byte(`{"resourceType":"Task","id":"t1","status":"requested"}`))
	if err != nil {
		t.Fatal(err)
	}
	if TypeOf(res) != "Task" || IDOf(res) != "t1" || res["status"] != "requested" {
		t.Errorf("ParseStored = %v", res)
	}
	_, err = ParseStored("inbox", "Task", "t2", []byte(`{"resourceType":"Task","id":`))
	if !errs.Is(err, errs.Internal) {
		t.Fatalf("a damaged record: error kind = %v, want internal (%v)", errs.KindOf(err), err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "inbox: ") || !strings.Contains(msg, "parsing Task/t2") {
		t.Errorf("error %q does not name the operation and the resource", msg)
	}
	if errs.Message(err) == err.Error() {
		t.Errorf("the cause of an internal error is shown to clients: %q", errs.Message(err))
	}
}

func TestAccessors(t *testing.T) {
	res := map[string]any{
		"status":  "final",
		"count":   json.Number("2"),
		"subject": map[string]any{"reference": "Patient/1", "display": "Ann"},
		"code":    map[string]any{"coding": []any{map[string]any{"code": "x"}, "junk"}},
		"bad":     map[string]any{"reference": 7},
	}
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"Str string", Str(res["status"]), "final"},
		{"Str number", Str(res["count"]), ""},
		{"Str absent", Str(res["missing"]), ""},
		{"Obj object", Str(Obj(res["subject"])["display"]), "Ann"},
		{"Obj of a string", Obj(res["status"]) == nil, true},
		{"Obj absent reads empty", Str(Obj(res["missing"])["x"]), ""},
		{"List array", len(List(Obj(res["code"])["coding"])), 2},
		{"List of an object", List(res["subject"]) == nil, true},
		{"List element", Str(Obj(List(Obj(res["code"])["coding"])[0])["code"]), "x"},
		{"List mistyped element", Obj(List(Obj(res["code"])["coding"])[1]) == nil, true},
		{"RefOf", RefOf(res["subject"]), "Patient/1"},
		{"RefOf non-string", RefOf(res["bad"]), ""},
		{"RefOf absent", RefOf(res["missing"]), ""},
		{"RefOf string", RefOf("Patient/1"), ""},
		{"Reference", RefOf(Reference("Practitioner/7")), "Practitioner/7"},
		{"Reference form", reflect.DeepEqual(Reference("Task/a"), map[string]any{"reference": "Task/a"}), true},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
