package cli

import (
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if err != nil || def != 512<<20 {
		t.Fatalf("default %q = %d, %v", defaultMemoryLimit, def, err)
	}
	limit, from, err := applyMemoryLimit(defaultMemoryLimit, noEnv)
	if err != nil || limit != def || from != "--memory-limit" {
		t.Fatalf("default: %d from %q, %v", limit, from, err)
	}
	if got := debug.SetMemoryLimit(-1); got != def {
		t.Errorf("runtime limit %d after the default, want %d", got, def)
	}
	if s := formatMemoryLimit(limit); s != "512MiB" {
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

func TestHeapLeftover(t *testing.T) {
	cases := []struct {
		free, goal uint64
		want       bool
	}{
		{500 << 20, 80 << 20, true},   // after a burst: much free, a small goal
		{150 << 20, 370 << 20, false}, // during one: the room below the goal
		{40 << 20, 10 << 20, false},   // too little to be worth a collection
	}
	for _, c := range cases {
		if got := heapLeftover(c.free, c.goal); got != c.want {
			t.Errorf("heapLeftover(%d MiB free, %d MiB goal) = %v", c.free>>20, c.goal>>20, got)
		}
	}
}

// TestReturnFreeMemory: heap memory left free by a burst of allocations goes
// back to the operating system within a few checks.
func TestReturnFreeMemory(t *testing.T) {
	keepMemoryLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	free := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// A burst: 256 MiB live in small pieces, then dropped and collected.
	burst := make([][]byte, 0, 4096)
	for range 4096 {
		burst = append(burst, make([]byte, 64<<10))
	}
	for _, b := range burst {
		b[0] = 1
	}
	burst = nil
	runtime.GC()
	if f := free(); f < minFreeToReturn {
		t.Skipf("the runtime returned the burst's memory itself (%d MiB free)", f>>20)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go returnFreeMemory(ctx)
	deadline := time.Now().Add(4 * freeMemoryCheck)
	for free() >= minFreeToReturn {
		if time.Now().After(deadline) {
			t.Fatalf("%d MiB still free after %s", free()>>20, 4*freeMemoryCheck)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestQuietHeap(t *testing.T) {
	const big, small = 600 << 20, 60 << 20
	cases := []struct {
		name              string
		heap, cycles, was uint64
		forced, want      bool
	}{
		{"after a burst, no collection since the last check", big, 40, 40, false, true},
		{"a collection ran since the last check", big, 41, 40, false, false},
		{"this check forced the last collection", big, 41, 41, true, false},
		{"a small heap", small, 40, 40, false, false},
	}
	for _, c := range cases {
		if got := quietHeap(c.heap, c.cycles, c.was, c.forced); got != c.want {
			t.Errorf("%s: quietHeap = %v", c.name, got)
		}
	}
}
