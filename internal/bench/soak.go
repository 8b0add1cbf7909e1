package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// SoakRule is how a soak's verdict is decided.
const SoakRule = "flat when there are no errors, the last interval's p99 is at most max(1.5 × the first interval's, the first's + 1 ms), " +
	"the server's RSS at the end of the last interval is less than 10% above its RSS at the end of the first, " +
	"and the last interval's rate is at least 90% of the target rate"

// SoakConfig says how to soak a server.
type SoakConfig struct {
	// Target is the server's base URL or FHIR base, on a loopback address.
	Target string
	Token  string
	// PID is the server's process id; 0 finds it by the target's port.
	PID int
	// Duration is the length of the soak (default 10 minutes), Interval
	// the length of each reported interval (default 1 minute).
	Duration time.Duration
	Interval time.Duration
	// Rate is the fixed request rate (requests/s). 0: Fraction (default
	// 0.8) of the peak rate, measured first with PeakClients clients
	// (default 8) for PeakDuration (default 20 s).
	Rate         float64
	Fraction     float64
	PeakClients  int
	PeakDuration time.Duration
	// MaxClients bounds the concurrent requests at the fixed rate (default
	// 64): when the server falls behind, latency grows rather than load.
	MaxClients int
	Name       string
	Log        io.Writer
}

// SoakReport is the outcome of a soak.
type SoakReport struct {
	Name        string         `json:"name,omitempty"`
	Target      string         `json:"target"`
	Started     time.Time      `json:"started"`
	ServerPID   int            `json:"serverPid,omitempty"`
	Queries     []string       `json:"queries"`
	PeakRate    float64        `json:"peakRate,omitempty"`
	PeakClients int            `json:"peakClients,omitempty"`
	Fraction    float64        `json:"fraction,omitempty"`
	Rate        float64        `json:"rate"`
	Duration    string         `json:"duration"`
	Interval    string         `json:"interval"`
	Intervals   []SoakInterval `json:"intervals"`
	Flat        bool           `json:"flat"`
	Verdict     string         `json:"verdict"`
	Rule        string         `json:"rule"`
	Reasons     []string       `json:"reasons,omitempty"`
	Notes       []string       `json:"notes,omitempty"`
}

// SoakInterval is one interval of a soak.
type SoakInterval struct {
	// Start is the interval's start, in seconds from the soak's start.
	Start    float64 `json:"startS"`
	Requests int     `json:"requests"`
	Rate     float64 `json:"rate"`
	P50      float64 `json:"p50Ms"`
	P95      float64 `json:"p95Ms"`
	P99      float64 `json:"p99Ms"`
	Errors   int     `json:"errors"`
	// RSSMB is the server's RSS at the interval's end, PeakRSSMB the
	// highest seen in it, CPU its average CPU use (% of one core); -1 when
	// not measured.
	RSSMB     float64 `json:"rssMB"`
	PeakRSSMB float64 `json:"peakRssMB"`
	CPU       float64 `json:"cpuPercent"`
}

// Soak finds the peak rate of the query mix (unless given one), then runs
// the mix at a fixed fraction of it and reports each interval.
func Soak(ctx context.Context, cfg SoakConfig) (*SoakReport, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Interval > cfg.Duration {
		cfg.Interval = cfg.Duration
	}
	if cfg.Fraction <= 0 {
		cfg.Fraction = 0.8
	}
	if cfg.Fraction > 1 {
		return nil, fmt.Errorf("the fraction of the peak must be at most 1, not %g", cfg.Fraction)
	}
	if cfg.PeakClients <= 0 {
		cfg.PeakClients = TargetClients
	}
	if cfg.PeakDuration <= 0 {
		cfg.PeakDuration = 20 * time.Second
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 64
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("bad rate %g", cfg.Rate)
	}
	if n := cfg.Duration / cfg.Interval; n > 10000 {
		return nil, fmt.Errorf("%d intervals are too many: make the interval longer", n)
	}
	base, err := fhirBase(cfg.Target)
	if err != nil {
		return nil, err
	}
	if err := checkLoopback(ctx, base); err != nil {
		return nil, err
	}
	r := &runner{
		cfg:    Config{Target: cfg.Target, Token: cfg.Token, Log: cfg.Log},
		base:   base,
		client: newClient(cfg.MaxClients, cfg.Token),
		rep:    &Report{},
	}
	r.proc = newSampler(cfg.PID, base)
	rep := &SoakReport{Name: cfg.Name, Target: base, Started: time.Now().UTC(), ServerPID: r.proc.pid,
		Duration: cfg.Duration.String(), Interval: cfg.Interval.String(), Rule: SoakRule}
	if r.proc.pid == 0 {
		rep.Notes = append(rep.Notes, "server RSS and CPU: n/a (give --pid, or run the server on this machine)")
	}
	if err := r.ping(ctx); err != nil {
		return nil, err
	}
	qs, err := r.soakQueries(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		rep.Queries = append(rep.Queries, q.name)
	}
	rep.Notes = append(rep.Notes, r.rep.Notes...)
	targets := mixTargets(qs, base, cfg.Token)

	rep.Rate = cfg.Rate
	if rep.Rate == 0 {
		r.logf("measuring the query mix's peak rate: %d clients for %s", cfg.PeakClients, cfg.PeakDuration)
		m := r.load(ctx, targets, cfg.PeakClients, vegeta.Rate{Freq: 0}, cfg.PeakDuration, nil)
		ok := okCount(m)
		if el := m.Duration + m.Wait; el > 0 {
			rep.PeakRate = float64(ok) / el.Seconds()
		}
		if int(m.Requests) != ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d requests failed while measuring the peak", int(m.Requests)-ok, m.Requests))
		}
		if rep.PeakRate <= 0 {
			return rep, errors.New("the query mix got no answers while measuring the peak rate")
		}
		rep.PeakClients, rep.Fraction = cfg.PeakClients, cfg.Fraction
		rep.Rate = rep.PeakRate * cfg.Fraction
		r.logf("peak %.0f requests/s; soaking at %.0f requests/s for %s", rep.PeakRate, rep.Rate, cfg.Duration)
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	rep.Intervals = r.soak(ctx, targets, cfg, rep.Rate)
	rep.judge()
	return rep, ctx.Err()
}

// soakQueries probes the query mix and keeps the queries the server
// answers, and in reasonable time.
func (r *runner) soakQueries(ctx context.Context) ([]query, error) {
	pats, obs, err := r.sample(ctx)
	if err != nil {
		return nil, err
	}
	var out []query
	for _, q := range mix(pats, obs) {
		start := time.Now()
		_, status, msg := r.probe(ctx, q.paths[0])
		switch took := time.Since(start); {
		case status != http.StatusOK:
			r.note("%s left out: the server answered %d %s", q.name, status, msg)
		case took > slowProbe:
			r.note("%s left out: one request took %s", q.name, took.Round(time.Millisecond))
		default:
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the server answered none of the query mix")
	}
	return out, nil
}

type soakSample struct {
	at    time.Duration
	rss   float64
	ticks int64
	ok    bool
}

// soak runs the targets at a fixed rate and cuts the results into
// intervals.
func (r *runner) soak(ctx context.Context, targets []vegeta.Target, cfg SoakConfig, rate float64) []SoakInterval {
	n := int((cfg.Duration + cfg.Interval - 1) / cfg.Interval)
	lat := make([][]time.Duration, n)
	out := make([]SoakInterval, n)
	start := time.Now()
	bucket := func(t time.Time) int { return min(max(int(t.Sub(start)/cfg.Interval), 0), n-1) }

	// The server's RSS and CPU, sampled every second (or five times an
	// interval when intervals are short).
	every := min(time.Second, cfg.Interval/5)
	var mu sync.Mutex
	var samples []soakSample
	sample := func() {
		s := soakSample{at: time.Since(start)}
		if r.proc.pid != 0 {
			s.rss = rssMB(r.proc.pid)
			s.ticks, s.ok = cpuTicks(r.proc.pid)
		}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	sample()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()

	freq, per := int(math.Round(rate)), time.Second
	if rate < 10 {
		// Keep fractional rates: requests per minute.
		freq, per = int(math.Round(rate*60)), time.Minute
	}
	freq = max(freq, 1)
	r.load(ctx, targets, cfg.MaxClients, vegeta.Rate{Freq: freq, Per: per}, cfg.Duration, func(res *vegeta.Result) {
		i := bucket(res.Timestamp)
		out[i].Requests++
		lat[i] = append(lat[i], res.Latency)
		if res.Code < 200 || res.Code > 299 {
			out[i].Errors++
		}
	})
	close(done)
	wg.Wait()
	sample()

	for i := range out {
		iv := &out[i]
		from := time.Duration(i) * cfg.Interval
		to := min(from+cfg.Interval, cfg.Duration)
		iv.Start = from.Seconds()
		iv.Rate = float64(iv.Requests-iv.Errors) / (to - from).Seconds()
		iv.P50, iv.P95, iv.P99 = percentiles(lat[i])
		iv.RSSMB, iv.PeakRSSMB, iv.CPU = -1, -1, -1
		if r.proc.pid == 0 {
			continue
		}
		var first, last *soakSample
		for j := range samples {
			s := &samples[j]
			if s.at <= from || first == nil {
				first = s // the last sample at or before the start
			}
			if s.at <= from {
				continue
			}
			if s.at > to && last != nil {
				break
			}
			last = s
			iv.PeakRSSMB = max(iv.PeakRSSMB, s.rss)
		}
		if last == nil {
			continue
		}
		iv.RSSMB = last.rss
		if first.ok && last.ok && last.at > first.at {
			iv.CPU = float64(last.ticks-first.ticks) / 100 / (last.at - first.at).Seconds() * 100
		}
	}
	return out
}

// judge applies SoakRule.
func (rep *SoakReport) judge() {
	rep.Flat, rep.Reasons = true, nil
	fail := func(format string, args ...any) {
		rep.Flat = false
		rep.Reasons = append(rep.Reasons, fmt.Sprintf(format, args...))
	}
	if len(rep.Intervals) == 0 {
		fail("no intervals were measured")
	} else {
		first, last := rep.Intervals[0], rep.Intervals[len(rep.Intervals)-1]
		errs := 0
		for _, iv := range rep.Intervals {
			errs += iv.Errors
		}
		if errs > 0 {
			fail("%d errors", errs)
		}
		if limit := max(1.5*first.P99, first.P99+1); last.P99 > limit {
			fail("p99 rose from %.2f ms to %.2f ms (limit %.2f ms)", first.P99, last.P99, limit)
		}
		if first.RSSMB > 0 && last.RSSMB-first.RSSMB >= 0.1*first.RSSMB {
			fail("RSS grew from %.0f MB to %.0f MB (%.0f%%)", first.RSSMB, last.RSSMB, (last.RSSMB/first.RSSMB-1)*100)
		}
		if last.Rate < 0.9*rep.Rate {
			fail("the last interval's rate was %.0f requests/s against a target of %.0f", last.Rate, rep.Rate)
		}
		if len(rep.Intervals) == 1 {
			rep.Notes = append(rep.Notes, "one interval only: the verdict compares it with itself")
		}
	}
	rep.Verdict = "flat"
	if !rep.Flat {
		rep.Verdict = "not flat"
	}
}

// WriteTable prints the soak as an aligned table, with the verdict.
func (rep *SoakReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "OpenChart soak: %s, %s\n", rep.Target, rep.Started.Format("2006-01-02 15:04 MST"))
	if rep.PeakRate > 0 {
		fmt.Fprintf(w, "peak of the query mix at %d clients: %.0f requests/s; soak at %.0f%% of it: %.0f requests/s for %s\n",
			rep.PeakClients, rep.PeakRate, rep.Fraction*100, rep.Rate, rep.Duration)
	} else {
		fmt.Fprintf(w, "soak at %.0f requests/s (given) for %s\n", rep.Rate, rep.Duration)
	}
	fmt.Fprintf(w, "query mix (equal shares): %d queries\n\n", len(rep.Queries))
	rows := [][]string{{"from", "requests", "rate", "p50 ms", "p95 ms", "p99 ms", "errors", "RSS MB", "peak RSS MB", "CPU %"}}
	for _, iv := range rep.Intervals {
		rows = append(rows, []string{time.Duration(iv.Start * float64(time.Second)).String(), fmt.Sprint(iv.Requests),
			fmt.Sprintf("%.0f", iv.Rate), fmt.Sprintf("%.2f", iv.P50), fmt.Sprintf("%.2f", iv.P95), fmt.Sprintf("%.2f", iv.P99),
			fmt.Sprint(iv.Errors), measured(iv.RSSMB, 0), measured(iv.PeakRSSMB, 0), measured(iv.CPU, 0)})
	}
	if err := writeColumns(w, rows, map[int]bool{}); err != nil {
		return err
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "\nverdict: %s\n", rep.Verdict)
	for _, r := range rep.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	_, err := fmt.Fprintf(w, "rule: %s\n", rep.Rule)
	return err
}

// WriteJSON writes the soak as JSON.
func (rep *SoakReport) WriteJSON(path string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// WriteSVG writes soak-latency.svg (p50, p95, p99 against time) and
// soak-rss.svg (the server's RSS against time) into dir, prefixed with
// the name when there is one.
func (rep *SoakReport) WriteSVG(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mins := func(iv SoakInterval) float64 { return iv.Start / 60 }
	line := func(name string, v func(SoakInterval) float64) chartSeries {
		s := chartSeries{name: name}
		for _, iv := range rep.Intervals {
			if y := v(iv); y >= 0 {
				s.points = append(s.points, [2]float64{mins(iv), y})
			}
		}
		return s
	}
	charts := []struct {
		file, title string
		ss          []chartSeries
	}{
		{"soak-latency.svg", fmt.Sprintf("Soak at %.0f requests/s: latency (ms) against minutes", rep.Rate), []chartSeries{
			line("p50", func(iv SoakInterval) float64 { return iv.P50 }),
			line("p95", func(iv SoakInterval) float64 { return iv.P95 }),
			line("p99", func(iv SoakInterval) float64 { return iv.P99 }),
		}},
		{"soak-rss.svg", fmt.Sprintf("Soak at %.0f requests/s: server RSS (MB) against minutes", rep.Rate), []chartSeries{
			line("RSS at the interval's end", func(iv SoakInterval) float64 { return iv.RSSMB }),
			line("peak RSS in the interval", func(iv SoakInterval) float64 { return iv.PeakRSSMB }),
		}},
	}
	for _, c := range charts {
		var ss []chartSeries
		for _, s := range c.ss {
			if len(s.points) > 0 {
				ss = append(ss, s)
			}
		}
		file := c.file
		if rep.Name != "" {
			file = rep.Name + "-" + file
		}
		svg := drawChart(chartSpec{title: c.title, xLabel: "minutes from the start"}, ss)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func okCount(m *vegeta.Metrics) int {
	ok := 0
	for code, n := range m.StatusCodes {
		if len(code) == 3 && code[0] == '2' {
			ok += n
		}
	}
	return ok
}
