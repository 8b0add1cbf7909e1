package cli

import (
	"io"
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"off", 0},
		{"OFF", 0},
		{"192MiB", 192 << 20},
		{"256mib", 256 << 20},
		{"1GiB", 1 << 30},
		{"300MB", 300_000_000},
		{" 2GiB ", 2 << 30},
		{"1.5GiB", 3 << 29},
		{"134217728", 128 << 20},
	}
	for _, c := range good {
		got, err := parseMemoryLimit(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "not a size"},
		{"lots", "not a size"},
		{"256 parsecs", "not a size"},
		{"-1GiB", "not a size"},
		{"MiB", "not a size"},
		{"1e9", "not a size"},
		{"9EiB", "too large"},
		{"1MiB", "below the least useful limit"},
		{"1000", "below the least useful limit"},
	}
	for _, c := range bad {
		got, err := parseMemoryLimit(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want an error about %q", c.in, got, err, c.want)
		}
	}
}

// keepMemoryLimit restores the test process's limit after a test changes it.
func keepMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

func TestApplyMemoryLimit(t *testing.T) {
	keepMemoryLimit(t)
	noEnv := func(string) string { return "" }

	// The default, parsed as serve does when no flag and no GOMEMLIMIT are given.
	def, err := parseMemoryLimit(defaultMemoryLimit)
	if err != nil || def != 192<<20 {
		t.Fatalf("default %q = %d, %v", defaultMemoryLimit, def, err)
	}
	limit, from, err := applyMemoryLimit(defaultMemoryLimit, noEnv)
	if err != nil || limit != def || from != "--memory-limit" {
		t.Fatalf("default: %d from %q, %v", limit, from, err)
	}
	if got := debug.SetMemoryLimit(-1); got != def {
		t.Errorf("runtime limit %d after the default, want %d", got, def)
	}
	if s := formatMemoryLimit(limit); s != "192MiB" {
		t.Errorf("formatMemoryLimit(default) = %q", s)
	}

	if _, _, err := applyMemoryLimit("1GiB", noEnv); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("runtime limit %d after 1GiB", got)
	}

	// 0 lifts the limit.
	limit, _, err = applyMemoryLimit("0", noEnv)
	if err != nil || limit != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("0: limit %d, runtime %d, %v", limit, debug.SetMemoryLimit(-1), err)
	}
	if s := formatMemoryLimit(limit); s != "off" {
		t.Errorf("formatMemoryLimit(none) = %q", s)
	}

	// A bad value changes nothing.
	debug.SetMemoryLimit(500 << 20)
	if _, _, err := applyMemoryLimit("lots", noEnv); err == nil {
		t.Error("a bad value was accepted")
	}
	if got := debug.SetMemoryLimit(-1); got != 500<<20 {
		t.Errorf("a bad value changed the limit to %d", got)
	}
}

// TestMemoryLimitEnvWins runs this test binary again with GOMEMLIMIT in its
// environment, so that the Go runtime itself applies it, and checks that
// serve's flag leaves that limit in place (a bad flag value is still refused).
func TestMemoryLimitEnvWins(t *testing.T) {
	if os.Getenv("OPENCHART_TEST_MEMLIMIT_CHILD") != "" {
		limit, from, err := applyMemoryLimit("1GiB", os.Getenv)
		_, _, badErr := applyMemoryLimit("lots", os.Getenv)
		io.WriteString(os.Stdout, "limit="+strconv.FormatInt(limit, 10)+" from="+from+" runtime="+strconv.FormatInt(debug.SetMemoryLimit(-1), 10))
		if err != nil || badErr == nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryLimitEnvWins$")
	cmd.Env = append(os.Environ(), "OPENCHART_TEST_MEMLIMIT_CHILD=1", "GOMEMLIMIT=300MiB")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	want := "limit=" + strconv.Itoa(300<<20) + " from=GOMEMLIMIT runtime=" + strconv.Itoa(300<<20)
	if !strings.Contains(string(out), want) {
		t.Errorf("child printed %q, want %q", out, want)
	}
}

// TestServeMemoryLimitFlag: serve refuses a bad --memory-limit as a usage
// error, before it opens any store.
func TestServeMemoryLimitFlag(t *testing.T) {
	keepMemoryLimit(t)
	for _, v := range []string{"lots", "10MiB"} {
		var stderr strings.Builder
		code := Main([]string{"serve", "--data", t.TempDir(), "--memory-limit", v}, io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "--memory-limit") {
			t.Errorf("--memory-limit %s: exit %d, %q", v, code, stderr.String())
		}
	}
}

// TestServeAppliesMemoryLimit: a running serve has the limit it was given,
// and gives the process back the one it found when it stops.
func TestServeAppliesMemoryLimit(t *testing.T) {
	keepMemoryLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	_, stop := startServe(t, "--data", t.TempDir(), "--memory-limit", "768MiB")
	if got := debug.SetMemoryLimit(-1); got != 768<<20 {
		t.Errorf("limit while serving: %d, want %d", got, 768<<20)
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after serve returned: %d, want none", got)
	}
}
