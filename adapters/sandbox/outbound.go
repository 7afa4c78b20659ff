// Package sandbox is the built-in upstream that delivers in-process: every message it is
// given is delivered at once. It serves the default config, demos and tests.
//
// It must never do I/O or keep state: it stands in for a vendor, it is not one.
package sandbox

import (
	"switchboard/adapters"
	"switchboard/canonical"
)

// Local delivers every message it is given.
type Local struct{}

// New returns the sandbox upstream. It takes no URL or credentials.
func New(adapters.UpstreamConfig) (adapters.Local, error) {
	return Local{}, nil
}

// Caps says the sandbox carries everything.
func (Local) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Media: true, LocalMedia: true, Buttons: true, List: true,
		Template: true, Flash: true, Flow: true, ForeignFlow: true}
}

// Deliver reports m delivered, with an upstream id derived from its id.
func (Local) Deliver(m *canonical.Message) adapters.Result {
	return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusDelivered, UpstreamID: "sandbox-" + m.ID}
}

var _ adapters.Local = Local{}
