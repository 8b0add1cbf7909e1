package auth

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Limit is a limit on failed attempts: once Max failures keyed alike
// happened within Window (a fixed window starting at the first of them),
// further attempts are refused until the window ends. The counters are
// throttle items in the store, like the sign-in page's per-address limit
// (Options.SourceFailures), so every node of a deployment shares them and
// they expire on their own.
//
// Other front doors use it for what they must not let be guessed: the
// portal's activation (per address and per username) and the OAuth token
// endpoint (per address).
type Limit struct {
	// Name keeps the counters of one limit apart from the others'
	// ("portal-activation-ip"); it must not be empty.
	Name   string
	Max    int
	Window time.Duration
}

// maxLimitKey bounds the keys callers pass (an address, a username as
// typed): longer keys are cut.
const maxLimitKey = 200

func (l Limit) key(key string) string {
	return "limit:" + l.Name + ":" + clip(key, maxLimitKey)
}

func (l Limit) check(op string) error {
	if l.Name == "" || l.Max <= 0 || l.Window <= 0 {
		return errs.E(op, errs.Internal, "a limit needs a name, a maximum and a window")
	}
	return nil
}

// Limited reports how long attempts keyed key are still refused under l:
// zero when they are allowed.
func (s *Service) Limited(ctx context.Context, l Limit, key string) (time.Duration, error) {
	if err := l.check("check limit"); err != nil {
		return 0, err
	}
	th, _, err := s.readThrottle(ctx, s.st, l.key(key))
	if err != nil {
		return 0, err
	}
	return windowLeft(th, l.Max, l.Window, s.now()), nil
}

// Failed counts a failed attempt keyed key under l.
func (s *Service) Failed(ctx context.Context, l Limit, key string) error {
	if err := l.check("count failure"); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx store.Tx) error {
		return s.countWindowFailure(ctx, tx, l.key(key), l.Window)
	})
}

// windowLeft is how long a fixed-window counter with max failures still
// refuses attempts at now (zero: allowed).
func windowLeft(th *throttle, max int, window time.Duration, now time.Time) time.Duration {
	end := th.First.Add(window)
	if th.Failures < max || !now.Before(end) {
		return 0
	}
	return end.Sub(now)
}

// countWindowFailure adds a failure to the fixed-window counter at key,
// starting a new window when the last one ended.
func (s *Service) countWindowFailure(ctx context.Context, tx store.Tx, key string, window time.Duration) error {
	th, it, err := s.readThrottle(ctx, tx, key)
	if err != nil {
		return err
	}
	now := s.now()
	if !now.Before(th.First.Add(window)) {
		th.Failures, th.First = 0, now
	}
	th.Failures++
	th.Last = now
	it.Expires = th.First.Add(window)
	return putJSON(ctx, tx, it, th)
}
