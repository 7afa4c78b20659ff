package dispatch

import (
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/gateway/compare"
	"switchboard/gateway/queue"
)

// Recorder is where the dispatcher counts what each upstream did with what it was sent, for
// the migration page, the metrics and the matching of receipts (mirror copies' included).
func (d *Dispatcher) Recorder() *compare.Recorder { return d.rec }

// armOf says how the i-th upstream of r's order for a message came to carry it.
func (r *route) armOf(i int) compare.Arm {
	switch {
	case i > 0:
		return compare.ArmFailover
	case r.totalWeight > 0:
		return compare.ArmSplit
	}
	return compare.ArmPrimary
}

func (d *Dispatcher) series(r *route, u *upstream, arm compare.Arm) *compare.Series {
	return d.rec.Series(compare.Key{Route: r.name, Upstream: u.name, Arm: arm})
}

// declareSeries creates every series the plan's routes can feed, so that their metrics are
// exposed (at zero) from the start, and from a reload for routes it adds.
func (d *Dispatcher) declareSeries(p *plan) {
	for _, r := range p.routes {
		orders := [][]*upstream{r.failover}
		for _, st := range r.split {
			orders = append(orders, st.order)
		}
		for _, order := range orders {
			for i, u := range order {
				d.series(r, u, r.armOf(i))
			}
		}
		if r.mirror != nil {
			d.series(r, r.mirror, compare.ArmMirror)
		}
	}
}

// observe counts an upstream's answer to m (enqueued at enqueued; for a mirror copy, when it
// was queued for the mirror) and logs a refusal.
func (d *Dispatcher) observe(s *compare.Series, u *upstream, m *canonical.Message, enqueued time.Time, res *adapters.Result, mirror bool) {
	switch res.Outcome {
	case adapters.Sent:
		s.Accepted(enqueued, m.ID, res.UpstreamID)
		if res.Status != "" && res.Status != canonical.StatusSent {
			// An upstream that delivers in-process (sandbox) answers with the final status:
			// that answer is its receipt, so its delivery is compared as a vendor's is.
			d.rec.Receipt(u.name, m.ID, res.UpstreamID, res.Status, "", "")
		}
	case adapters.Permanent:
		s.Refused(res.Code, res.Reason)
		if !mirror {
			d.log.Warn("permanent failure", "id", m.ID, "tenant", m.Tenant, "upstream", u.name, "code", res.Code, "reason", res.Reason)
		}
	default:
		s.Retried(res.Code, res.Reason)
	}
}

// oldestReady is the dispatcher whose queue the age gauge reports: the last one started.
var oldestReady atomic.Pointer[Dispatcher]

var _ = metrics.NewGauge(`switchboard_queue_oldest_ready_age_seconds`, func() float64 {
	if d := oldestReady.Load(); d != nil {
		return d.oldestReadyAge(time.Now()).Seconds()
	}
	return 0
})

// noteLeased keeps when the last message leased became due. The ready messages are leased
// in the order they became due, so the oldest still waiting became due no earlier: the age
// is an upper bound, exact while leasing keeps up. A retried message's due time is not
// known here; it is left out.
func (d *Dispatcher) noteLeased(msgs []*canonical.Message) {
	var due int64
	for _, m := range msgs {
		if m.Attempts == 0 {
			due = max(due, m.CreatedAt.UnixNano(), m.NotBefore.UnixNano())
		}
	}
	if due > 0 {
		d.lastDue.Store(due)
	}
}

// oldestReadyAge is the age of the oldest ready message: the backend's own figure where it
// keeps one (Badger), else the estimate of noteLeased; 0 when none is ready.
func (d *Dispatcher) oldestReadyAge(now time.Time) time.Duration {
	if ra, ok := d.q.(queue.ReadyAge); ok {
		return ra.OldestReadyAge()
	}
	if d.q.Stats().Ready == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, d.lastDue.Load())), 0)
}
