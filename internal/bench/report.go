package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// WriteTable prints the report as an aligned text table.
func (rep *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "OpenChart benchmark: %s", rep.Target)
	if rep.Patients > 0 {
		fmt.Fprintf(w, ", data set of %d patients (%d resources)", rep.Patients, rep.Resources)
	}
	fmt.Fprintf(w, ", %s\n\n", rep.Started.Format("2006-01-02 15:04 MST"))
	rows := [][]string{{"phase", "clients", "rate", "unit", "p50 ms", "p95 ms", "p99 ms", "errors", "ceiling", "ratio", "RSS MB", "CPU %", "note"}}
	for _, r := range rep.Rows {
		if r.Skipped {
			rows = append(rows, []string{r.Phase, clientsCell(r.Clients), "-", "", "", "", "", fmt.Sprint(r.Errors), "", "", "", "", r.Note})
			continue
		}
		rows = append(rows, []string{r.Phase, fmt.Sprint(r.Clients), fmt.Sprintf("%.0f", r.Rate), r.Unit,
			num(r.P50, 2), num(r.P95, 2), num(r.P99, 2), fmt.Sprint(r.Errors),
			num(r.Ceiling, 0), ratio(r.Ratio), measured(r.RSSMB, 0), measured(r.CPU, 0), r.Note})
	}
	if err := writeAligned(w, rows); err != nil {
		return err
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w)
		return WriteTargets(w, rep.Targets)
	}
	return nil
}

// writeAligned writes rows in columns: the first, the unit and the last
// (text) left-aligned, the numbers right-aligned.
func writeAligned(w io.Writer, rows [][]string) error {
	return writeColumns(w, rows, map[int]bool{0: true, 3: true, len(rows[0]) - 1: true})
}

// writeColumns writes rows in columns, those in left left-aligned and the
// others right-aligned.
func writeColumns(w io.Writer, rows [][]string, left map[int]bool) error {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if left[i] {
				line.WriteString(c + pad + "  ")
			} else {
				line.WriteString(pad + c + "  ")
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	out := b.String()
	_, err := io.WriteString(w, out)
	return err
}

func clientsCell(c int) string {
	if c == 0 {
		return "-"
	}
	return fmt.Sprint(c)
}

func num(v float64, prec int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func measured(v float64, prec int) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func ratio(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteJSON writes the report as JSON.
func (rep *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// WriteSVG writes two line charts into dir: throughput.svg and p99.svg,
// one line per phase measured at more than one concurrency level. With a
// Name, the files are NAME-throughput.svg and NAME-p99.svg.
func (rep *Report) WriteSVG(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type series struct {
		name   string
		points [][2]float64 // clients, value
	}
	collect := func(val func(Row) float64) []series {
		var out []series
		idx := map[string]int{}
		for _, r := range rep.Rows {
			v := val(r)
			if r.Skipped || r.Clients == 0 || v <= 0 || strings.HasPrefix(r.Phase, "import") || r.Phase == PhaseCopy {
				continue
			}
			i, ok := idx[r.Phase]
			if !ok {
				i = len(out)
				idx[r.Phase] = i
				out = append(out, series{name: r.Phase})
			}
			out[i].points = append(out[i].points, [2]float64{float64(r.Clients), v})
		}
		return out
	}
	charts := []struct {
		file, title string
		val         func(Row) float64
	}{
		{"throughput.svg", "Throughput (requests/s, matches/s for counts, tps for pgbench) against clients", func(r Row) float64 { return r.Rate }},
		{"p99.svg", "p99 latency (ms) against clients", func(r Row) float64 { return r.P99 }},
	}
	for _, c := range charts {
		var ss []chartSeries
		for _, s := range collect(c.val) {
			ss = append(ss, chartSeries(s))
		}
		file := c.file
		if rep.Name != "" {
			file = rep.Name + "-" + file
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(lineChart(c.title, ss)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

type chartSeries struct {
	name   string
	points [][2]float64
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000"}

// lineChart draws series on log-log axes (clients, value): concurrency
// levels and rates both span orders of magnitude.
func lineChart(title string, ss []chartSeries) string {
	return drawChart(chartSpec{title: title, xLabel: "concurrent clients", log: true}, ss)
}

// chartSpec says how to draw a chart: log-log axes, or linear ones from
// zero.
type chartSpec struct {
	title, xLabel string
	log           bool
}

func drawChart(spec chartSpec, ss []chartSeries) string {
	const w, h, left, right, top, bottom = 1100, 420, 70, 500, 40, 50
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.points {
			minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
			minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/><text x="%d" y="20" font-size="13">%s</text>`+"\n", w, h, left, escape(spec.title))
	if len(ss) == 0 {
		b.WriteString(`<text x="70" y="80">no data</text></svg>` + "\n")
		return b.String()
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	// x0..x1 and y0..y1 are the axes' ends in axis units (log10 of the
	// value on log axes); ticks are the y values with a grid line.
	var x0, x1, y0, y1 float64
	var ticks []float64
	ax := func(v float64) float64 { return v }
	if spec.log {
		ax = math.Log10
		x0, x1 = math.Log10(minX), math.Log10(maxX)
		y0, y1 = math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
		if y1 == y0 {
			y1 = y0 + 1
		}
		for e := y0; e <= y1 && e-y0 < 20; e++ {
			ticks = append(ticks, math.Pow(10, e))
		}
	} else {
		x0, x1 = minX, maxX
		step := niceStep(maxY / 5)
		y0, y1 = 0, math.Max(step, math.Ceil(maxY/step)*step)
		for v := 0.0; v <= y1+step/2 && len(ticks) < 20; v += step {
			ticks = append(ticks, v)
		}
	}
	if x1 == x0 {
		x1 = x0 + 1
	}
	px := func(x float64) float64 { return left + (ax(x)-x0)/(x1-x0)*pw }
	py := func(y float64) float64 { return top + ph - (ax(y)-y0)/(y1-y0)*ph }
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, top, pw, ph)
	for _, t := range ticks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+pw, y, y, left-6, y+4, tickLabel(t))
	}
	var xs []float64
	seen := map[float64]bool{}
	for _, s := range ss {
		for _, p := range s.points {
			if !seen[p[0]] {
				seen[p[0]] = true
				xs = append(xs, p[0])
			}
		}
	}
	every := max(1, (len(xs)+14)/15) // at most 15 labels
	for i, x := range xs {
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", px(x), h-bottom+16, math.Round(x*100)/100)
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">%s</text>`+"\n", left+pw/2, h-12, escape(spec.xLabel))
	for i, s := range ss {
		col := palette[i%len(palette)]
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), col)
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), col)
		ly := top + 14*i
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			w-right+12, ly, col, w-right+26, ly+9, escape(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel writes powers of ten as 1, 10, 100, 1k ... 1M.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
