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

// quietHeap reports whether a heap of heapBytes (objects, garbage included,
// and free memory) is worth a forced collection because no collection has
// run since the last check: after a burst the collector's goal stays where
// the burst left it, and a quiet server may not reach it for minutes. forced
// tells whether the last collection was the one this check forced, which
// makes it fire once per quiet spell.
func quietHeap(heapBytes uint64, cycles, lastCycles uint64, forced bool) bool {
	return heapBytes >= 2*minFreeToReturn && cycles == lastCycles && !forced
}

// returnFreeMemory gives the operating system back, every freeMemoryCheck,
// the heap memory a burst left free (debug.FreeOSMemory): at the first
// collection after it (heapLeftover), or, when no collection comes, once the
// heap has been quiet for a check (quietHeap). The runtime's own scavenger
// returns free memory too, but at about 1% of a CPU: after an import over
// HTTP the server's resident memory stayed at twice the query mix's for
// minutes (docs/PERFORMANCE.md, "Memory: a soft limit and smaller caches").
func returnFreeMemory(ctx context.Context) {
	t := time.NewTicker(freeMemoryCheck)
	defer t.Stop()
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	last, forcedAt := s[3].Value.Uint64(), uint64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		free, goal, objects, cycles := s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
		if heapLeftover(free, goal) || quietHeap(objects+free, cycles, last, cycles == forcedAt) {
			debug.FreeOSMemory()
			metrics.Read(s)
			cycles = s[3].Value.Uint64()
			forcedAt = cycles
		}
		last = cycles
	}
}
