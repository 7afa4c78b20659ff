package dispatch

import (
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
)

// finishedOptedOut counts messages failed because their recipient opted out; they are
// counted as failed too.
var finishedOptedOut = metrics.NewCounter(`switchboard_dispatch_messages_total{result="opted_out"}`)

// WithOptOut gives the dispatcher the tenants' opt-out lists: a message to a number on its
// tenant's list fails at once (canonical.CodeOptedOut) and reaches no upstream. blocked is
// called for every message leased, so it must be quick and safe for concurrent use.
func WithOptOut(blocked func(tenant, to string) bool) Option {
	return func(d *Dispatcher) { d.optedOut = blocked }
}

// refuseOptedOut fails m when its recipient is on its tenant's opt-out list.
func (d *Dispatcher) refuseOptedOut(m *canonical.Message, now time.Time) bool {
	if d.optedOut == nil || !d.optedOut(m.Tenant, m.To) {
		return false
	}
	finishedOptedOut.Inc()
	m.LastError = "the recipient opted out of the tenant's messages"
	d.finish(m, canonical.Change{Status: canonical.StatusFailed, At: now, Code: canonical.CodeOptedOut, Reason: m.LastError})
	return true
}
