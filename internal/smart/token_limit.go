package smart

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/openchart/openchart/internal/auth"
)

// TokenLimit bounds failed requests to the token endpoint from one
// address: failed client authentications (invalid_client) and refused
// grants (invalid_grant: a wrong, used or expired code or refresh token,
// a PKCE verifier that does not match). Successes and malformed requests
// do not count. At the limit the endpoint answers 429 with an
// invalid_request OAuth error and Retry-After until the window ends
// (docs/SMART.md, "Limits").
var TokenLimit = auth.Limit{Name: "oauth-token-ip", Max: 30, Window: 15 * time.Minute}

// limiter is the part of the identity service (*auth.Service) that keeps
// the counters; without it the endpoint is not limited.
type limiter interface {
	Limited(ctx context.Context, l auth.Limit, key string) (time.Duration, error)
	Failed(ctx context.Context, l auth.Limit, key string) error
}

// limitedToken is the token endpoint's entry: the address's limit checked
// before the request is looked at, and its failures counted after.
func (s *Server) limitedToken(w http.ResponseWriter, r *http.Request) {
	lim, ok := s.cfg.Auth.(limiter)
	if !ok {
		s.token(w, r)
		return
	}
	ip := s.clientIP(r)
	left, err := lim.Limited(r.Context(), TokenLimit, ip)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if left > 0 {
		secs := int64((left + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeJSON(w, http.StatusTooManyRequests, oerr("invalid_request",
			"too many failed token requests from this address; retry after "+strconv.FormatInt(secs, 10)+" seconds"))
		s.log.Warn("oauth token endpoint: address limited", "source", ip, "retry_after", secs)
		return
	}
	rec := &errorCapture{ResponseWriter: w}
	s.token(rec, r)
	if code := rec.oauthError(); code == "invalid_client" || code == "invalid_grant" {
		if err := lim.Failed(r.Context(), TokenLimit, ip); err != nil {
			s.log.Error("oauth token endpoint: counting a failure", "err", err)
		}
	}
}

// errorCapture passes a response through, keeping the status and the
// start of an error response's body.
type errorCapture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *errorCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *errorCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status >= 400 && c.body.Len() < 4096 {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// oauthError is the error code of a captured error response ("" for a
// success).
func (c *errorCapture) oauthError() string {
	if c.status < 400 {
		return ""
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(c.body.Bytes(), &e)
	return e.Error
}
