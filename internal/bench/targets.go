package bench

import (
	"fmt"
	"io"
	"strings"
)

// Query row names that the targets refer to.
const (
	PhaseCountToken = "count: Observation?code=loinc|8310-5"
	PhaseCountDate  = "count: Patient?birthdate=gt1970-01-01"
	PhaseFirstPage  = "search: Observation?patient&category=vital-signs&_sort=-date"
	PhaseUnchained  = "search: Observation?subject=Patient/X"
	PhaseChained    = "search: Observation?subject:Patient.name=X (chain)"
)

// TargetClients is the concurrency at which the throughput targets are
// judged (issue #7 sets them for two cores and eight clients).
const TargetClients = 8

// Target statuses.
const (
	TargetMet    = "met"
	TargetNotMet = "not met"
	TargetNA     = "n/a"
)

// Target is one of issue #7's targets with the figure measured.
type Target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Status   string `json:"status"`
}

// Targets judges the report against issue #7's targets. A target whose
// figure the run did not measure is n/a, with the reason.
func Targets(rep *Report) []Target {
	find := func(phase string, clients int) *Row {
		for i := range rep.Rows {
			r := &rep.Rows[i]
			if r.Phase == phase && r.Clients == clients && !r.Skipped {
				return r
			}
		}
		return nil
	}
	var out []Target
	add := func(name string, ok bool, measured string, args ...any) {
		st := TargetNotMet
		if ok {
			st = TargetMet
		}
		out = append(out, Target{Name: name, Measured: fmt.Sprintf(measured, args...), Status: st})
	}
	na := func(name, why string) {
		out = append(out, Target{Name: name, Measured: why, Status: TargetNA})
	}
	at8 := fmt.Sprintf("not measured at %d clients", TargetClients)

	// Transaction import: the best level.
	var best *Row
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Phase == PhaseImportHTTP && !r.Skipped && (best == nil || r.Rate > best.Rate) {
			best = r
		}
	}
	const importName = "transaction import ≥ 5,000 resources/s"
	if best == nil {
		na(importName, "not measured")
	} else {
		add(importName, best.Rate >= 5000, "%.0f resources/s (best at %s)", best.Rate, clientsText(best.Clients))
	}

	const ndjsonName = "NDJSON import ≥ 50% of COPY"
	var nd *Row
	for i := range rep.Rows {
		if r := &rep.Rows[i]; r.Phase == PhaseImportNDJSON && !r.Skipped {
			nd = r
		}
	}
	switch {
	case nd == nil:
		na(ndjsonName, "not measured")
	case nd.Ceiling == 0:
		na(ndjsonName, fmt.Sprintf("%.0f resources/s, no COPY ceiling (--db)", nd.Rate))
	default:
		add(ndjsonName, nd.Ratio >= 0.5, "%.0f resources/s, %.2f of COPY (%.0f rows/s)", nd.Rate, nd.Ratio, nd.Ceiling)
	}

	readName := fmt.Sprintf("read by id at %d clients ≥ 50%% of pgbench -S", TargetClients)
	p99Name := fmt.Sprintf("read by id at %d clients p99 ≤ 5 ms", TargetClients)
	if rd := find(PhaseRead, TargetClients); rd == nil {
		na(readName, at8)
		na(p99Name, at8)
	} else {
		if rd.Ceiling == 0 {
			na(readName, fmt.Sprintf("%.0f requests/s, no pgbench ceiling", rd.Rate))
		} else {
			add(readName, rd.Ratio >= 0.5, "%.0f requests/s, %.2f of pgbench (%.0f tps)", rd.Rate, rd.Ratio, rd.Ceiling)
		}
		add(p99Name, rd.P99 <= 5, "p99 %.2f ms", rd.P99)
	}

	for _, c := range []struct {
		name, phase string
		min         float64
	}{
		{fmt.Sprintf("count by token at %d clients ≥ 2 M matches/s", TargetClients), PhaseCountToken, 2e6},
		{fmt.Sprintf("count by date range at %d clients ≥ 400 k matches/s", TargetClients), PhaseCountDate, 4e5},
	} {
		if r := find(c.phase, TargetClients); r == nil {
			na(c.name, at8)
		} else {
			add(c.name, r.Rate >= c.min, "%.0f matches/s", r.Rate)
		}
	}

	const pageName = "first page of a search at 1 client p50 ≤ 5 ms"
	if r := find(PhaseFirstPage, 1); r == nil {
		na(pageName, "not measured at 1 client")
	} else {
		add(pageName, r.P50 <= 5, "p50 %.2f ms (%s)", r.P50, strings.TrimPrefix(PhaseFirstPage, "search: "))
	}

	chainName := fmt.Sprintf("chained search at %d clients ≤ 2× the unchained", TargetClients)
	ch, un := find(PhaseChained, TargetClients), find(PhaseUnchained, TargetClients)
	if ch == nil || un == nil || ch.Rate == 0 {
		na(chainName, at8)
	} else {
		f := un.Rate / ch.Rate
		add(chainName, f <= 2, "%.2f× (%.0f against %.0f requests/s)", f, ch.Rate, un.Rate)
	}

	const rssName = "server RSS ≤ 300 MB under the query mix"
	peak, measured := 0.0, false
	for _, r := range rep.Rows {
		if r.Skipped || r.RSSMB < 0 || strings.HasPrefix(r.Phase, "import") || strings.HasPrefix(r.Phase, "ceiling") {
			continue
		}
		peak, measured = max(peak, r.RSSMB), true
	}
	if measured {
		add(rssName, peak <= 300, "peak %.0f MB", peak)
	} else {
		na(rssName, "not measured (server process unknown)")
	}

	errs, rows := 0, 0
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Phase, "ceiling") {
			continue
		}
		errs += r.Errors
		rows++
	}
	if rows == 0 {
		na("no errors", "nothing measured")
	} else {
		add("no errors", errs == 0, "%d errors", errs)
	}
	return out
}

// WriteTargets prints the targets as an aligned table.
func WriteTargets(w io.Writer, ts []Target) error {
	if len(ts) == 0 {
		return nil
	}
	rows := [][]string{{"target (issue #7)", "measured", "status"}}
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.Measured, t.Status})
	}
	return writeColumns(w, rows, map[int]bool{0: true, 1: true, 2: true})
}

// clientsText is "1 client" or "8 clients".
func clientsText(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
