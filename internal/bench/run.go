package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/bench/scale"
)

// Config says what to measure.
type Config struct {
	// Target is the server's base URL (http://127.0.0.1:8080) or its FHIR
	// base (.../fhir).
	Target string
	// Data is a directory made by scale.Generate; without it the import
	// phases are skipped and the queries run on what the server holds.
	Data string
	// DB is a PostgreSQL URL used for the ceilings and, when NDJSONStore is
	// "postgres", for a scratch database the NDJSON import loads into.
	DB string
	// NDJSONStore is where the in-process NDJSON import loads: "embedded"
	// (a temporary data directory) or "postgres" (a scratch database next to
	// DB). Default: postgres when DB is set, else embedded.
	NDJSONStore string
	Clients     []int
	// Duration is how long each query row runs at each concurrency.
	Duration time.Duration
	// PID is the server's process id; 0 means find it by the target's port.
	PID int
	// SkipImport skips the import phases (the data is already loaded).
	SkipImport bool
	// Only, when not empty, limits the query rows to those whose phase
	// name contains one of these words ("read by id", "count", "$everything"):
	// for comparing two builds on one row, alternately, in seconds.
	Only []string
	// ServerDB is the PostgreSQL URL of the server's own database, when it
	// runs on PostgreSQL: ANALYZE runs there after the import, as
	// autovacuum would eventually (it is off on some clusters), so the
	// queries are planned with statistics.
	ServerDB string
	// ImportTimeout bounds each import phase (default 30 minutes).
	ImportTimeout time.Duration
	// PgbenchScale is pgbench's -s for the scratch database (default 10).
	PgbenchScale int
	// Token is the access token sent with every request (the API refuses
	// requests without one): make one with `openchart token`.
	Token string
	// Name labels the run in the report and the SVG file names
	// (embedded-120).
	Name string
	// ProfileDir, when set, receives CPU profiles of the server during the
	// transaction import (its last, most concurrent share) and the query
	// mix, of the harness's own process during the NDJSON import, and the
	// server's heap at the end, each with `go tool pprof -top` text next to
	// it. The server's profiles need PprofURL.
	ProfileDir string
	// PprofURL is the server's net/http/pprof address (serve --pprof
	// 127.0.0.1:6060, or its /debug/pprof URL).
	PprofURL string
	// ProfileSeconds is the length of each server CPU profile (default 20).
	ProfileSeconds int
	// Log receives progress lines; nil means none.
	Log io.Writer
}

// Report is the outcome of a run.
type Report struct {
	// Name labels the run (embedded-120): the SVG files carry it.
	Name      string    `json:"name,omitempty"`
	Target    string    `json:"target"`
	Started   time.Time `json:"started"`
	Patients  int       `json:"patients,omitempty"`
	Resources int       `json:"resources,omitempty"`
	ServerPID int       `json:"serverPid,omitempty"`
	Rows      []Row     `json:"rows"`
	Notes     []string  `json:"notes,omitempty"`
	// Targets judges the figures against issue #7's targets.
	Targets []Target `json:"targets,omitempty"`
	// Profiles lists the profiles taken (Config.ProfileDir).
	Profiles []Profile `json:"profiles,omitempty"`
}

// Row is one line of the table.
type Row struct {
	Phase    string  `json:"phase"`
	Clients  int     `json:"clients"`
	Rate     float64 `json:"rate"`
	Unit     string  `json:"unit"`
	Requests int     `json:"requests,omitempty"`
	P50      float64 `json:"p50Ms,omitempty"`
	P95      float64 `json:"p95Ms,omitempty"`
	P99      float64 `json:"p99Ms,omitempty"`
	Errors   int     `json:"errors"`
	// Ceiling is the rate of the matching ceiling row, Ratio Rate/Ceiling.
	Ceiling float64 `json:"ceiling,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	// RSSMB is the peak resident memory during the phase; CPU the average
	// CPU use in percent of one core (-1: not measured).
	RSSMB   float64 `json:"rssMB"`
	CPU     float64 `json:"cpuPercent"`
	Skipped bool    `json:"skipped,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Phase names, shared by the table and the tests.
const (
	PhaseImportHTTP   = "import: transaction Bundles over HTTP"
	PhaseImportNDJSON = "import: NDJSON (importer, in-process)"
	PhaseCopy         = "ceiling: PostgreSQL COPY (jsonb + PK)"
	PhasePgbench      = "ceiling: pgbench -S (PK select)"
	PhaseRead         = "read by id"
)

type runner struct {
	cfg    Config
	base   string // FHIR base URL, without a trailing slash
	client *http.Client
	proc   *sampler
	rep    *Report
	man    *scale.Manifest

	pprof      string       // the server's /debug/pprof URL, if given
	profClient *http.Client // for the profiles, which take longer than requests
	ran        []query      // the queries attacked, for the mix profile

	scratchURL string   // the scratch database, once made
	cleanups   []func() // run when Run returns
}

// Run measures the server and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Clients) == 0 {
		cfg.Clients = []int{1, 8, 32}
	}
	for _, c := range cfg.Clients {
		if c < 1 || c > 512 {
			return nil, fmt.Errorf("client counts must be between 1 and 512, not %d", c)
		}
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.ImportTimeout <= 0 {
		cfg.ImportTimeout = 30 * time.Minute
	}
	if cfg.PgbenchScale <= 0 {
		cfg.PgbenchScale = 10
	}
	if cfg.ProfileSeconds <= 0 {
		cfg.ProfileSeconds = 20
	}
	if cfg.NDJSONStore == "" {
		cfg.NDJSONStore = "embedded"
		if cfg.DB != "" {
			cfg.NDJSONStore = "postgres"
		}
	}
	if cfg.NDJSONStore != "embedded" && cfg.NDJSONStore != "postgres" {
		return nil, fmt.Errorf("the NDJSON store must be embedded or postgres, not %q", cfg.NDJSONStore)
	}
	if cfg.NDJSONStore == "postgres" && cfg.DB == "" {
		return nil, errors.New("an NDJSON import into PostgreSQL needs --db")
	}
	base, err := fhirBase(cfg.Target)
	if err != nil {
		return nil, err
	}
	if err := checkLoopback(ctx, base); err != nil {
		return nil, err
	}
	for flag, u := range map[string]string{"--db": cfg.DB, "--server-db": cfg.ServerDB} {
		if u == "" {
			continue
		}
		if err := checkLoopback(ctx, u); err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
	}
	r := &runner{
		cfg:    cfg,
		base:   base,
		client: newClient(64, cfg.Token),
		rep:    &Report{Name: cfg.Name, Target: base, Started: time.Now().UTC()},
	}
	if cfg.PprofURL != "" {
		if r.pprof, err = pprofBase(cfg.PprofURL); err != nil {
			return nil, err
		}
		if err := checkLoopback(ctx, r.pprof); err != nil {
			return nil, fmt.Errorf("--pprof-url: %w", err)
		}
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
		if r.pprof == "" {
			r.note("server profiles: n/a (no --pprof-url; start the server with --pprof ADDR)")
		}
		r.profClient = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	r.proc = newSampler(cfg.PID, base)
	r.rep.ServerPID = r.proc.pid
	if r.proc.pid == 0 {
		r.note("server RSS and CPU: n/a (give --pid, or run the server on this machine)")
	}
	if cfg.Data != "" {
		if r.man, err = scale.ReadManifest(cfg.Data); err != nil {
			return nil, err
		}
		r.rep.Patients, r.rep.Resources = r.man.Patients, r.man.Resources
	}
	defer func() {
		for _, f := range r.cleanups {
			f()
		}
	}()
	if err := r.ping(ctx); err != nil {
		return nil, err
	}
	err = r.phases(ctx)
	applyCeilings(r.rep)
	r.rep.Targets = Targets(r.rep)
	if s := slowest(r.rep); s != nil && r.profiling() {
		r.note("slowest relative to its ceiling: %s at %s (%.2f of it)", s.Phase, clientsText(s.Clients), s.Ratio)
	}
	return r.rep, err
}

func (r *runner) phases(ctx context.Context) error {
	switch {
	case r.cfg.Data == "":
		r.note("no --data: the import phases and the COPY ceiling are skipped")
	case r.cfg.SkipImport:
		r.note("import phases skipped (--skip-import)")
	default:
		if err := r.importHTTP(ctx); err != nil {
			return err
		}
		if err := r.importNDJSON(ctx); err != nil {
			return err
		}
	}
	r.analyze(ctx)
	if err := r.queries(ctx); err != nil {
		return err
	}
	r.profileMix(ctx)
	r.serverHeap(ctx)
	return r.ceilings(ctx)
}

func (r *runner) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

func (r *runner) add(row Row) {
	r.rep.Rows = append(r.rep.Rows, row)
	lat := ""
	if row.P99 > 0 {
		lat = fmt.Sprintf(" p50=%.2fms p99=%.2fms", row.P50, row.P99)
	}
	r.logf("%-45s c=%-3d %10.1f %s%s errors=%d %s", row.Phase, row.Clients, row.Rate, row.Unit, lat, row.Errors, row.Note)
}

func (r *runner) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/metadata", nil)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the server: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered %s to GET /metadata", resp.Status)
	}
	return nil
}

// fhirBase turns a server URL into its FHIR base.
func fhirBase(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("the target must be an http:// URL, not %q", target)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/fhir") {
		p += "/fhir"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u.String(), nil
}

// checkLoopback refuses a URL whose host resolves to anything but a
// loopback address: the harness floods what it targets.
func checkLoopback(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%q names no host", redact(u))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("refusing %s: the benchmark only runs against loopback addresses (127.0.0.0/8, ::1), and this name does not resolve: %w", host, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("refusing %s: it resolves to %s, and the benchmark only runs against loopback addresses (127.0.0.0/8, ::1)", host, a.IP)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s resolves to no address", host)
	}
	return nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// ParseClients parses "1,8,32".
func ParseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad client count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// applyCeilings fills each row's ceiling and ratio: imports against COPY,
// read by id against pgbench at the same concurrency.
func applyCeilings(rep *Report) {
	var copyRate float64
	pgbench := map[int]float64{}
	for _, row := range rep.Rows {
		switch {
		case row.Skipped:
		case row.Phase == PhaseCopy:
			copyRate = row.Rate
		case row.Phase == PhasePgbench:
			pgbench[row.Clients] = row.Rate
		}
	}
	for i := range rep.Rows {
		row := &rep.Rows[i]
		var c float64
		switch row.Phase {
		case PhaseImportHTTP, PhaseImportNDJSON:
			c = copyRate
		case PhaseRead:
			c = pgbench[row.Clients]
		}
		if c > 0 && !row.Skipped {
			row.Ceiling, row.Ratio = c, row.Rate/c
		}
	}
}
