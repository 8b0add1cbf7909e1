package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// newClient returns an HTTP client for the harness's own requests: no
// proxy, no redirects, bounded time.
func newClient(conns int, token string) *http.Client {
	var rt http.RoundTripper = &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
	}
	if token != "" {
		rt = bearer{token: token, next: rt}
	}
	return &http.Client{
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     rt,
	}
}

// bearer adds an access token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// sampler reads a process's memory and CPU use from /proc.
type sampler struct {
	pid int
}

// usage is what a process used during a phase.
type usage struct {
	peakRSSMB float64
	cpu       float64 // percent of one core; -1 when unknown
}

func newSampler(pid int, target string) *sampler {
	if pid == 0 {
		pid = pidByPort(target)
	}
	if pid != 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
			pid = 0
		}
	}
	return &sampler{pid: pid}
}

// watch samples the process until the returned function is called, which
// reports the peak RSS and the average CPU.
func (s *sampler) watch() func() usage {
	return watchPID(s.pid)
}

func watchPID(pid int) func() usage {
	if pid == 0 {
		return func() usage { return usage{peakRSSMB: -1, cpu: -1} }
	}
	start := time.Now()
	ticks0, ok0 := cpuTicks(pid)
	var mu sync.Mutex
	peak := rssMB(pid)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m := rssMB(pid)
				mu.Lock()
				peak = max(peak, m)
				mu.Unlock()
			}
		}
	}()
	return func() usage {
		close(done)
		<-finished
		u := usage{peakRSSMB: max(peak, rssMB(pid)), cpu: -1}
		ticks1, ok1 := cpuTicks(pid)
		if el := time.Since(start).Seconds(); ok0 && ok1 && el > 0 {
			// Linux reports CPU time in clock ticks of 1/100 s
			// (USER_HZ, fixed at 100 on every architecture Go supports).
			u.cpu = float64(ticks1-ticks0) / 100 / el * 100
		}
		return u
	}
}

// cpuTicks returns utime+stime of a process (proc(5), /proc/pid/stat
// fields 14 and 15).
func cpuTicks(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; fields resume after ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	return u + s, err1 == nil && err2 == nil
}

// rssMB reads VmRSS from /proc/pid/status, in MiB (0 when unreadable).
func rssMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 200; n++ {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// pidByPort finds the process listening on the target's port: the socket
// inode from /proc/net/tcp{,6}, then the process holding that inode.
func pidByPort(target string) int {
	u, err := url.Parse(target)
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		if u.Scheme == "https" {
			port = 443
		} else {
			port = 80
		}
	}
	inodes := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			p, err := strconv.ParseInt(f[1][i+1:], 16, 32)
			if err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fds, _ := filepath.Glob(p + "/fd/*")
		for _, fd := range fds {
			if link, err := os.Readlink(fd); err == nil && inodes[link] {
				pid, _ := strconv.Atoi(filepath.Base(p))
				return pid
			}
		}
	}
	return 0
}
