package repo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

// batchStore records the size of each audit transaction; only InTx is
// implemented.
type batchStore struct {
	store.Store
	mu      sync.Mutex
	batches []int
}

type batchTx struct {
	store.Tx
	s *batchStore
}

func (s *batchStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return fn(batchTx{s: s})
}

func (t batchTx) Now() time.Time { return time.Unix(0, 0) }

func (t batchTx) AppendAudit(ctx context.Context, es []*audit.Entry) error {
	t.s.mu.Lock()
	t.s.batches = append(t.s.batches, len(es))
	t.s.mu.Unlock()
	return nil
}

func (s *batchStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// TestAppenderGathersReadsUnderWay: entries queued while announced reads
// are still under way wait for them and commit in one transaction.
func TestAppenderGathersReadsUnderWay(t *testing.T) {
	st := &batchStore{}
	a := newAppender(st)
	const n = 8
	tickets := make([]*ticket, n)
	for i := range tickets {
		tickets[i] = a.expect()
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.append([]*audit.Entry{{Interaction: audit.InteractionRead}}, tickets[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := st.sizes()
	total := 0
	for _, s := range got {
		total += s
	}
	if total != n {
		t.Fatalf("committed %d entries in %v, want %d", total, got, n)
	}
	// Eight goroutines started together: the first batch waits for the
	// other announced reads. Allow a second batch for a goroutine the
	// scheduler starts later than gatherWait.
	if len(got) > 2 {
		t.Errorf("8 concurrent announced reads committed in %d transactions %v, want 1 or 2", len(got), got)
	}
	if a.inflight != 0 {
		t.Errorf("%d reads still counted under way", a.inflight)
	}
}

// TestAppenderLoneRead: with no other read under way, an entry commits
// at once, and a read that ends without an entry (settled by its deferred
// call) does not hold later batches back.
func TestAppenderLoneRead(t *testing.T) {
	st := &batchStore{}
	a := newAppender(st)

	abandoned := a.expect()
	a.settle(abandoned)
	a.settle(abandoned) // twice is harmless
	if a.inflight != 0 {
		t.Fatalf("inflight %d after settling an abandoned read", a.inflight)
	}

	tk := a.expect()
	start := time.Now()
	if err := a.append([]*audit.Entry{{Interaction: audit.InteractionRead}}, tk); err != nil {
		t.Fatal(err)
	}
	a.settle(tk) // the deferred call after a handed-over entry does nothing
	if a.inflight != 0 {
		t.Fatalf("inflight %d after a read", a.inflight)
	}
	if got := st.sizes(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("batches %v, want [1]", got)
	}
	// The gathering waits only for reads under way; this one was alone.
	// (A generous bound: the machine may be busy.)
	if took := time.Since(start); took > 50*gatherWait {
		t.Errorf("a lone read's entry took %s to commit", took)
	}

	// A read still under way holds a queued entry back at most gatherWait.
	pending := a.expect()
	start = time.Now()
	if err := a.append([]*audit.Entry{{Interaction: audit.InteractionSearch}}, nil); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < gatherWait {
		t.Errorf("an entry queued while a read was under way committed after %s, before gatherWait %s", took, gatherWait)
	}
	a.settle(pending)
}

// committerStore commits audit batches on its own (store.AuditCommitter);
// its InTx must not be used for them.
type committerStore struct {
	batchStore
	fail   error
	inTxes int
}

func (s *committerStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	s.inTxes++
	s.mu.Unlock()
	return s.batchStore.InTx(ctx, fn)
}

func (s *committerStore) CommitAudit(ctx context.Context, es []*audit.Entry) error {
	if s.fail != nil {
		return s.fail
	}
	s.mu.Lock()
	s.batches = append(s.batches, len(es))
	s.mu.Unlock()
	return nil
}

// TestAppenderUsesCommitAudit: a store that commits audit entries on its
// own gets every batch that way, and its error fails the interaction.
func TestAppenderUsesCommitAudit(t *testing.T) {
	st := &committerStore{}
	a := newAppender(st)
	if err := a.append([]*audit.Entry{{Interaction: audit.InteractionRead}, {Interaction: audit.InteractionSearch}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := st.sizes(); len(got) != 1 || got[0] != 2 || st.inTxes != 0 {
		t.Fatalf("batches %v and %d InTx calls, want [2] and none", got, st.inTxes)
	}
	st.fail = errors.New("disk full")
	if err := a.append([]*audit.Entry{{Interaction: audit.InteractionRead}}, nil); !errors.Is(err, st.fail) {
		t.Fatalf("a failed commit returned %v", err)
	}
}
