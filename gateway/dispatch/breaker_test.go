package dispatch

import (
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/internal/testutil"
)

func TestBreakerFailoverAndRecovery(t *testing.T) {
	a, b := newSink(t), newSink(t)
	a.answer(503, "overloaded")
	cfg := testConfig(httpUpstream("a", a), httpUpstream("b", b))
	cfg.Breaker.OpenFor = ms(1000)
	h := start(t, cfg)

	ids := h.send(100, nil)
	for id, r := range h.wait(ids, 10*time.Second) {
		// a 503 moves on to the next upstream in the same attempt: nothing lost, nothing delayed.
		if r.Msg.Status != canonical.StatusSent || r.Msg.Upstream != "b" || r.Msg.Attempts != 1 {
			t.Fatalf("message %s: %+v", id, r.Msg)
		}
	}
	st := h.upstream("a")
	if st.Breaker != "open" || st.Open == 0 || st.Retried < 3 || a.hits.Load() >= 100 {
		t.Fatalf("a: %+v, hits %d: breaker should have opened and turned traffic away", st, a.hits.Load())
	}

	a.answer(200, "")
	testutil.WaitFor(t, 5*time.Second, "a half-open", func() bool { return h.upstream("a").Breaker == "half-open" })
	viaA := 0
	for round := 0; round < 20 && (viaA == 0 || h.upstream("a").Breaker != "closed"); round++ {
		for _, r := range h.wait(h.send(10, nil), 10*time.Second) {
			if r.Msg.Upstream == "a" {
				viaA++
			}
		}
	}
	if st := h.upstream("a"); st.Breaker != "closed" || viaA == 0 {
		t.Fatalf("after recovery: %+v, %d messages via a", st, viaA)
	}
}

func TestAllDownWaitsThenDrains(t *testing.T) {
	s := newSink(t)
	s.down()
	cfg := testConfig(httpUpstream("sink", s))
	h := start(t, cfg)
	ids := h.send(30, nil)
	// Waiting behind an open breaker is not an attempt: over three open periods (300 ms each)
	// a message waits through, only the one probe
	// that each half-open breaker lets through is an attempt, so none may be final yet, and
	// the attempts recorded are no more than the requests that went out.
	testutil.WaitFor(t, 15*time.Second, "the breaker to open", func() bool { return h.upstream("sink").Breaker == "open" })
	tried := h.upstream("sink").Retried
	testutil.WaitFor(t, 15*time.Second, "three half-open probes", func() bool { return h.upstream("sink").Retried >= tried+3 })
	attempts := 0
	for _, id := range ids {
		r, err := h.q.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Msg.Status.Final() {
			t.Fatalf("message final while every upstream is down: %+v", r.Msg)
		}
		attempts += r.Msg.Attempts
	}
	// Read after the records: a request counts before its attempt is stored.
	if sent := h.upstream("sink").Retried; uint64(attempts) > sent {
		t.Fatalf("%d attempts recorded for %d requests sent: waiting behind the open breaker counted", attempts, sent)
	}
	s.up()
	// Every message is sent once the upstream is back, none dead-lettered. The failed probe
	// is retried sooner than the breaker's open period, so the same message tends to be the
	// next probe too: it may be sent on its last attempt, never past it.
	for id, r := range h.wait(ids, 10*time.Second) {
		if r.Msg.Status != canonical.StatusSent || r.Msg.Attempts > cfg.Retry.MaxAttempts {
			t.Fatalf("message %s: %+v", id, r.Msg)
		}
	}
}

func TestBreakerTripsOnRatio(t *testing.T) {
	s := SettingsOf(&config.Config{Breaker: config.Breaker{ConsecutiveFailures: 3, FailureRatio: 0.5, MinRequests: 10,
		Window: ms(60000), OpenFor: ms(60000)}, Upstreams: []config.Upstream{{Name: "x"}}})
	cb := newBreaker("x", *s.Upstreams[0].Breaker, func(_, _ gobreaker.State) {})
	outcomes := []error{nil, errRetry, errPermanent, errRetry, nil, errRetry, errNotSent, errRetry, errPermanent, errRetry, errRetry}
	for i, err := range outcomes {
		done, aerr := cb.Allow()
		if aerr != nil {
			t.Fatalf("request %d refused: %v", i, aerr)
		}
		done(err)
	}
	// 10 counted (one excluded), 6 failures, never 3 in a row: the ratio trips it.
	if st := cb.State(); st != gobreaker.StateOpen {
		t.Fatalf("state %v after %v", st, cb.Counts())
	}
	if _, err := cb.Allow(); err != gobreaker.ErrOpenState {
		t.Fatalf("open breaker allowed a request: %v", err)
	}
}
