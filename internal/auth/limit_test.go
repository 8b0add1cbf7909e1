package auth

import (
	"context"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/errs"
)

// TestLimit: a limit refuses after Max failures within its window, until
// the window ends; keys and limits count apart.
func TestLimit(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		l := Limit{Name: "test", Max: 3, Window: 10 * time.Minute}
		left := func(l Limit, key string) time.Duration {
			t.Helper()
			d, err := e.svc.Limited(ctx, l, key)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for i := range 3 {
			if d := left(l, "10.0.0.1"); d != 0 {
				t.Fatalf("after %d failures: limited for %v", i, d)
			}
			if err := e.svc.Failed(ctx, l, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			e.clock.Add(time.Minute)
		}
		if d := left(l, "10.0.0.1"); d != 7*time.Minute {
			t.Fatalf("after 3 failures: limited for %v, want the 7 minutes left of the window", d)
		}
		if d := left(l, "10.0.0.2"); d != 0 {
			t.Errorf("another address is limited for %v", d)
		}
		if d := left(Limit{Name: "other", Max: 3, Window: time.Minute}, "10.0.0.1"); d != 0 {
			t.Errorf("another limit's counter is shared: %v", d)
		}
		// The sign-in page's counter of the same address is apart too.
		if _, err := e.svc.Login(ctx, "nobody", "wrong password!", Meta{Source: "10.0.0.9"}); !errs.Is(err, errs.Unauthenticated) {
			t.Fatal(err)
		}
		e.clock.Add(7 * time.Minute)
		if d := left(l, "10.0.0.1"); d != 0 {
			t.Fatalf("after the window: limited for %v", d)
		}
		// A new window starts with the next failure.
		if err := e.svc.Failed(ctx, l, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if d := left(l, "10.0.0.1"); d != 0 {
			t.Fatalf("one failure in a new window: limited for %v", d)
		}
		if err := e.svc.Failed(ctx, Limit{}, "x"); !errs.Is(err, errs.Internal) {
			t.Errorf("a limit without a name: %v", err)
		}
	})
}
