package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Profile is one profile the run saved.
type Profile struct {
	// Phase is what ran while the profile was taken.
	Phase string `json:"phase"`
	// Kind is cpu or heap; Process is server or harness (the NDJSON
	// import runs in the harness's own process).
	Kind    string `json:"kind"`
	Process string `json:"process"`
	// File is the profile (pprof's gzipped protocol buffer), Top the text
	// of `go tool pprof -top` on it (empty when the go command is absent).
	File string `json:"file"`
	Top  string `json:"top,omitempty"`
	Note string `json:"note,omitempty"`
}

// pprofBase turns the server's pprof address into the URL of its
// /debug/pprof/ index.
func pprofBase(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("the pprof URL must be http://HOST:PORT, not %q", raw)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/debug/pprof") {
		p += "/debug/pprof"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u.String(), nil
}

// profiling says whether the run saves profiles.
func (r *runner) profiling() bool { return r.cfg.ProfileDir != "" }

// serverCPU starts a CPU profile of the server for ProfileSeconds and
// returns a function that waits for it and records it. Without a pprof
// URL it records nothing.
func (r *runner) serverCPU(ctx context.Context, phase, file string) (wait func()) {
	if !r.profiling() || r.pprof == "" {
		return func() {}
	}
	done := make(chan Profile, 1)
	go func() {
		path := filepath.Join(r.cfg.ProfileDir, file)
		p := Profile{Phase: phase, Kind: "cpu", Process: "server", File: path}
		if err := r.fetchProfile(ctx, fmt.Sprintf("/profile?seconds=%d", r.cfg.ProfileSeconds), path,
			time.Duration(r.cfg.ProfileSeconds)*time.Second); err != nil {
			p.Note = err.Error()
		}
		done <- p
	}()
	return func() { r.record(<-done) }
}

// serverHeap saves the server's heap profile (after a garbage collection).
func (r *runner) serverHeap(ctx context.Context) {
	if !r.profiling() || r.pprof == "" {
		return
	}
	path := filepath.Join(r.cfg.ProfileDir, "heap-server.pb.gz")
	p := Profile{Phase: "end of the run", Kind: "heap", Process: "server", File: path}
	if err := r.fetchProfile(ctx, "/heap?gc=1", path, 0); err != nil {
		p.Note = err.Error()
	}
	r.record(p)
}

func (r *runner) fetchProfile(ctx context.Context, query, path string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.pprof+query, nil)
	if err != nil {
		return err
	}
	resp, err := r.profClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the profile: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return fmt.Errorf("fetching the profile: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server's pprof answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return os.WriteFile(path, body, 0o644)
}

// localCPU profiles the harness's own process (the in-process NDJSON
// import) until the returned function is called.
func (r *runner) localCPU(phase, file string) (stop func()) {
	if !r.profiling() {
		return func() {}
	}
	path := filepath.Join(r.cfg.ProfileDir, file)
	p := Profile{Phase: phase, Kind: "cpu", Process: "harness", File: path}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
			os.Remove(path)
		}
	}
	if err != nil {
		p.Note = "not taken: " + err.Error()
		return func() { r.record(p) }
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			p.Note = err.Error()
		}
		r.record(p)
	}
}

// record adds a profile to the report, with its -top text when the go
// command is there to make it.
func (r *runner) record(p Profile) {
	if p.Note == "" {
		top, err := topText(p.File)
		if err != nil {
			p.Note = "no -top text: " + err.Error()
		}
		p.Top = top
	}
	if p.Note != "" {
		r.logf("profile %s (%s): %s", p.Phase, p.Kind, p.Note)
	} else {
		r.logf("profile %s (%s): %s", p.Phase, p.Kind, p.File)
	}
	r.rep.Profiles = append(r.rep.Profiles, p)
}

// topText writes `go tool pprof -top` of a profile (its 100 heaviest
// functions) next to it.
func topText(profile string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go command is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "tool", "pprof", "-top", "-nodecount=100", profile).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %v: %s", err, lastLine(out))
	}
	path := strings.TrimSuffix(profile, ".pb.gz") + ".top.txt"
	return path, os.WriteFile(path, out, 0o644)
}

// profileMix runs the whole query mix (every query that ran, in rotation)
// at TargetClients clients for ProfileSeconds, as fast as the server
// answers, while a CPU profile of the server is taken.
func (r *runner) profileMix(ctx context.Context) {
	if !r.profiling() || r.pprof == "" || len(r.ran) == 0 {
		return
	}
	clients := TargetClients
	d := time.Duration(r.cfg.ProfileSeconds) * time.Second
	phase := fmt.Sprintf("query mix at %d clients", clients)
	wait := r.serverCPU(ctx, phase, "cpu-server-query-mix.pb.gz")
	m := r.load(ctx, mixTargets(r.ran, r.base, r.cfg.Token), clients, vegeta.Rate{Freq: 0}, d, nil)
	wait()
	r.logf("query mix under the profile: %d requests, %.0f/s", m.Requests, m.Throughput)
}

// load runs targets against the server for d: with rate 0 as fast as
// clients workers get answers, else at that fixed rate with up to clients
// workers. each, if not nil, sees every result.
func (r *runner) load(ctx context.Context, targets []vegeta.Target, clients int, rate vegeta.Rate, d time.Duration, each func(*vegeta.Result)) *vegeta.Metrics {
	workers := uint64(clients)
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(workers), vegeta.MaxWorkers(workers),
		vegeta.Connections(clients), vegeta.MaxConnections(clients), vegeta.KeepAlive(true),
		vegeta.Timeout(min(d, 50*time.Second) + 10*time.Second), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Proxy(func(*http.Request) (*url.URL, error) { return nil, nil }),
	}
	if rate.Freq > 0 {
		// A fixed rate starts few workers and adds them as answers lag,
		// up to clients.
		opts[0] = vegeta.Workers(min(workers, 4))
	}
	atk := vegeta.NewAttacker(opts...)
	var m vegeta.Metrics
	for res := range atk.Attack(vegeta.NewStaticTargeter(targets...), rate, d, "mix") {
		m.Add(res)
		if each != nil {
			each(res)
		}
		if ctx.Err() != nil {
			atk.Stop()
		}
	}
	m.Close()
	return &m
}

// mixTargets interleaves the queries' paths so that each query family
// gets the same share of the requests.
func mixTargets(qs []query, base, token string) []vegeta.Target {
	hdr := http.Header{"Accept": []string{"application/fhir+json"}}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	longest := 0
	for _, q := range qs {
		longest = max(longest, len(q.paths))
	}
	var out []vegeta.Target
	for i := range longest {
		for _, q := range qs {
			out = append(out, vegeta.Target{Method: http.MethodGet, URL: base + "/" + q.paths[i%len(q.paths)], Header: hdr})
		}
	}
	return out
}

// slowest names the row with the lowest ratio to its ceiling.
func slowest(rep *Report) *Row {
	var s *Row
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Ratio > 0 && (s == nil || r.Ratio < s.Ratio) {
			s = r
		}
	}
	return s
}
