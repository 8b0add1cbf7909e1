// Package metrics holds OpenChart's Prometheus instruments: HTTP request
// counts and latencies, and the timings of store operations. Instruments are
// registered on a registry the caller owns, so tests and several servers in
// one process never share global state.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Metrics is the set of instruments of one server.
type Metrics struct {
	Registry *prometheus.Registry
	Requests *prometheus.CounterVec   // route, method, code
	Latency  *prometheus.HistogramVec // route, method
	StoreOps *prometheus.HistogramVec // op, outcome
}

// New creates the instruments on a fresh registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openchart_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openchart_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		StoreOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openchart_store_operation_duration_seconds",
			Help:    "Store operation latency by operation and outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"op", "outcome"}),
	}
	reg.MustRegister(m.Requests, m.Latency, m.StoreOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Store wraps s so that every operation's latency is observed.
func (m *Metrics) Store(s store.Store) store.Store { return &timedStore{Store: s, h: m.StoreOps} }

type timedStore struct {
	store.Store
	h *prometheus.HistogramVec
}

func (t *timedStore) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		switch k := errs.KindOf(err); k {
		case errs.NotFound, errs.Gone, errs.Conflict:
			outcome = k.String()
		default:
			outcome = "error"
		}
	}
	t.h.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (t *timedStore) Read(ctx context.Context, typ, id string) (r *store.Record, err error) {
	defer t.observe("read", time.Now(), err)
	return t.Store.Read(ctx, typ, id)
}

func (t *timedStore) VRead(ctx context.Context, typ, id string, v int64) (r *store.Record, err error) {
	defer t.observe("vread", time.Now(), err)
	return t.Store.VRead(ctx, typ, id, v)
}

func (t *timedStore) History(ctx context.Context, q store.HistoryQuery) (p *store.HistoryPage, err error) {
	defer t.observe("history", time.Now(), err)
	return t.Store.History(ctx, q)
}

func (t *timedStore) Search(ctx context.Context, q *store.Query) (r *store.Result, err error) {
	defer t.observe("search", time.Now(), err)
	return t.Store.Search(ctx, q)
}

func (t *timedStore) InTx(ctx context.Context, fn func(store.Tx) error) (err error) {
	defer t.observe("transaction", time.Now(), err)
	return t.Store.InTx(ctx, fn)
}

// CommitAudit times the audit group commit of the store it wraps (op
// "audit commit"), or its InTx when that store commits audit entries no
// other way.
func (t *timedStore) CommitAudit(ctx context.Context, entries []*audit.Entry) (err error) {
	if _, ok := t.Store.(store.AuditCommitter); !ok {
		return store.CommitAuditInTx(ctx, t, entries) // timed as a transaction
	}
	defer t.observe("audit commit", time.Now(), err)
	return store.CommitAudit(ctx, t.Store, entries)
}
