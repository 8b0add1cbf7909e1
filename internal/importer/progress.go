package importer

import (
	"io"
	"time"

	"github.com/openchart/openchart/internal/progress"
)

// Progress is a snapshot of an import's progress: Parts counts files,
// Total and Done their sizes on disk (compressed for .gz files), Items the
// resources loaded.
type Progress = progress.Snapshot

// Reporter receives progress snapshots, about twice a second and once at
// the end (Final).
type Reporter = progress.Reporter

// TerminalReporter draws a one-line progress bar on w (a terminal),
// redrawn in place.
func TerminalReporter(w io.Writer) Reporter { return progress.Terminal(w, "files") }

// LineReporter writes a plain progress line to w at most every interval
// (for logs and pipes), and always the final one.
func LineReporter(w io.Writer, every time.Duration) Reporter {
	return progress.Lines(w, "import", "files", every)
}
