package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// slowProbe is the first-request time above which a query is reported
// but not run under load.
const slowProbe = 5 * time.Second

// query is one row family of the query mix.
type query struct {
	name string
	// paths are relative to the FHIR base and used in rotation.
	paths []string
	// count marks _summary=count searches, reported as matches/s.
	count bool
	// optional queries are skipped, with a note, when the server does not
	// support them (404, 405, 501).
	optional bool
}

// samplePatient is a patient the queries are aimed at.
type samplePatient struct {
	id, family string
}

func (r *runner) queries(ctx context.Context) error {
	pats, obs, err := r.sample(ctx)
	if err != nil {
		return err
	}
	for _, q := range mix(pats, obs) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !r.wanted(q.name) {
			continue
		}
		start := time.Now()
		total, status, msg := r.probe(ctx, q.paths[0])
		if took := time.Since(start); status == http.StatusOK && took > slowProbe {
			// A query this slow would only stretch the run by the client
			// timeout at every level; one figure says enough.
			r.add(Row{Phase: q.name, Skipped: true, Note: fmt.Sprintf("not attacked: one request took %s", took.Round(time.Millisecond))})
			continue
		}
		if status != http.StatusOK {
			row := Row{Phase: q.name, Skipped: true, Note: fmt.Sprintf("skipped: the server answered %d %s", status, msg)}
			if !q.optional || (status != 404 && status != 405 && status != 501) {
				row.Errors = 1
			}
			r.add(row)
			continue
		}
		r.ran = append(r.ran, q)
		for _, c := range r.cfg.Clients {
			r.add(r.attack(ctx, q, c, total))
		}
	}
	return nil
}

// wanted reports whether the query row named phase runs (Config.Only).
func (r *runner) wanted(phase string) bool {
	if len(r.cfg.Only) == 0 {
		return true
	}
	for _, w := range r.cfg.Only {
		if strings.Contains(phase, w) {
			return true
		}
	}
	return false
}

// mix builds the fixed query mix around the sampled patients.
func mix(pats []samplePatient, obs []string) []query {
	each := func(f func(p samplePatient) string) []string {
		out := make([]string, 0, len(pats))
		for _, p := range pats {
			out = append(out, f(p))
		}
		return out
	}
	reads := each(func(p samplePatient) string { return "Patient/" + p.id })
	for _, o := range obs {
		reads = append(reads, "Observation/"+o)
	}
	return []query{
		{name: PhaseRead, paths: reads},
		{name: "count: Observation?code=loinc|8310-5", count: true,
			paths: []string{"Observation?code=" + url.QueryEscape("http://loinc.org|8310-5") + "&_summary=count"}},
		{name: "count: Patient?birthdate=gt1970-01-01", count: true,
			paths: []string{"Patient?birthdate=gt1970-01-01&_summary=count"}},
		{name: "search: Observation?patient&category=vital-signs&_sort=-date",
			paths: each(func(p samplePatient) string {
				return "Observation?patient=" + p.id + "&category=vital-signs&_sort=-date"
			})},
		{name: "search: Observation?subject=Patient/X",
			paths: each(func(p samplePatient) string { return "Observation?subject=Patient/" + p.id })},
		{name: "search: Observation?subject:Patient.name=X (chain)",
			paths: each(func(p samplePatient) string {
				return "Observation?subject:Patient.name=" + url.QueryEscape(p.family)
			})},
		{name: "search: Patient?_id&_revinclude=Encounter:subject",
			paths: each(func(p samplePatient) string {
				return "Patient?_id=" + p.id + "&_revinclude=Encounter:subject"
			})},
		{name: "search: Observation?patient&category=laboratory&_include=Observation:encounter",
			paths: each(func(p samplePatient) string {
				return "Observation?patient=" + p.id + "&category=laboratory&_include=Observation:encounter"
			})},
		{name: "operation: Patient/X/$everything", optional: true,
			paths: each(func(p samplePatient) string { return "Patient/" + p.id + "/$everything" })},
	}
}

// sample fetches some patients (with a family name) and observations to
// aim the queries at.
func (r *runner) sample(ctx context.Context) ([]samplePatient, []string, error) {
	var pb, ob struct {
		Entry []struct {
			Resource struct {
				ID   string `json:"id"`
				Name []struct {
					Family string `json:"family"`
				} `json:"name"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := r.getJSON(ctx, "Patient?_count=20", &pb); err != nil {
		return nil, nil, fmt.Errorf("sampling patients: %w", err)
	}
	if err := r.getJSON(ctx, "Observation?_count=20&_elements=id", &ob); err != nil {
		return nil, nil, fmt.Errorf("sampling observations: %w", err)
	}
	var pats []samplePatient
	for _, e := range pb.Entry {
		if len(e.Resource.Name) > 0 && e.Resource.Name[0].Family != "" {
			pats = append(pats, samplePatient{id: e.Resource.ID, family: e.Resource.Name[0].Family})
		}
	}
	var obs []string
	for _, e := range ob.Entry {
		obs = append(obs, e.Resource.ID)
	}
	if len(pats) == 0 {
		return nil, nil, fmt.Errorf("the server holds no patients with names: load data first (bench run --data DIR)")
	}
	return pats, obs, nil
}

func (r *runner) getJSON(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/"+path, nil)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// probe runs a query once and returns its status and, for searches, the
// Bundle's total.
func (r *runner) probe(ctx context.Context, path string) (total int, status int, msg string) {
	var b struct {
		Total int `json:"total"`
		Issue []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/"+path, nil)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	_ = json.Unmarshal(body, &b)
	if len(b.Issue) > 0 {
		msg = b.Issue[0].Diagnostics
	}
	return b.Total, resp.StatusCode, msg
}

// attack runs one query at one concurrency for the configured duration,
// as fast as the server answers (vegeta with rate 0 and a fixed number of
// workers: each client waits for its answer before sending again).
func (r *runner) attack(ctx context.Context, q query, clients int, total int) Row {
	targets := make([]vegeta.Target, len(q.paths))
	hdr := http.Header{"Accept": []string{"application/fhir+json"}}
	if r.cfg.Token != "" {
		hdr.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	for i, p := range q.paths {
		targets[i] = vegeta.Target{Method: http.MethodGet, URL: r.base + "/" + p, Header: hdr}
	}
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)),
		vegeta.Connections(clients), vegeta.MaxConnections(clients), vegeta.KeepAlive(true),
		vegeta.Timeout(r.cfg.Duration+10*time.Second), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Proxy(func(*http.Request) (*url.URL, error) { return nil, nil }),
	)
	var m vegeta.Metrics
	stop := r.proc.watch()
	results := atk.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 0}, r.cfg.Duration, q.name)
	var firstErr string
	for res := range results {
		m.Add(res)
		if (res.Code < 200 || res.Code > 299) && firstErr == "" {
			firstErr = fmt.Sprintf("%d %s", res.Code, res.Error)
		}
		if ctx.Err() != nil {
			atk.Stop()
		}
	}
	m.Close()
	u := stop()
	row := Row{Phase: q.name, Clients: clients, Unit: "requests/s", Requests: int(m.Requests),
		P50: ms(m.Latencies.P50), P95: ms(m.Latencies.P95), P99: ms(m.Latencies.P99),
		RSSMB: u.peakRSSMB, CPU: u.cpu}
	ok := 0
	for code, n := range m.StatusCodes {
		if c, _ := strconv.Atoi(code); c >= 200 && c <= 299 {
			ok += n
		}
	}
	row.Errors = int(m.Requests) - ok
	if el := m.Duration + m.Wait; el > 0 {
		row.Rate = float64(ok) / el.Seconds()
	}
	if q.count {
		row.Note = fmt.Sprintf("%d matches, %.0f requests/s", total, row.Rate)
		row.Rate *= float64(total)
		row.Unit = "matches/s"
	}
	if firstErr != "" {
		row.Note = strings.TrimSpace(row.Note + " first error: " + firstErr)
	}
	return row
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
