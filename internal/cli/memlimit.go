package cli

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"

	"github.com/dustin/go-humanize"
)

// defaultMemoryLimit is serve's soft memory limit when neither
// --memory-limit nor GOMEMLIMIT gives one (docs/PERFORMANCE.md, "Memory: a
// soft limit and smaller caches"). It bounds what the Go runtime holds (heap,
// stacks), not SQLite's page caches, which the embedded store sizes itself.
const defaultMemoryLimit = "512MiB"

// minMemoryLimit is the least limit --memory-limit accepts: a server at rest
// holds about 40 MB of Go heap (definitions, terminology, templates), and a
// limit near that would keep the collector running all the time.
const minMemoryLimit = 64 << 20

// parseMemoryLimit reads a --memory-limit value: a size such as 192MiB,
// 1GiB or 300MB (KiB, MiB, GiB are powers of 1024; kB, MB, GB of 1000), or
// 0 or off for no limit, which it returns as 0.
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "0" || strings.EqualFold(s, "off") {
		return 0, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %q is not a size (such as 192MiB or 1GiB; 0 or off for none)", s)
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("--memory-limit %q is too large", s)
	}
	if n < minMemoryLimit {
		return 0, fmt.Errorf("--memory-limit %s is below the least useful limit, 64MiB (0 or off for none)", s)
	}
	return int64(n), nil
}

// applyMemoryLimit sets the process's soft memory limit
// (runtime/debug.SetMemoryLimit) from serve's --memory-limit value. GOMEMLIMIT
// in the environment wins: the Go runtime has applied it at start-up, and
// it stays. The value is checked either way. It returns the limit in effect
// (math.MaxInt64: none) and where it came from.
func applyMemoryLimit(value string, getenv func(string) string) (limit int64, from string, err error) {
	n, err := parseMemoryLimit(value)
	if err != nil {
		return 0, "", err
	}
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
	}
	if n == 0 {
		n = math.MaxInt64 // the runtime's own "no limit"
	}
	debug.SetMemoryLimit(n)
	return n, "--memory-limit", nil
}

// formatMemoryLimit is a limit for the log: "192MiB", or "off".
func formatMemoryLimit(n int64) string {
	if n == math.MaxInt64 {
		return "off"
	}
	return strings.ReplaceAll(humanize.IBytes(uint64(n)), " ", "")
}
