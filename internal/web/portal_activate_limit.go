package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/auth"
)

// Limits of the portal's activation (docs/PORTAL.md): refused
// submissions are counted per address and per username as typed; at
// either limit the page answers 429 until the window ends, without
// looking at the submission. They bound guessing an invitation's code and
// the patient's birth date.
var (
	activationIPLimit   = auth.Limit{Name: "portal-activation-ip", Max: 20, Window: 15 * time.Minute}
	activationUserLimit = auth.Limit{Name: "portal-activation-user", Max: 10, Window: 15 * time.Minute}
)

// limiter is the part of the identity service (*auth.Service) that keeps
// failure counters; without it nothing is limited.
type limiter interface {
	Limited(ctx context.Context, l auth.Limit, key string) (time.Duration, error)
	Failed(ctx context.Context, l auth.Limit, key string) error
}

// limitedActivation applies the activation limits around next (the
// activation form's submission).
func (s *server) limitedActivation(next handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		lim, ok := s.cfg.Auth.(limiter)
		if !ok {
			return next(w, r)
		}
		if err := r.ParseForm(); err != nil {
			return next(w, r)
		}
		ip := s.clientIP(r)
		username := strings.ToLower(pForm(r, "username"))
		left, err := lim.Limited(r.Context(), activationIPLimit, ip)
		if err != nil {
			return err
		}
		if username != "" {
			u, err := lim.Limited(r.Context(), activationUserLimit, username)
			if err != nil {
				return err
			}
			left = max(left, u)
		}
		if left > 0 {
			mins := int((left + time.Minute - 1) / time.Minute)
			w.Header().Set("Retry-After", strconv.Itoa(int((left+time.Second-1)/time.Second)))
			s.log.Warn("web: portal activation limited", "source", ip, "username", username)
			s.render(w, r, http.StatusTooManyRequests, "portal/activate", page{Title: "Activate your portal account",
				Form:  url.Values{"username": {pForm(r, "username")}},
				Error: fmt.Sprintf("Too many attempts to activate this account or from this network. Try again in %s, or ask your clinic for a new invitation.", plural(mins, "minute"))})
			return nil
		}
		rec := &statusCapture{ResponseWriter: w}
		if err := next(rec, r); err != nil {
			return err
		}
		if rec.status == http.StatusBadRequest {
			if err := lim.Failed(r.Context(), activationIPLimit, ip); err != nil {
				s.log.Error("web: counting a refused activation", "err", err)
			}
			if username != "" {
				if err := lim.Failed(r.Context(), activationUserLimit, username); err != nil {
					s.log.Error("web: counting a refused activation", "err", err)
				}
			}
		}
		return nil
	}
}

// statusCapture passes a response through and keeps its status.
type statusCapture struct {
	http.ResponseWriter
	status int
}

func (c *statusCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *statusCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}
