package dispatch

import (
	"testing"
	"time"

	"switchboard/internal/testutil"
)

// TestLeasingPausesWhileAllBreakersOpen: messages that arrive while every upstream's breaker
// is open stay in the queue untouched, instead of being leased and handed straight back;
// they are sent once the upstream recovers.
func TestLeasingPausesWhileAllBreakersOpen(t *testing.T) {
	s := newSink(t)
	s.down()
	cfg := testConfig(httpUpstream("only", s))
	// Long beside the few milliseconds between the pause and the late messages, so that
	// they arrive while the breaker is open on any machine; the test waits it out once.
	cfg.Breaker.OpenFor = ms(1500)
	cfg.Retry.MaxAttempts = 100
	h := start(t, cfg)
	first := h.send(20, nil)
	testutil.WaitFor(t, 5*time.Second, "the breaker to open", func() bool { return h.upstream("only").Breaker == "open" })
	// The lease loop pauses when it next looks, which is after its lease in progress (of
	// first-batch messages retried before the breaker opened) returns.
	paused := pausedLeasing.Get()
	testutil.WaitFor(t, 5*time.Second, "leasing to pause", func() bool { return pausedLeasing.Get() > paused })
	openUntil := time.Unix(0, h.d.cur().ups[0].openedAt.Load()).Add(cfg.Breaker.OpenFor.D())

	before := h.q.leaseCount()
	late := h.send(200, nil)
	if time.Now().After(openUntil) {
		t.Fatalf("the breaker's open period ended before the late messages were sent; raise OpenFor")
	}
	// The late messages are leased when the breaker lets a probe through, not before.
	testutil.WaitFor(t, 10*time.Second, "the late messages to be leased", func() bool { return h.q.leaseCount() > before })
	if at := h.q.leasedSince(before)[0]; at.Before(openUntil) {
		t.Fatalf("messages were leased %v before the breaker's open period ended", openUntil.Sub(at))
	}

	s.up()
	h.wait(append(first, late...), 20*time.Second)
}
