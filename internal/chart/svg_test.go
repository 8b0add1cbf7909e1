package chart

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleSeries is a systolic blood pressure series with a reference range
// and high, low and normal values.
func sampleSeries() *Series {
	s := &Series{Code: LOINC + "|8480-6", Name: "Systolic blood pressure", Unit: "mm[Hg]",
		Range: Range{Low: 90, High: 130, HasLow: true, HasHigh: true, Text: "90–130"}}
	start := time.Date(2019, 3, 4, 9, 30, 0, 0, time.UTC)
	for i, v := range []float64{118, 124, 142, 151, 128, 86, 121, 133, 119} {
		p := Point{Time: start.AddDate(0, 4*i, 3*i), Value: v, Text: fmtNum(v) + " mm[Hg]", Range: s.Range, ObservationID: "o" + itoa(i)}
		p.Date = Date{Time: p.Time, Text: p.Time.Format(time.RFC3339)}
		p.Flag = computeFlag(Value{Number: v, Numeric: true}, s.Range)
		s.Points = append(s.Points, p)
	}
	return s
}

// svgDoc is what the test reads back from the SVG.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	ViewBox string   `xml:"viewBox,attr"`
	Role    string   `xml:"role,attr"`
	Title   string   `xml:"title"`
	Desc    string   `xml:"desc"`
}

func TestTrendSVG(t *testing.T) {
	s := sampleSeries()
	out := TrendSVG(s, SVGOptions{ID: "bp"})
	if !bytes.Equal(out, TrendSVG(s, SVGOptions{ID: "bp"})) {
		t.Fatal("two renderings of the same series differ")
	}
	var doc svgDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("the SVG is not XML: %v\n%s", err, out)
	}
	if doc.ViewBox != "0 0 480 240" || doc.Role != "img" || doc.Title != "Systolic blood pressure" {
		t.Errorf("viewBox %q role %q title %q", doc.ViewBox, doc.Role, doc.Title)
	}
	for _, want := range []string{"9 values from 4 Mar 2019 to", "Latest 119 mm[Hg]", "reference range 90–130", "4 abnormal"} {
		if !strings.Contains(doc.Desc, want) {
			t.Errorf("the description %q lacks %q", doc.Desc, want)
		}
	}
	// Every element must be well formed, and every point drawn with its
	// shape: circles for normal values, triangles for high and low ones.
	dec := xml.NewDecoder(bytes.NewReader(out))
	shapes := map[string]int{}
	ticks := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "g" {
			for _, a := range se.Attr {
				if a.Name.Local == "data-flag" {
					shapes[a.Value]++
				}
			}
		}
		if se.Name.Local == "text" {
			ticks++
		}
	}
	if want := map[string]int{"N": 5, "H": 3, "L": 1}; !equalCounts(shapes, want) {
		t.Errorf("points by flag %v, want %v", shapes, want)
	}
	if c := strings.Count(string(out), "<circle"); c != 5 {
		t.Errorf("%d circles, want 5 (the normal values)", c)
	}
	if !strings.Contains(string(out), "Reference range 90–130") || !strings.Contains(string(out), ">Jan 2020<") {
		t.Error("the band or the month ticks are missing")
	}
	if ticks < 8 {
		t.Errorf("only %d text elements: ticks are missing", ticks)
	}
	if dir := os.Getenv("CHART_SVG_DIR"); dir != "" { // to look at a rendering
		os.WriteFile(filepath.Join(dir, "trend.svg"), out, 0o644)
	}

	// No series, an empty one and a single point still give a valid chart.
	if err := xml.Unmarshal(TrendSVG(nil, SVGOptions{}), &doc); err != nil {
		t.Errorf("no series: %v", err)
	}
	for name, s := range map[string]*Series{
		"empty":  {Name: "Glucose", Unit: "mg/dL"},
		"single": {Name: "Glucose", Unit: "mg/dL", Points: []Point{{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Value: 5, Text: "5 mg/dL"}}},
		"flat":   {Name: "<Glucose & co>", Points: []Point{{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Value: 5}, {Time: time.Date(2020, 1, 1, 6, 0, 0, 0, time.UTC), Value: 5}}},
	} {
		out := TrendSVG(s, SVGOptions{})
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Errorf("%s: not XML: %v\n%s", name, err, out)
		}
		if got := strings.Count(string(out), "<g data-flag="); got != len(s.Points) {
			t.Errorf("%s: %d points drawn, want %d", name, got, len(s.Points))
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{86, 151, "80 100 120 140 160"},
		{0.8, 1.3, "0.8 0.9 1 1.1 1.2 1.3"},
		{5, 5, "4 4.5 5 5.5 6"},
	} {
		ticks, _, _ := niceTicks(c.lo, c.hi, 5)
		var got []string
		for _, v := range ticks {
			got = append(got, fmtNum(v))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("niceTicks(%v, %v) = %v, want %s", c.lo, c.hi, got, c.want)
		}
	}
}
