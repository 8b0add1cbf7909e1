package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a snapshot of an import's progress.
type Progress struct {
	Files, FilesDone int
	Bytes, BytesRead int64 // sizes on disk (compressed for .gz files)
	Resources        int64
	Rate             float64       // resources per second so far
	ETA              time.Duration // estimated from the bytes read; 0 when unknown
	Elapsed          time.Duration
	Final            bool
}

// Reporter receives progress snapshots, about twice a second and once at
// the end (Final).
type Reporter func(Progress)

type tracker struct {
	rep       Reporter
	files     int
	total     int64
	doneFiles atomic.Int64
	bytes     atomic.Int64
	resources atomic.Int64
	start     time.Time
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newTracker(rep Reporter, files int, total int64) *tracker {
	t := &tracker{rep: rep, files: files, total: total, start: time.Now(), stop: make(chan struct{})}
	if rep != nil {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					rep(t.snapshot(false))
				case <-t.stop:
					return
				}
			}
		}()
	}
	return t
}

func (t *tracker) bytesRead(n int64)   { t.bytes.Add(n) }
func (t *tracker) resourcesDone(n int) { t.resources.Add(int64(n)) }
func (t *tracker) fileDone()           { t.doneFiles.Add(1) }

func (t *tracker) snapshot(final bool) Progress {
	el := time.Since(t.start)
	p := Progress{
		Files: t.files, FilesDone: int(t.doneFiles.Load()),
		Bytes: t.total, BytesRead: t.bytes.Load(),
		Resources: t.resources.Load(), Elapsed: el, Final: final,
	}
	if el > 0 {
		p.Rate = float64(p.Resources) / el.Seconds()
	}
	if p.BytesRead > 0 && p.BytesRead < p.Bytes && !final {
		p.ETA = time.Duration(float64(el) * float64(p.Bytes-p.BytesRead) / float64(p.BytesRead))
	}
	return p
}

func (t *tracker) finish() {
	close(t.stop)
	t.wg.Wait()
	if t.rep != nil {
		t.rep(t.snapshot(true))
	}
}

// TerminalReporter draws a one-line progress bar on w (a terminal),
// redrawn in place.
func TerminalReporter(w io.Writer) Reporter {
	return func(p Progress) {
		const width = 24
		frac := 0.0
		if p.Bytes > 0 {
			frac = float64(p.BytesRead) / float64(p.Bytes)
		}
		if p.Final {
			frac = 1
		}
		filled := int(frac * width)
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		eta := "--:--"
		if p.ETA > 0 {
			eta = fmtDuration(p.ETA)
		}
		if p.Final {
			eta = "done in " + fmtDuration(p.Elapsed)
		}
		fmt.Fprintf(w, "\r\033[K%s %3.0f%%  files %d/%d  resources %d  %.0f/s  ETA %s",
			bar, frac*100, p.FilesDone, p.Files, p.Resources, p.Rate, eta)
		if p.Final {
			fmt.Fprintln(w)
		}
	}
}

// LineReporter writes a plain progress line to w at most every interval
// (for logs and pipes), and always the final one.
func LineReporter(w io.Writer, every time.Duration) Reporter {
	var last time.Time
	return func(p Progress) {
		if !p.Final && time.Since(last) < every {
			return
		}
		last = time.Now()
		state := "progress"
		if p.Final {
			state = "finished"
		}
		fmt.Fprintf(w, "import %s: files %d/%d, resources %d, %.0f resources/s, elapsed %s",
			state, p.FilesDone, p.Files, p.Resources, p.Rate, fmtDuration(p.Elapsed))
		if p.ETA > 0 {
			fmt.Fprintf(w, ", ETA %s", fmtDuration(p.ETA))
		}
		fmt.Fprintln(w)
	}
}

func fmtDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
