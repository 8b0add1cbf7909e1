package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/progress"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// BundleProcessor processes a batch or transaction Bundle the way the FHIR
// API does (the fhirapi package satisfies it).
type BundleProcessor interface {
	ProcessBundle(ctx context.Context, bundle map[string]any, base string) (map[string]any, error)
}

// Config holds an Importer's dependencies and settings.
type Config struct {
	Bundles BundleProcessor
	Repo    *repo.Repo
	// Workers is the number of files loaded at once (default GOMAXPROCS).
	Workers int
	// BatchSize is the number of NDJSON lines written per transaction
	// (default 500).
	BatchSize int
	// BatchBytes ends an NDJSON batch early once its lines hold this many
	// bytes (default 2 MiB), so that files of large resources (claims,
	// documents with attachments) take no more memory than files of small
	// ones.
	BatchBytes int
	// Progress receives progress reports; nil means none.
	Progress Reporter
}

// Importer loads files.
type Importer struct {
	cfg Config
}

// New checks the configuration.
func New(cfg Config) (*Importer, error) {
	if cfg.Bundles == nil || cfg.Repo == nil {
		return nil, errors.New("importer: a bundle processor and a repository are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 2 << 20
	}
	return &Importer{cfg: cfg}, nil
}

// FileResult is what happened to one file.
type FileResult struct {
	Path      string
	Resources int            // resources stored or found unchanged
	Failed    int            // entries or lines that failed
	Errors    []string       // the first few error messages
	Types     map[string]int // resources per type
}

// Summary is the outcome of a whole import.
type Summary struct {
	Files     []FileResult
	Skipped   []string // empty files, which hold nothing to load
	Resources int
	Failed    int
	Types     map[string]int
	Elapsed   time.Duration
}

// OK reports whether everything loaded.
func (s *Summary) OK() bool { return s.Failed == 0 }

const maxErrorsPerFile = 5

// Run imports the files named by paths (directories are walked). It returns
// an error only when the import could not run at all; per-file failures are
// in the Summary.
func (im *Importer) Run(ctx context.Context, paths []string) (*Summary, error) {
	files, skipped, total, err := collect(paths)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	prog := progress.Start(im.cfg.Progress, len(files), total)
	results := make([]FileResult, len(files))
	pending := make([]int, len(files))
	for i := range pending {
		pending[i] = i
	}
	// Files whose only failure is a reference to something another file
	// creates are retried after the rest, up to twice.
	for round := 0; round < 3 && len(pending) > 0; round++ {
		var retry []int
		var mu sync.Mutex
		work := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < im.cfg.Workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					res, missingRef := im.loadFile(ctx, files[i].path, prog, round < 2)
					mu.Lock()
					results[i] = res
					if missingRef {
						retry = append(retry, i)
					}
					mu.Unlock()
					if !missingRef {
						prog.PartDone()
					}
				}
			}()
		}
		for _, i := range pending {
			if ctx.Err() != nil {
				break
			}
			work <- i
		}
		close(work)
		wg.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sort.Ints(retry)
		pending = retry
	}
	prog.Finish()
	sum := &Summary{Files: results, Skipped: skipped, Types: map[string]int{}, Elapsed: time.Since(start)}
	for _, r := range results {
		sum.Resources += r.Resources
		sum.Failed += r.Failed
		for t, n := range r.Types {
			sum.Types[t] += n
		}
	}
	return sum, nil
}

type file struct {
	path string
	size int64
}

// collect expands paths into the importable files, sorted by path, and
// the empty ones it skips.
func collect(paths []string) (files []file, skipped []string, total int64, err error) {
	add := func(p string, info fs.FileInfo) {
		switch {
		case !importable(p):
		case info.Size() == 0:
			skipped = append(skipped, p)
		default:
			files = append(files, file{p, info.Size()})
			total += info.Size()
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("import: %w", err)
		}
		if !info.IsDir() {
			if !importable(p) {
				return nil, nil, 0, fmt.Errorf("import: %s: not a .json, .json.gz, .ndjson or .ndjson.gz file", p)
			}
			add(p, info)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			add(path, info)
			return nil
		})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("import: %w", err)
		}
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.path, b.path) })
	files = slices.CompactFunc(files, func(a, b file) bool { return a.path == b.path })
	return files, skipped, total, nil
}

func importable(p string) bool {
	for _, ext := range []string{".json", ".json.gz", ".ndjson", ".ndjson.gz"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// loadFile imports one file. missingRef reports a failure caused only by
// unresolved references, when allowRetry is set.
func (im *Importer) loadFile(ctx context.Context, path string, prog *progress.Tracker, allowRetry bool) (res FileResult, missingRef bool) {
	res = FileResult{Path: path, Types: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		res.fail(err)
		return res, false
	}
	defer f.Close()
	counted := &countingReader{r: f, add: prog.Advance}
	var r io.Reader = counted
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(bufio.NewReaderSize(counted, 256<<10))
		if err != nil {
			res.fail(fmt.Errorf("reading gzip: %w", err))
			return res, false
		}
		defer gz.Close()
		r = gz
	}
	if strings.HasSuffix(strings.TrimSuffix(path, ".gz"), ".ndjson") {
		im.loadNDJSON(ctx, r, &res, prog)
		return res, false
	}
	data, err := io.ReadAll(r)
	if err != nil {
		res.fail(fmt.Errorf("reading: %w", err))
		return res, false
	}
	return res, im.loadBundle(ctx, data, &res, prog, allowRetry)
}

func (r *FileResult) fail(err error) {
	r.Failed++
	if len(r.Errors) < maxErrorsPerFile {
		r.Errors = append(r.Errors, err.Error())
	}
}

type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(int64(n))
	return n, err
}

func (im *Importer) loadBundle(ctx context.Context, data []byte, res *FileResult, prog *progress.Tracker, allowRetry bool) (missingRef bool) {
	v, err := fhir.Parse(data, fhir.ParseOptions{})
	if err != nil {
		res.fail(err)
		return false
	}
	if fhir.TypeOf(v) != "Bundle" || (v["type"] != "transaction" && v["type"] != "batch") {
		// A lone resource (or a collection Bundle) is stored as one.
		im.storeOne(ctx, v, res, prog)
		return false
	}
	entries, _ := v["entry"].([]any)
	types := make([]string, len(entries))
	for i, e := range entries {
		entry, _ := e.(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		types[i] = fhir.TypeOf(r)
	}
	prepareForImport(v)
	out, err := im.cfg.Bundles.ProcessBundle(ctx, v, "")
	if err != nil {
		if allowRetry && errs.Is(err, errs.NotFound) {
			return true
		}
		res.fail(err)
		return false
	}
	// Count per response entry: a batch may succeed in part.
	respEntries, _ := out["entry"].([]any)
	n := 0
	for i, e := range respEntries {
		entry, _ := e.(map[string]any)
		resp, _ := entry["response"].(map[string]any)
		status, _ := resp["status"].(string)
		if strings.HasPrefix(status, "2") {
			if i < len(types) && types[i] != "" {
				res.Types[types[i]]++
				res.Resources++
				n++
			}
			continue
		}
		res.fail(fmt.Errorf("entry %d: %s%s", i, status, outcomeText(resp["outcome"])))
	}
	prog.AddItems(int64(n))
	return false
}

func outcomeText(v any) string {
	oo, _ := v.(map[string]any)
	issues, _ := oo["issue"].([]any)
	var parts []string
	for _, is := range issues {
		m, _ := is.(map[string]any)
		if d, ok := m["diagnostics"].(string); ok {
			parts = append(parts, d)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// prepareForImport makes a Bundle's creates idempotent (see the package
// documentation).
func prepareForImport(bundle map[string]any) {
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		req, _ := entry["request"].(map[string]any)
		r, _ := entry["resource"].(map[string]any)
		if req == nil || r == nil || req["method"] != "POST" {
			continue
		}
		if _, ok := req["ifNoneExist"]; ok {
			continue
		}
		typ, id := fhir.TypeOf(r), fhir.IDOf(r)
		if id != "" && fhir.ValidID(id) {
			req["method"] = "PUT"
			req["url"] = typ + "/" + id
			continue
		}
		if crit := identifierCriteria(r); crit != "" {
			req["ifNoneExist"] = crit
		}
	}
}

// identifierCriteria returns "identifier=system|value" for the first
// identifier with both, or "".
func identifierCriteria(r map[string]any) string {
	ids, _ := r["identifier"].([]any)
	for _, x := range ids {
		m, _ := x.(map[string]any)
		sys, _ := m["system"].(string)
		val, _ := m["value"].(string)
		if sys != "" && val != "" {
			return "identifier=" + escapeParam(sys) + "|" + escapeParam(val)
		}
	}
	return ""
}

// escapeParam escapes the characters FHIR search gives meaning to
// (https://hl7.org/fhir/R4/search.html#escaping) and URL-encodes the rest.
func escapeParam(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`)
	return url.QueryEscape(r.Replace(s))
}

// storeOne stores a single resource: update-as-create under its id, or a
// create.
func (im *Importer) storeOne(ctx context.Context, r map[string]any, res *FileResult, prog *progress.Tracker) {
	typ, id := fhir.TypeOf(r), fhir.IDOf(r)
	var err error
	if id != "" {
		_, err = im.cfg.Repo.Update(ctx, typ, id, r, repo.UpdateOptions{})
	} else {
		_, err = im.cfg.Repo.Create(ctx, r, repo.CreateOptions{})
	}
	if err != nil {
		res.fail(err)
		return
	}
	res.Types[typ]++
	res.Resources++
	prog.AddItems(1)
}

// loadNDJSON stores an NDJSON stream in batches of BatchSize lines (fewer
// when they reach BatchBytes), one transaction each, Workers batches at a time: one file of a bulk export
// (all the Observations) is most of the data, so its batches must not wait
// for each other. Lines are parsed one at a time as they are read, and at
// most two batches per worker are in memory (one being filled or waiting
// to be handed over, one being stored), whatever the size of the file.
// Lines with the same type and id always go to the same worker, so that a
// resource listed twice is stored in file order. A bad line is reported
// and skipped; it does not undo the others.
func (im *Importer) loadNDJSON(ctx context.Context, r io.Reader, res *FileResult, prog *progress.Tracker) {
	var mu sync.Mutex // guards res
	workers := max(1, im.cfg.Workers)
	queues := make([]chan *ndBatch, workers)
	var wg sync.WaitGroup
	for w := range queues {
		queues[w] = make(chan *ndBatch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range queues[w] {
				im.storeBatch(ctx, b, res, &mu, prog)
			}
		}()
	}
	filling := make([]*ndBatch, workers)
	send := func(w int) {
		if filling[w] != nil && len(filling[w].res) > 0 {
			queues[w] <- filling[w]
		}
		filling[w] = nil
	}
	br := bufio.NewReaderSize(r, 1<<20)
	lineNo, next := 0, 0
	for ctx.Err() == nil {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			lineNo++
			v, perr := fhir.Parse(line, fhir.ParseOptions{})
			if perr != nil {
				mu.Lock()
				res.fail(fmt.Errorf("line %d: %w", lineNo, perr))
				mu.Unlock()
			} else {
				var w int
				if id := fhir.IDOf(v); id != "" {
					h := fnv.New32a()
					h.Write([]byte(fhir.TypeOf(v) + "/" + id))
					w = int(h.Sum32() % uint32(workers))
				} else {
					w, next = next, (next+1)%workers
				}
				if filling[w] == nil {
					filling[w] = &ndBatch{}
				}
				filling[w].res = append(filling[w].res, v)
				filling[w].lines = append(filling[w].lines, lineNo)
				filling[w].bytes += len(line)
				if len(filling[w].res) >= im.cfg.BatchSize || filling[w].bytes >= im.cfg.BatchBytes {
					send(w)
				}
			}
		} else if len(line) > 0 {
			lineNo++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			mu.Lock()
			res.fail(fmt.Errorf("reading: %w", err))
			mu.Unlock()
			break
		}
	}
	for w := range queues {
		send(w)
		close(queues[w])
	}
	wg.Wait()
}

// ndBatch is a batch of parsed NDJSON lines and their line numbers.
type ndBatch struct {
	res   []map[string]any
	lines []int
	bytes int // of the lines' text
}

// storeBatch stores one batch in one transaction. A line the Repository
// refuses (invalid, not allowed) is reported and the others are kept; a
// database failure fails the whole batch.
func (im *Importer) storeBatch(ctx context.Context, b *ndBatch, res *FileResult, mu *sync.Mutex, prog *progress.Tracker) {
	stored := 0
	var lineErrs []error
	types := map[string]int{}
	refs := make([]store.Ref, 0, len(b.res))
	for _, r := range b.res {
		if id := fhir.IDOf(r); id != "" && fhir.ValidID(id) {
			refs = append(refs, store.Ref{Type: fhir.TypeOf(r), ID: id})
		}
	}
	err := im.cfg.Repo.InTx(ctx, func(tx *repo.Tx) error {
		stored, lineErrs = 0, nil
		clear(types)
		// The current versions of the lines' resources in one read rather
		// than one (two round trips on PostgreSQL) per line.
		if err := tx.Prefetch(ctx, refs); err != nil {
			return err
		}
		for i, r := range b.res {
			var err error
			typ, id := fhir.TypeOf(r), fhir.IDOf(r)
			if id != "" {
				_, err = tx.Update(ctx, typ, id, r, repo.UpdateOptions{})
			} else {
				_, err = tx.Create(ctx, r, repo.CreateOptions{})
			}
			if err != nil {
				if errs.Is(err, errs.Transient) || errs.Is(err, errs.Internal) {
					return err
				}
				lineErrs = append(lineErrs, fmt.Errorf("line %d: %w", b.lines[i], err))
				continue
			}
			stored++
			types[typ]++
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		res.Failed += len(b.res)
		if len(res.Errors) < maxErrorsPerFile {
			res.Errors = append(res.Errors, fmt.Sprintf("%d lines between lines %d and %d: %v", len(b.lines), b.lines[0], b.lines[len(b.lines)-1], err))
		}
		return
	}
	for t, n := range types {
		res.Types[t] += n
	}
	for _, e := range lineErrs {
		res.fail(e)
	}
	res.Resources += stored
	prog.AddItems(int64(stored))
}
