package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// scratchDB creates (once per run) an empty database on the --db server
// for the NDJSON import and the ceilings; cleanup drops it.
func (r *runner) scratchDB(ctx context.Context) (string, error) {
	if r.scratchURL != "" {
		return r.scratchURL, nil
	}
	u, err := url.Parse(r.cfg.DB)
	if err != nil {
		return "", fmt.Errorf("parsing --db: %w", err)
	}
	name := fmt.Sprintf("openchart_bench_scratch_%d", os.Getpid())
	conn, err := pgx.Connect(ctx, r.cfg.DB)
	if err != nil {
		return "", fmt.Errorf("connecting to --db: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating the scratch database: %w", err)
	}
	u.Path = "/" + name
	r.scratchURL = u.String()
	r.cleanups = append(r.cleanups, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, r.cfg.DB); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return r.scratchURL, nil
}

// analyze runs ANALYZE on the server's database and notes whether the
// cluster runs autovacuum.
func (r *runner) analyze(ctx context.Context) {
	if r.cfg.ServerDB == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.cfg.ServerDB)
	if err != nil {
		r.note("ANALYZE of the server's database failed: %v", err)
		return
	}
	defer conn.Close(context.Background())
	var av string
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&av); err == nil && av != "on" {
		r.note("autovacuum is %s on this cluster: statistics exist only because the harness ran ANALYZE after the import", av)
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		r.note("ANALYZE of the server's database failed: %v", err)
		return
	}
	r.note("ANALYZE of the server's database after the import took %s", time.Since(start).Round(time.Millisecond))
}

// ceilings measures what PostgreSQL itself does on this machine: COPY of
// the data set's resources into a table, and pgbench's select-only run.
func (r *runner) ceilings(ctx context.Context) error {
	if r.cfg.DB == "" {
		r.add(Row{Phase: PhaseCopy, Skipped: true, Note: "n/a: no --db"})
		r.add(Row{Phase: PhasePgbench, Skipped: true, Note: "n/a: no --db"})
		return nil
	}
	scratch, err := r.scratchDB(ctx)
	if err != nil {
		r.add(Row{Phase: PhaseCopy, Skipped: true, Note: err.Error()})
		r.add(Row{Phase: PhasePgbench, Skipped: true, Note: err.Error()})
		return nil
	}
	r.add(r.copyCeiling(ctx, scratch))
	r.pgbench(ctx, scratch)
	return nil
}

// copyCeiling COPYs every NDJSON line of the data set into a logged
// table with a primary key (what a store needs at the least).
func (r *runner) copyCeiling(ctx context.Context, scratch string) Row {
	row := Row{Phase: PhaseCopy, Clients: 1, Unit: "rows/s", RSSMB: -1, CPU: -1}
	files, _ := filepath.Glob(filepath.Join(r.cfg.Data, "ndjson", "*.ndjson.gz"))
	if r.cfg.Data == "" || len(files) == 0 {
		row.Skipped, row.Note = true, "n/a: no NDJSON data set (--data)"
		return row
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ImportTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, scratch)
	if err != nil {
		row.Skipped, row.Note = true, err.Error()
		return row
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_copy (type text NOT NULL, id text NOT NULL, res jsonb NOT NULL, PRIMARY KEY (type, id))`); err != nil {
		row.Skipped, row.Note = true, err.Error()
		return row
	}
	start := time.Now()
	for _, f := range files {
		n, err := copyFile(ctx, conn, f)
		row.Requests += int(n)
		if err != nil {
			row.Errors++
			row.Note = fmt.Sprintf("%s: %v", filepath.Base(f), err)
			break
		}
	}
	row.Rate = float64(row.Requests) / time.Since(start).Seconds()
	if row.Note == "" {
		row.Note = fmt.Sprintf("%d rows, one COPY per type", row.Requests)
	}
	return row
}

func copyFile(ctx context.Context, conn *pgx.Conn, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	typ := filepath.Base(path[:len(path)-len(".ndjson.gz")])
	var rowErr error
	src := pgx.CopyFromFunc(func() ([]any, error) {
		for sc.Scan() {
			line := sc.Bytes()
			id := topLevelID(line)
			if id == "" {
				continue
			}
			return []any{typ, id, string(line)}, nil
		}
		rowErr = sc.Err()
		return nil, rowErr
	})
	return conn.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, []string{"type", "id", "res"}, src)
}

// topLevelID finds the resource id in canonical JSON, where "id" directly
// follows "resourceType".
func topLevelID(line []byte) string {
	i := bytes.Index(line, []byte(`"id":"`))
	if i < 0 {
		return ""
	}
	rest := line[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

var tpsPattern = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench initialises pgbench's tables in the scratch database and runs
// its select-only script at each concurrency level.
func (r *runner) pgbench(ctx context.Context, scratch string) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		r.add(Row{Phase: PhasePgbench, Skipped: true, Note: "n/a: pgbench is not installed (Debian: postgresql-client or postgresql-contrib)"})
		return
	}
	initCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	out, err := exec.CommandContext(initCtx, bin, "-i", "-q", "-s", strconv.Itoa(r.cfg.PgbenchScale), scratch).CombinedOutput()
	cancel()
	if err != nil {
		r.add(Row{Phase: PhasePgbench, Skipped: true, Note: fmt.Sprintf("pgbench -i failed: %v: %s", err, lastLine(out))})
		return
	}
	secs := max(1, int(r.cfg.Duration.Round(time.Second)/time.Second))
	for _, c := range r.cfg.Clients {
		row := Row{Phase: PhasePgbench, Clients: c, Unit: "tps", RSSMB: -1, CPU: -1,
			Note: fmt.Sprintf("pgbench -S -c %d -j %d -T %d -s %d", c, min(c, 2), secs, r.cfg.PgbenchScale)}
		runCtx, cancel := context.WithTimeout(ctx, time.Duration(secs+60)*time.Second)
		out, err := exec.CommandContext(runCtx, bin, "-S", "-c", strconv.Itoa(c), "-j", strconv.Itoa(min(c, 2)),
			"-T", strconv.Itoa(secs), "-n", scratch).CombinedOutput()
		cancel()
		m := tpsPattern.FindSubmatch(out)
		if err != nil || m == nil {
			row.Skipped, row.Note = true, fmt.Sprintf("pgbench failed: %v: %s", err, lastLine(out))
		} else {
			row.Rate, _ = strconv.ParseFloat(string(m[1]), 64)
		}
		r.add(row)
	}
}

func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}
