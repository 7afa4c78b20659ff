package dispatch

import (
	"testing"
	"time"
)

// TestLeasingPausesWhileAllBreakersOpen: messages that arrive while every upstream's breaker
// is open stay in the queue untouched, instead of being leased and handed straight back;
// they are sent once the upstream recovers.
func TestLeasingPausesWhileAllBreakersOpen(t *testing.T) {
	s := newSink(t)
	s.down()
	cfg := testConfig(httpUpstream("only", s))
	cfg.Breaker.OpenFor = ms(1500)
	cfg.Retry.MaxAttempts = 100
	h := start(t, cfg)
	first := h.send(20, nil)
	eventually(t, 5*time.Second, "the breaker to open", func() bool { return h.upstream("only").Breaker == "open" })

	time.Sleep(100 * time.Millisecond) // let the leases of the first batch settle
	before := h.q.releases.Load()
	late := h.send(200, nil)
	time.Sleep(500 * time.Millisecond)
	if h.upstream("only").Breaker != "open" {
		t.Skip("the breaker left the open state early on a slow machine; nothing to measure")
	}
	if n := h.q.releases.Load() - before; n > 0 {
		t.Fatalf("%d messages were leased and released while every breaker was open", n)
	}

	s.up()
	h.wait(append(first, late...), 20*time.Second)
}
