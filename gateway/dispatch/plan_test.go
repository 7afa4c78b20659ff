package dispatch

import (
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"switchboard/config"
	"switchboard/internal/testutil"
)

// TestApplyKeepsUnchangedUpstreams: a reload that changes one upstream and removes another
// keeps the unchanged one as it was (the same breaker, state and counters), rebuilds the
// changed one, and sends new messages by the new routes.
func TestApplyKeepsUnchangedUpstreams(t *testing.T) {
	a, b, c := newSink(t), newSink(t), newSink(t)
	cfg := testConfig(httpUpstream("a", a), httpUpstream("b", b), httpUpstream("c", c))
	cfg.Routes[0].Upstreams = []string{"a"}
	h := start(t, cfg)
	h.wait(h.send(10, nil), 10*time.Second)
	keptA, oldB := h.d.cur().ups[0], h.d.cur().ups[1]

	next := testConfig(httpUpstream("a", a), httpUpstream("b", b))
	next.Upstreams[1].MaxConns = 4 // b changes; c goes
	next.Routes[0].Upstreams = []string{"b"}
	ch, err := h.d.Apply(SettingsOf(next))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Kept) != 1 || ch.Kept[0] != "a" || len(ch.Changed) != 1 || ch.Changed[0] != "b" ||
		len(ch.Removed) != 1 || ch.Removed[0] != "c" || len(ch.Added) != 0 {
		t.Fatalf("changes: %+v", ch)
	}
	p := h.d.cur()
	if p.ups[0] != keptA || p.ups[1] == oldB {
		t.Fatal("the unchanged upstream was rebuilt, or the changed one kept")
	}
	if got := h.upstream("a").Sent; got != 10 {
		t.Fatalf("upstream a's counter after reload: %d, want 10", got)
	}
	if !oldB.isRetired() {
		t.Fatal("the replaced upstream b was not retired")
	}
	before := b.hits.Load()
	h.wait(h.send(10, nil), 10*time.Second)
	if n := b.hits.Load() - before; n != 10 {
		t.Fatalf("b got %d of 10 messages sent after the reload", n)
	}
}

// TestRetiredUpstreamHandsBackWaiters: messages waiting for a connection of an upstream a
// reload removes go back to the queue at once and are sent by the new route.
func TestRetiredUpstreamHandsBackWaiters(t *testing.T) {
	slow, fast := newSink(t), newSink(t)
	slow.hang(1500 * time.Millisecond)
	up := httpUpstream("slow", slow)
	up.MaxConns, up.Timeout = 1, ms(5000)
	cfg := testConfig(up, httpUpstream("fast", fast))
	cfg.Routes[0].Upstreams = []string{"slow"}
	h := start(t, cfg)
	ids := h.send(5, nil)
	testutil.WaitFor(t, 5*time.Second, "a send in flight to slow", func() bool { return h.upstream("slow").InFlight == 1 })

	next := testConfig(httpUpstream("fast", fast))
	if _, err := h.d.Apply(SettingsOf(next)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	recs := h.wait(ids, 10*time.Second)
	if n := count(recs)["sent"]; n != 5 {
		t.Fatalf("sent: %d of 5", n)
	}
	// The four waiting for slow's one connection were handed back, not kept for its timeout.
	if fast.hits.Load() < 4 {
		t.Fatalf("fast got %d messages, want the 4 that waited for slow", fast.hits.Load())
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the waiters took %v to move", took)
	}
}

// TestPauseFailsOverAndSurvivesApply: a paused upstream is passed over like an open breaker
// (its messages go to the next upstream of the route), stays paused across a reload, and
// takes messages again once resumed.
func TestPauseFailsOverAndSurvivesApply(t *testing.T) {
	first, second := newSink(t), newSink(t)
	cfg := testConfig(httpUpstream("first", first), httpUpstream("second", second))
	h := start(t, cfg)
	if err := h.d.Pause("first"); err != nil {
		t.Fatal(err)
	}
	if err := h.d.Pause("nope"); err != ErrNoUpstream {
		t.Fatalf("pausing an unknown upstream: %v", err)
	}
	h.wait(h.send(10, nil), 10*time.Second)
	if first.hits.Load() != 0 || second.hits.Load() != 10 {
		t.Fatalf("paused first got %d, second %d", first.hits.Load(), second.hits.Load())
	}
	next := testConfig(httpUpstream("first", first), httpUpstream("second", second))
	next.Upstreams[0].MaxConns = 2 // rebuilt, and still paused
	if _, err := h.d.Apply(SettingsOf(next)); err != nil {
		t.Fatal(err)
	}
	if !h.upstream("first").Paused {
		t.Fatal("the pause did not survive the reload")
	}
	h.wait(h.send(10, nil), 10*time.Second)
	if first.hits.Load() != 0 {
		t.Fatalf("paused first got %d after the reload", first.hits.Load())
	}
	if err := h.d.Resume("first"); err != nil {
		t.Fatal(err)
	}
	h.wait(h.send(10, nil), 10*time.Second)
	if first.hits.Load() != 10 {
		t.Fatalf("resumed first got %d of 10", first.hits.Load())
	}
	if st := h.d.cur().ups[0].breaker.State(); st != gobreaker.StateClosed {
		t.Fatalf("breaker %v", st)
	}
}

// TestApplyStartsWhatTheNewPlanNeeds: a reload that adds a mirror and more connections
// starts the mirror senders and more senders.
func TestApplyStartsWhatTheNewPlanNeeds(t *testing.T) {
	main, shadow := newSink(t), newSink(t)
	cfg := testConfig(httpUpstream("main", main))
	h := start(t, cfg)
	next := testConfig(httpUpstream("main", main), httpUpstream("shadow", shadow))
	next.Routes = []config.Route{{Name: "default", Upstreams: []string{"main"}, Mirror: "shadow"}}
	if _, err := h.d.Apply(SettingsOf(next)); err != nil {
		t.Fatal(err)
	}
	h.wait(h.send(5, nil), 10*time.Second)
	testutil.WaitFor(t, 5*time.Second, "the mirror to get its copies", func() bool { return shadow.hits.Load() == 5 })
	if want := 16 * sendersPerConn; h.d.workers != want {
		t.Fatalf("senders after the reload: %d, want %d", h.d.workers, want)
	}
}
