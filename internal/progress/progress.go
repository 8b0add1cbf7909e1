// Package progress reports how far a long job (an import, a reindex) has
// got: a Tracker counts the work from any number of goroutines and hands
// snapshots to a Reporter about twice a second, which draws a bar on a
// terminal or writes plain lines for logs and pipes. Jobs share it so that
// every command reports progress the same way.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is a job's progress at one moment.
type Snapshot struct {
	// Parts and PartsDone count the units a job is split into when they are
	// worth showing (an import's files); both 0 otherwise.
	Parts, PartsDone int
	// Total and Done measure completion, in whatever unit the job can know
	// up front (bytes read for an import, resources for a reindex); Total
	// is 0 when unknown.
	Total, Done int64
	Items       int64         // resources handled
	Rate        float64       // items per second so far
	ETA         time.Duration // estimated from Done/Total; 0 when unknown
	Elapsed     time.Duration
	// Note is a job-specific remark for the log line (a reindex's resume
	// cursor); empty for none.
	Note  string
	Final bool
}

// Fraction is how much of the job is done, from 0 to 1 (1 once final).
func (s Snapshot) Fraction() float64 {
	switch {
	case s.Final:
		return 1
	case s.Total <= 0:
		return 0
	}
	return min(1, float64(s.Done)/float64(s.Total))
}

// Reporter receives snapshots, about twice a second and once at the end
// (Final).
type Reporter func(Snapshot)

// Tracker counts a job's progress. Its methods are safe for concurrent use.
type Tracker struct {
	rep       Reporter
	parts     int
	total     int64
	partsDone atomic.Int64
	done      atomic.Int64
	items     atomic.Int64
	note      atomic.Pointer[string]
	start     time.Time
	stop      chan struct{}
	wg        sync.WaitGroup
}

// Start begins tracking a job of parts parts and total units (either may be
// 0), reporting to rep (nil for none) until Finish.
func Start(rep Reporter, parts int, total int64) *Tracker {
	t := &Tracker{rep: rep, parts: parts, total: total, start: time.Now(), stop: make(chan struct{})}
	if rep != nil {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					rep(t.Snapshot(false))
				case <-t.stop:
					return
				}
			}
		}()
	}
	return t
}

// Advance adds n units to Done.
func (t *Tracker) Advance(n int64) { t.done.Add(n) }

// AddItems adds n handled items.
func (t *Tracker) AddItems(n int64) { t.items.Add(n) }

// PartDone counts one finished part.
func (t *Tracker) PartDone() { t.partsDone.Add(1) }

// SetNote sets the remark shown with the next snapshots.
func (t *Tracker) SetNote(s string) { t.note.Store(&s) }

// Snapshot returns the progress so far.
func (t *Tracker) Snapshot(final bool) Snapshot {
	el := time.Since(t.start)
	s := Snapshot{
		Parts: t.parts, PartsDone: int(t.partsDone.Load()),
		Total: t.total, Done: t.done.Load(),
		Items: t.items.Load(), Elapsed: el, Final: final,
	}
	if n := t.note.Load(); n != nil {
		s.Note = *n
	}
	if el > 0 {
		s.Rate = float64(s.Items) / el.Seconds()
	}
	if s.Done > 0 && s.Done < s.Total && !final {
		s.ETA = time.Duration(float64(el) * float64(s.Total-s.Done) / float64(s.Done))
	}
	return s
}

// Finish stops the periodic reports and sends the final one.
func (t *Tracker) Finish() {
	close(t.stop)
	t.wg.Wait()
	if t.rep != nil {
		t.rep(t.Snapshot(true))
	}
}

// Terminal draws a one-line progress bar on w (a terminal), redrawn in
// place. parts names the job's parts ("files"), or is empty when it has
// none.
func Terminal(w io.Writer, parts string) Reporter {
	return func(s Snapshot) {
		const width = 24
		frac := s.Fraction()
		filled := int(frac * width)
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		eta := "--:--"
		if s.ETA > 0 {
			eta = Duration(s.ETA)
		}
		if s.Final {
			eta = "done in " + Duration(s.Elapsed)
		}
		partsText := ""
		if parts != "" {
			partsText = fmt.Sprintf("  %s %d/%d", parts, s.PartsDone, s.Parts)
		}
		fmt.Fprintf(w, "\r\033[K%s %3.0f%%%s  resources %d  %.0f/s  ETA %s",
			bar, frac*100, partsText, s.Items, s.Rate, eta)
		if s.Final {
			fmt.Fprintln(w)
		}
	}
}

// Lines writes a plain progress line to w at most every interval (for logs
// and pipes), and always the final one: "JOB progress: ..." then
// "JOB finished: ...".
func Lines(w io.Writer, job, parts string, every time.Duration) Reporter {
	var last time.Time
	return func(s Snapshot) {
		if !s.Final && time.Since(last) < every {
			return
		}
		last = time.Now()
		state := "progress"
		if s.Final {
			state = "finished"
		}
		fmt.Fprintf(w, "%s %s: ", job, state)
		if parts != "" {
			fmt.Fprintf(w, "%s %d/%d, ", parts, s.PartsDone, s.Parts)
		}
		fmt.Fprintf(w, "resources %d", s.Items)
		if parts == "" && s.Total > 0 {
			fmt.Fprintf(w, "/%d", s.Total)
		}
		fmt.Fprintf(w, ", %.0f resources/s, elapsed %s", s.Rate, Duration(s.Elapsed))
		if s.ETA > 0 {
			fmt.Fprintf(w, ", ETA %s", Duration(s.ETA))
		}
		if s.Note != "" {
			fmt.Fprintf(w, ", %s", s.Note)
		}
		fmt.Fprintln(w)
	}
}

// Duration formats d as m:ss or h:mm:ss.
func Duration(d time.Duration) string {
	sec := int(d.Round(time.Second).Seconds())
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}
