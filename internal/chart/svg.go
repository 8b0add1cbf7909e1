package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SVGOptions sizes and labels a trend chart.
type SVGOptions struct {
	// Width and Height are the viewBox size (default 480×240: a chart
	// card); the SVG scales to its container.
	Width, Height int
	// Title is the chart's accessible title (default the series' name).
	Title string
	// ID prefixes the ids of the title and description, so that several
	// charts can share a page (default "trend").
	ID string
	// Location is the time zone of the date labels (default UTC).
	Location *time.Location
}

// Colours and shapes of the chart. Abnormal points differ by shape as well
// as by colour (WCAG 1.4.1): a triangle up for high, down for low, a
// diamond for other abnormal values, a circle for the rest.
const (
	colLine     = "#1f5fa8"
	colAbnormal = "#b3261e"
	colBand     = "#2e7d32"
	colGrid     = "#e3e6ea"
	colAxis     = "#6b7280"
	colText     = "#1f2937"
)

// TrendSVG draws a series as a standalone SVG line chart (no script):
// the reference range as a shaded band, labelled axes with readable date
// and value ticks, abnormal points marked by shape, and a title and a
// description for assistive technology. The output depends only on its
// inputs.
func TrendSVG(s *Series, o SVGOptions) []byte {
	if s == nil {
		s = &Series{}
	}
	if o.Width <= 0 {
		o.Width = 480
	}
	if o.Height <= 0 {
		o.Height = 240
	}
	if o.Title == "" {
		o.Title = s.Name
		if o.Title == "" {
			o.Title = s.Code
		}
	}
	if o.ID == "" {
		o.ID = "trend"
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	w, h := float64(o.Width), float64(o.Height)
	const left, right, top, bottom = 52.0, 14.0, 30.0, 40.0
	plot := box{x0: left, y0: top, x1: w - right, y1: h - bottom}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-title %s-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="11">`,
		o.Width, o.Height, esc(o.ID), esc(o.ID))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, esc(o.ID), esc(o.Title))
	fmt.Fprintf(&b, `<desc id="%s-desc">%s</desc>`, esc(o.ID), esc(describe(s, o.Location)))
	fmt.Fprintf(&b, `<text x="%s" y="18" font-size="13" font-weight="600" fill="%s">%s</text>`, f1(left), colText, esc(o.Title))
	if s.Unit != "" {
		fmt.Fprintf(&b, `<text x="%s" y="18" text-anchor="end" fill="%s">%s</text>`, f1(w-right), colAxis, esc(displayUnit(s.Unit)))
	}
	if len(s.Points) == 0 {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s"/>`, f1(plot.x0), f1(plot.y0), f1(plot.x1-plot.x0), f1(plot.y1-plot.y0), colGrid)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">No numeric values recorded</text></svg>`, f1((plot.x0+plot.x1)/2), f1((plot.y0+plot.y1)/2), colAxis)
		return b.Bytes()
	}

	// Scales.
	lo, hi := s.Points[0].Value, s.Points[0].Value
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if s.Range.HasLow {
		lo = math.Min(lo, s.Range.Low)
	}
	if s.Range.HasHigh {
		hi = math.Max(hi, s.Range.High)
	}
	yTicks, ylo, yhi := niceTicks(lo, hi, 5)
	t0, t1 := s.Points[0].Time, s.Points[len(s.Points)-1].Time
	if !t1.After(t0) {
		t0, t1 = t0.Add(-24*time.Hour), t1.Add(24*time.Hour)
	} else {
		pad := t1.Sub(t0) / 30
		t0, t1 = t0.Add(-pad), t1.Add(pad)
	}
	x := func(t time.Time) float64 {
		return plot.x0 + (plot.x1-plot.x0)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v float64) float64 { return plot.y1 - (plot.y1-plot.y0)*(v-ylo)/(yhi-ylo) }

	// The reference range band, under everything else.
	if s.Range.HasLow || s.Range.HasHigh {
		bl, bh := ylo, yhi
		if s.Range.HasLow {
			bl = s.Range.Low
		}
		if s.Range.HasHigh {
			bh = s.Range.High
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.12"><title>Reference range %s</title></rect>`,
			f1(plot.x0), f1(y(bh)), f1(plot.x1-plot.x0), f1(y(bl)-y(bh)), colBand, esc(s.Range.Text))
	}
	// Value grid and ticks.
	b.WriteString(`<g>`)
	for _, v := range yTicks {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, f1(plot.x0), f1(y(v)), f1(plot.x1), f1(y(v)), colGrid)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, f1(plot.x0-6), f1(y(v)+3.5), colAxis, esc(tickLabel(v, yTicks)))
	}
	b.WriteString(`</g>`)
	// Date ticks.
	b.WriteString(`<g>`)
	for _, tk := range timeTicks(t0, t1, o.Location) {
		tx := x(tk.t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, f1(tx), f1(plot.y1), f1(tx), f1(plot.y1+4), colAxis)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, f1(tx), f1(plot.y1+16), colAxis, esc(tk.label))
	}
	b.WriteString(`</g>`)
	// Axes.
	fmt.Fprintf(&b, `<path d="M%s %sV%sH%s" fill="none" stroke="%s"/>`, f1(plot.x0), f1(plot.y0), f1(plot.y1), f1(plot.x1), colAxis)
	// The line.
	if len(s.Points) > 1 {
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, f1(x(p.Time))+","+f1(y(p.Value)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"/>`, strings.Join(pts, " "), colLine)
	}
	// The points, each with a tooltip.
	b.WriteString(`<g>`)
	abnormal := map[string]bool{}
	for _, p := range s.Points {
		px, py := x(p.Time), y(p.Value)
		label := p.Date.Text
		if !p.Time.IsZero() {
			label = p.Time.In(o.Location).Format("2 Jan 2006")
		}
		label += ": " + p.Text
		if Abnormal(p.Flag) {
			label += " (" + flagName(p.Flag) + ")"
			abnormal[shapeOf(p.Flag)] = true
		}
		fmt.Fprintf(&b, `<g data-flag="%s">%s<title>%s</title></g>`, esc(p.Flag), marker(p.Flag, px, py, len(s.Points) > 40), esc(label))
	}
	b.WriteString(`</g>`)
	legend(&b, abnormal, s.Range, plot, h)
	b.WriteString(`</svg>`)
	return b.Bytes()
}

type box struct{ x0, y0, x1, y1 float64 }

// marker draws a point: a circle (smaller when the points are many), or
// for abnormal values a triangle up (high), down (low) or a diamond (other).
func marker(flag string, x, y float64, small bool) string {
	switch shapeOf(flag) {
	case "up":
		return fmt.Sprintf(`<path d="M%s %sL%s %sH%sZ" fill="%s"/>`, f1(x), f1(y-6), f1(x+5.5), f1(y+4), f1(x-5.5), colAbnormal)
	case "down":
		return fmt.Sprintf(`<path d="M%s %sL%s %sH%sZ" fill="%s"/>`, f1(x), f1(y+6), f1(x+5.5), f1(y-4), f1(x-5.5), colAbnormal)
	case "diamond":
		return fmt.Sprintf(`<path d="M%s %sL%s %sL%s %sL%s %sZ" fill="%s"/>`, f1(x), f1(y-5.5), f1(x+5.5), f1(y), f1(x), f1(y+5.5), f1(x-5.5), f1(y), colAbnormal)
	}
	r := "3.5"
	if small {
		r = "2.5"
	}
	return fmt.Sprintf(`<circle cx="%s" cy="%s" r="%s" fill="%s" stroke="#fff" stroke-width="1"/>`, f1(x), f1(y), r, colLine)
}

func shapeOf(flag string) string {
	switch flag {
	case FlagHigh, FlagCriticalHigh:
		return "up"
	case FlagLow, FlagCriticalLow:
		return "down"
	case FlagAbnormal:
		return "diamond"
	}
	return "circle"
}

func flagName(flag string) string {
	return map[string]string{FlagHigh: "high", FlagLow: "low", FlagCriticalHigh: "critically high",
		FlagCriticalLow: "critically low", FlagAbnormal: "abnormal", FlagNormal: "normal"}[flag]
}

// legend explains the band and the shapes used, under the date labels.
func legend(b *bytes.Buffer, shapes map[string]bool, r Range, plot box, h float64) {
	x := plot.x0
	y := h - 8
	item := func(mark, text string) {
		b.WriteString(mark)
		fmt.Fprintf(b, `<text x="%s" y="%s" fill="%s">%s</text>`, f1(x+9), f1(y+3.5), colText, esc(text))
		x += 18 + 6.2*float64(len(text))
	}
	b.WriteString(`<g>`)
	if r.HasLow || r.HasHigh {
		item(fmt.Sprintf(`<rect x="%s" y="%s" width="10" height="8" fill="%s" fill-opacity="0.25"/>`, f1(x-4), f1(y-4), colBand), "reference range "+r.Text)
	}
	for _, sh := range []struct{ shape, flag, text string }{{"up", FlagHigh, "high"}, {"down", FlagLow, "low"}, {"diamond", FlagAbnormal, "abnormal"}} {
		if shapes[sh.shape] {
			item(marker(sh.flag, x+1, y, false), sh.text)
		}
	}
	b.WriteString(`</g>`)
}

// describe writes the chart's text alternative: what, how many values,
// over which period, the latest value and the range.
func describe(s *Series, loc *time.Location) string {
	if len(s.Points) == 0 {
		return "No numeric values recorded."
	}
	first, last := s.Points[0], s.Points[len(s.Points)-1]
	var d strings.Builder
	fmt.Fprintf(&d, "%d values", len(s.Points))
	if len(s.Points) > 1 {
		fmt.Fprintf(&d, " from %s to %s", first.Time.In(loc).Format("2 Jan 2006"), last.Time.In(loc).Format("2 Jan 2006"))
	}
	fmt.Fprintf(&d, ". Latest %s on %s", last.Text, last.Time.In(loc).Format("2 Jan 2006"))
	if Abnormal(last.Flag) {
		fmt.Fprintf(&d, " (%s)", flagName(last.Flag))
	}
	lo, hi := first.Value, first.Value
	n := 0
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		if Abnormal(p.Flag) {
			n++
		}
	}
	fmt.Fprintf(&d, "; lowest %s, highest %s", fmtNum(lo), fmtNum(hi))
	if s.Range.Text != "" {
		fmt.Fprintf(&d, "; reference range %s", s.Range.Text)
	}
	if n > 0 {
		fmt.Fprintf(&d, "; %d abnormal", n)
	}
	d.WriteString(".")
	return d.String()
}

// niceTicks returns about n round tick values (steps of 1, 2 or 5 times a
// power of ten) covering [lo, hi], and the covered interval.
func niceTicks(lo, hi float64, n int) ([]float64, float64, float64) {
	if hi == lo {
		d := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-d, hi+d
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	// Ticks are whole multiples of the step, rounded to the step's
	// decimals so that 0.1 steps read 1.2, not 1.2000000000000002.
	dec := max(0, int(-math.Floor(math.Log10(step)))+1)
	round := func(v float64) float64 {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', dec, 64), 64)
		return r
	}
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	var ticks []float64
	for k := first; k <= last; k++ {
		ticks = append(ticks, round(k*step))
	}
	return ticks, round(first * step), round(last * step)
}

// tickLabel writes a tick value with as many decimals as the step needs.
func tickLabel(v float64, ticks []float64) string {
	dec := 0
	if len(ticks) > 1 {
		step := ticks[1] - ticks[0]
		for dec < 4 && math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-9 {
			dec++
		}
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

type timeTick struct {
	t     time.Time
	label string
}

// timeTicks places date ticks on calendar boundaries: years, months,
// days or hours, whichever gives between two and seven ticks.
func timeTicks(t0, t1 time.Time, loc *time.Location) []timeTick {
	span := t1.Sub(t0)
	a := t0.In(loc)
	type unit struct {
		step   func(time.Time, int) time.Time
		floor  func(time.Time) time.Time
		approx time.Duration
		steps  []int // multiples that read well: every 1, 2, 5 years; 1, 3, 6 months...
		format string
	}
	units := []unit{
		{func(t time.Time, k int) time.Time { return t.AddDate(k, 0, 0) }, func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, loc) },
			365 * 24 * time.Hour, []int{1, 2, 5, 10, 20, 25, 50, 100}, "2006"},
		{func(t time.Time, k int) time.Time { return t.AddDate(0, k, 0) }, func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc) },
			30 * 24 * time.Hour, []int{1, 2, 3, 6}, "Jan 2006"},
		{func(t time.Time, k int) time.Time { return t.AddDate(0, 0, k) }, func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc) },
			24 * time.Hour, []int{1, 2, 7, 14}, "2 Jan"},
		{func(t time.Time, k int) time.Time { return t.Add(time.Duration(k) * time.Hour) }, func(t time.Time) time.Time { return t.Truncate(time.Hour) },
			time.Hour, []int{1, 2, 3, 6, 12}, "15:04"},
	}
	for i, u := range units {
		count := float64(span) / float64(u.approx)
		last := i == len(units)-1
		if count < 3 && !last {
			continue // too few ticks of this unit: try a finer one
		}
		k := u.steps[len(u.steps)-1]
		for _, m := range u.steps {
			if count/float64(m) <= 6 {
				k = m
				break
			}
		}
		if count/float64(k) > 6 && i > 0 {
			continue
		}
		t := u.floor(a)
		switch i {
		case 0: // whole multiples of k years
			t = time.Date(t.Year()-t.Year()%k, 1, 1, 0, 0, 0, 0, loc)
		case 1: // months 1, 4, 7, 10 for k = 3; 1 and 7 for k = 6
			t = time.Date(t.Year(), t.Month()-time.Month((int(t.Month())-1)%k), 1, 0, 0, 0, 0, loc)
		}
		var out []timeTick
		for ; !t.After(t1); t = u.step(t, k) {
			if !t.Before(t0) {
				out = append(out, timeTick{t, t.Format(u.format)})
			}
		}
		if len(out) >= 2 || last {
			return out
		}
	}
	return nil
}

func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) //nolint:errcheck // a strings.Builder does not fail
	return b.String()
}
