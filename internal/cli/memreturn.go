package cli

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// freeMemoryCheck is how often serve looks for heap memory a burst of work
// left behind.
const freeMemoryCheck = 2 * time.Second

// minFreeToReturn is the least free heap memory worth a forced collection.
const minFreeToReturn = 64 << 20

// heapLeftover reports whether the Go heap holds more free memory, still
// backed by physical pages, than its next collection's goal: what a burst
// (an import of many large Bundles) leaves when it ends. While work goes on,
// the free memory is the room between the live heap and the goal, which the
// next allocations reuse, so it stays below the goal.
func heapLeftover(free, goal uint64) bool {
	return free >= minFreeToReturn && free > goal
}

// returnFreeMemory gives the operating system back, every freeMemoryCheck,
// the heap memory a burst left free (debug.FreeOSMemory). The runtime's own
// scavenger returns it too, but at about 1% of a CPU: after an import over
// HTTP the server's resident memory stayed at twice the query mix's for
// minutes (docs/PERFORMANCE.md, "Memory: a soft limit and smaller caches").
func returnFreeMemory(ctx context.Context) {
	t := time.NewTicker(freeMemoryCheck)
	defer t.Stop()
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		if heapLeftover(s[0].Value.Uint64(), s[1].Value.Uint64()) {
			debug.FreeOSMemory()
		}
	}
}
