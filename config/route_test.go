package config

import (
	"testing"
)

// TestForeignFlow: check refuses a foreign_flow it does not know; the default is fail.
func TestForeignFlow(t *testing.T) {
	_, probs := parse(t, okTenants+okUpstreams+"routes:\n  - { name: r, upstreams: [sink], foreign_flow: drop }\n")
	if got := paths(probs); len(got) != 1 || got[0] != "routes[0].foreign_flow" {
		t.Errorf("problems at %q, want routes[0].foreign_flow", got)
	}
	c := mustParse(t, okFile)
	if c.Routes[0].ForeignFlow != "fail" {
		t.Errorf("route foreign_flow = %q, want fail", c.Routes[0].ForeignFlow)
	}
}
