package config

import (
	"slices"
	"testing"
)

// TestFlowBotFlowsAndForeignFlow: check refuses a legacy flow without its mode's secret, an
// unknown mode, one flow held by two tenants, and a foreign_flow it does not know; the
// defaults are no vendor limits and foreign_flow fail.
func TestFlowBotFlowsAndForeignFlow(t *testing.T) {
	src := okUpstreams + `routes:
  - { name: r, upstreams: [sink], foreign_flow: drop }
flowbot: { jwt_secret: 0123456789abcdef }
tenants:
  - id: a
    flowbot:
      client_id: ca
      api_key: ka
      flows:
        - { id: f1, auth: basic, secret: s }
        - { id: f2, auth: none, secret: s }
        - { id: f3, auth: bearer }
  - id: b
    flowbot:
      client_id: cb
      api_key: kb
      flows: [{ id: f1, auth: api_key, secret: s2 }]
`
	_, probs := parse(t, src)
	want := []string{"tenants[0].flowbot.flows[0].username", "tenants[0].flowbot.flows[1].auth", "tenants[0].flowbot.flows[2].secret",
		"tenants[1].flowbot.flows[0].id", "routes[0].foreign_flow"}
	got := paths(probs)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no problem at %s: %v", w, probs)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems at %q, want %q", got, want)
	}

	c, probs := parse(t, okFile+"flowbot: { jwt_secret: 0123456789abcdef }\n")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if c.Routes[0].ForeignFlow != "fail" {
		t.Errorf("route foreign_flow = %q, want fail", c.Routes[0].ForeignFlow)
	}
}
