package sqlgen

import (
	"context"
	"testing"
	"time"
)

func TestAutoAnalyzeDoubling(t *testing.T) {
	calls := make(chan struct{}, 10)
	a := NewAutoAnalyze(100, 0, func(context.Context) error {
		calls <- struct{}{}
		return nil
	})
	defer a.Close()
	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := a.Runs()
			if err != nil {
				t.Fatal(err)
			}
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d refreshes, want %d", n, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	a.Wrote(99)
	if len(calls) != 0 {
		t.Fatal("a refresh started below the minimum")
	}
	a.Wrote(1) // 100 written, base 0: refresh
	wait(1)
	a.Wrote(99) // base 100: needs 100 more
	time.Sleep(20 * time.Millisecond)
	if n, _ := a.Runs(); n != 1 {
		t.Fatalf("refreshed before the data doubled (%d runs)", n)
	}
	a.Wrote(1)
	wait(2)
	a.Wrote(150) // base 200
	time.Sleep(20 * time.Millisecond)
	if n, _ := a.Runs(); n != 2 {
		t.Fatalf("refreshed before the data doubled (%d runs)", n)
	}
	a.Wrote(50)
	wait(3)
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
}

func TestAutoAnalyzeStartsFromBase(t *testing.T) {
	ran := make(chan struct{}, 1)
	a := NewAutoAnalyze(10, 1000, func(context.Context) error { ran <- struct{}{}; return nil })
	defer a.Close()
	a.Wrote(999)
	select {
	case <-ran:
		t.Fatal("refreshed before the 1,000 resources the store held had doubled")
	case <-time.After(20 * time.Millisecond):
	}
	a.Wrote(1)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("no refresh after the data doubled")
	}
}

func TestAutoAnalyzeDisabledAndClose(t *testing.T) {
	a := NewAutoAnalyze(-1, 0, func(context.Context) error { t.Error("disabled trigger ran"); return nil })
	a.Wrote(1 << 30)
	a.Close()
	var nilTrigger *AutoAnalyze
	nilTrigger.Wrote(5)
	nilTrigger.Close()

	// Close cancels a refresh in progress and waits for it.
	started := make(chan struct{})
	b := NewAutoAnalyze(1, 0, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	b.Wrote(1)
	<-started
	b.Close()
	if _, err := b.Runs(); err == nil {
		t.Fatal("the cancelled refresh reported no error")
	}
	b.Wrote(100) // after Close: nothing starts
}
