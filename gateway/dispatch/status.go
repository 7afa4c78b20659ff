package dispatch

import (
	"fmt"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/adapters"
)

// Message outcomes across all upstreams, by what the dispatcher did with the message.
var (
	finishedSent     = metrics.NewCounter(`switchboard_dispatch_messages_total{result="sent"}`)
	finishedFailed   = metrics.NewCounter(`switchboard_dispatch_messages_total{result="failed"}`)
	finishedExpired  = metrics.NewCounter(`switchboard_dispatch_messages_total{result="expired"}`)
	finishedDead     = metrics.NewCounter(`switchboard_dispatch_messages_total{result="dead"}`)
	retriedMessages  = metrics.NewCounter(`switchboard_dispatch_messages_total{result="retry"}`)
	releasedMessages = metrics.NewCounter(`switchboard_dispatch_messages_total{result="released"}`)
	// pausedLeasing counts the times leasing paused because every breaker was open.
	pausedLeasing = metrics.NewCounter(`switchboard_dispatch_leasing_paused_total`)
	// bulkRequests counts the bulk requests sent (Wavy send-bulk-sms).
	bulkRequests     = metrics.NewCounter(`switchboard_upstream_bulk_requests_total`)
	queueErrorsTotal = metrics.NewCounter(`switchboard_dispatch_queue_errors_total`)
)

// UpstreamStatus is one upstream as the admin API shows it.
type UpstreamStatus struct {
	Name    string `json:"name"`
	Dialect string `json:"dialect"`
	// Breaker is closed, half-open or open.
	Breaker string `json:"breaker"`
	// Paused is set by the admin API's pause, until its resume.
	Paused   bool  `json:"paused"`
	InFlight int64 `json:"in_flight"`
	// Sent, Failed (permanent) and Retried count requests since the process started (or since
	// a reload changed this upstream's settings); Open counts messages the open breaker
	// turned away. The Prometheus counters of the same names are never reset by a reload.
	Sent    uint64 `json:"sent"`
	Failed  uint64 `json:"failed"`
	Retried uint64 `json:"retried"`
	Open    uint64 `json:"open"`
	// Mirror counts shadow copies: sent, failed (permanent or retry), dropped (saturated,
	// open, or not carriable).
	MirrorSent    uint64 `json:"mirror_sent"`
	MirrorFailed  uint64 `json:"mirror_failed"`
	MirrorDropped uint64 `json:"mirror_dropped"`
}

// Upstreams reports every upstream, in config order.
func (d *Dispatcher) Upstreams() []UpstreamStatus {
	ups := d.cur().ups
	out := make([]UpstreamStatus, len(ups))
	for i, u := range ups {
		out[i] = UpstreamStatus{
			Name:          u.name,
			Dialect:       u.dialect,
			Paused:        u.paused.Load(),
			Breaker:       u.breaker.State().String(),
			InFlight:      u.inFlight.Load(),
			Sent:          u.primary.sent.n.Load(),
			Failed:        u.primary.permanent.n.Load(),
			Retried:       u.primary.retry.n.Load(),
			Open:          u.primary.open.n.Load(),
			MirrorSent:    u.shadow.sent.n.Load(),
			MirrorFailed:  u.shadow.permanent.n.Load() + u.shadow.retry.n.Load(),
			MirrorDropped: u.shadow.dropped.n.Load() + u.shadow.open.n.Load(),
		}
	}
	return out
}

// counters count one kind of traffic (primary or mirror) to one upstream: for this
// dispatcher's admin view, and for /metrics, where they are process-wide.
type counters struct {
	sent, retry, permanent, open, dropped counter
}

type counter struct {
	n atomic.Uint64
	m *metrics.Counter
}

func (c *counter) inc() {
	c.n.Add(1)
	if c.m != nil {
		c.m.Inc()
	}
}

// init names c's metrics; only mirror traffic is ever dropped.
func (c *counters) init(metric, upstream string, mirror bool) {
	all := []struct {
		c       *counter
		outcome string
	}{{&c.sent, "sent"}, {&c.retry, "retry"}, {&c.permanent, "permanent"}, {&c.open, "open"}, {&c.dropped, "dropped"}}
	if !mirror {
		all = all[:4]
	}
	for _, x := range all {
		x.c.m = metrics.GetOrCreateCounter(fmt.Sprintf("%s{upstream=%q,outcome=%q}", metric, upstream, x.outcome))
	}
}

func (c *counters) outcome(o adapters.Outcome) {
	switch o {
	case adapters.Sent:
		c.sent.inc()
	case adapters.Permanent:
		c.permanent.inc()
	default:
		c.retry.inc()
	}
}
