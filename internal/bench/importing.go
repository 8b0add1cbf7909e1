package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/openchart/openchart/internal/access"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/bench/scale"
	"github.com/openchart/openchart/internal/importer"
)

// importHTTP posts the information Bundles, then the patient Bundles
// split into one contiguous share per concurrency level, so the data set
// is loaded exactly once and every level gets a row.
func (r *runner) importHTTP(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, r.cfg.ImportTimeout)
	defer cancel()
	dir := filepath.Join(r.cfg.Data, "bundles")
	files, err := filepath.Glob(filepath.Join(dir, "patient-*.json.gz"))
	if err != nil || len(files) == 0 {
		r.add(Row{Phase: PhaseImportHTTP, Skipped: true, Note: "no Bundles in " + dir})
		return nil
	}
	sort.Strings(files)
	for _, name := range r.man.Info {
		res := r.postBundle(ctx, filepath.Join(dir, name))
		if res.err != nil {
			return fmt.Errorf("loading the information Bundle %s: %w", name, res.err)
		}
	}
	r.logf("information Bundles loaded; importing %d patient Bundles", len(files))
	levels := r.cfg.Clients
	if len(files) < len(levels) {
		levels = levels[:len(files)]
	}
	for i, c := range levels {
		share := files[i*len(files)/len(levels) : (i+1)*len(files)/len(levels)]
		wait := func() {}
		if i == len(levels)-1 {
			// The most concurrent share: the server's CPU profile of the
			// import starts with it.
			wait = r.serverCPU(ctx, fmt.Sprintf("%s at %d clients", PhaseImportHTTP, c), "cpu-server-import-http.pb.gz")
		}
		r.add(r.importShare(ctx, share, c))
		wait()
		if err := parent.Err(); err != nil {
			return fmt.Errorf("the import was interrupted: %w", err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the import did not finish within %s", r.cfg.ImportTimeout)
		}
	}
	return nil
}

type postResult struct {
	resources int
	latency   time.Duration
	err       error
}

func (r *runner) importShare(ctx context.Context, files []string, clients int) Row {
	next := make(chan string)
	results := make(chan postResult, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				results <- r.postBundle(ctx, f)
			}
		}()
	}
	go func() {
		defer close(next)
		for _, f := range files {
			select {
			case next <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	stop := r.proc.watch()
	start := time.Now()
	var lat []time.Duration
	row := Row{Phase: PhaseImportHTTP, Clients: clients, Unit: "resources/s"}
	var firstErr error
	for res := range results {
		lat = append(lat, res.latency)
		row.Requests++
		if res.err != nil {
			row.Errors++
			firstErr = cmpErr(firstErr, res.err)
			continue
		}
		row.Rate += float64(res.resources)
	}
	el := time.Since(start)
	u := stop()
	row.Rate /= el.Seconds()
	row.P50, row.P95, row.P99 = percentiles(lat)
	row.RSSMB, row.CPU = u.peakRSSMB, u.cpu
	row.Note = fmt.Sprintf("%d Bundles", len(files))
	if firstErr != nil {
		row.Note += "; first error: " + firstErr.Error()
	}
	return row
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// postBundle posts one transaction Bundle file and counts its entries.
func (r *runner) postBundle(ctx context.Context, path string) postResult {
	data, err := scale.ReadFile(path)
	if err != nil {
		return postResult{err: err}
	}
	n := bytes.Count(data, []byte(`"request":{`))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base, bytes.NewReader(data))
	if err != nil {
		return postResult{err: err}
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return postResult{latency: time.Since(start), err: err}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	lat := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		msg := body
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return postResult{latency: lat, err: fmt.Errorf("%s: %s: %s", filepath.Base(path), resp.Status, msg)}
	}
	return postResult{resources: n, latency: lat}
}

// importNDJSON runs the importer in this process on the data set's NDJSON
// files, into a scratch store of the chosen kind, so that the server's
// data set is not loaded twice.
func (r *runner) importNDJSON(ctx context.Context) error {
	dir := filepath.Join(r.cfg.Data, "ndjson")
	if _, err := os.Stat(dir); err != nil {
		r.add(Row{Phase: PhaseImportNDJSON, Skipped: true, Note: "no NDJSON in the data set (generate it with --format ndjson or both)"})
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ImportTimeout)
	defer cancel()
	cfg := app.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	switch r.cfg.NDJSONStore {
	case "postgres":
		url, err := r.scratchDB(ctx)
		if err != nil {
			r.add(Row{Phase: PhaseImportNDJSON, Skipped: true, Note: "no scratch database: " + err.Error()})
			return nil
		}
		cfg.DB = url
	default:
		tmp, err := os.MkdirTemp("", "openchart-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cfg.DataDir = tmp
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening the scratch store: %w", err)
	}
	defer a.Close()
	im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo})
	if err != nil {
		return err
	}
	stop := watchPID(os.Getpid())
	stopProfile := r.localCPU(PhaseImportNDJSON, "cpu-harness-import-ndjson.pb.gz")
	// The import runs as an operator would run `openchart import`.
	sum, err := im.Run(access.With(ctx, &access.Principal{Kind: access.Operator}), []string{dir})
	stopProfile()
	u := stop()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("the NDJSON import did not finish within %s", r.cfg.ImportTimeout)
		}
		return fmt.Errorf("NDJSON import: %w", err)
	}
	row := Row{Phase: PhaseImportNDJSON, Clients: runtime.GOMAXPROCS(0), Unit: "resources/s",
		Requests: sum.Resources, Errors: sum.Failed, RSSMB: u.peakRSSMB, CPU: u.cpu,
		Note: fmt.Sprintf("into a scratch %s store; RSS/CPU of the importing process", r.cfg.NDJSONStore)}
	if sum.Elapsed > 0 {
		row.Rate = float64(sum.Resources) / sum.Elapsed.Seconds()
	}
	for _, f := range sum.Files {
		if len(f.Errors) > 0 {
			row.Note += "; first error: " + f.Errors[0]
			break
		}
	}
	r.add(row)
	return nil
}

// percentiles returns p50, p95 and p99 in milliseconds.
func percentiles(d []time.Duration) (p50, p95, p99 float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return float64(s[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.95), at(0.99)
}
