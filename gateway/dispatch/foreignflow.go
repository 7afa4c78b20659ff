package dispatch

import (
	"github.com/VictoriaMetrics/metrics"

	"switchboard/adapters/native"
	"switchboard/canonical"
)

var (
	// notCarried counts messages failed because no upstream of their route could carry
	// what they hold (under the route's degrade policy), another vendor's flow among them.
	notCarried = metrics.NewCounter(`switchboard_dispatch_not_carried_total`)
	// flowsLeftOut counts requests that went without the message's flow, another vendor's,
	// as its text alone (route foreign_flow: text).
	flowsLeftOut = metrics.NewCounter(`switchboard_dispatch_flows_left_out_total`)
)

// foreignFlow reports whether m names a flow of another vendor than u's: flow ids are a
// vendor's own (FlowBot cannot run a Wavy flow, nor Wavy a FlowBot one). A native client's
// flow id is taken as meant for the upstream it goes to; a template sent through a flow is
// carried as the template.
func foreignFlow(m *canonical.Message, u *upstream) bool {
	return m.FlowID != "" && m.Template == nil && m.Dialect != "" && m.Dialect != u.dialect && m.Dialect != native.Dialect
}
