package dispatch

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/internal/testutil"
)

// recorder makes s keep the text of the last message it took.
func recorder(s *sink) *atomic.Value {
	var last atomic.Value
	s.set(func(ctx *fasthttp.RequestCtx) {
		var m canonical.Message
		if json.Unmarshal(ctx.PostBody(), &m) == nil {
			last.Store(m.Text + "|" + string(m.Kind) + "|" + strings.Join(m.Buttons, ","))
		}
		ctx.SetBodyString(`{"id":"r"}`)
	})
	return &last
}

func TestDegradePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		status   canonical.Status
		upstream string
		body     string
		reason   string
	}{
		{"degrade", canonical.StatusSent, "plain", "Pay now?\n\n1. Yes\n2. No|text|", ""},
		{"next", canonical.StatusSent, "rich", "Pay now?|buttons|Yes,No", ""},
		{"fail", canonical.StatusFailed, "", "", "upstream plain cannot carry buttons"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			plain, rich := newSink(t), newSink(t)
			bodies := map[string]*atomic.Value{"plain": recorder(plain), "rich": recorder(rich)}
			cfg := testConfig(httpUpstream("plain", plain), httpUpstream("rich", rich))
			cfg.Routes[0].Degrade = tc.policy
			h := startWith(t, cfg, func(d *Dispatcher) { d.cur().ups[0].caps &^= needButtons })
			ids := h.send(1, func(m *canonical.Message) { m.Text, m.Buttons = "Pay now?", []string{"Yes", "No"} })
			r := h.wait(ids, 10*time.Second)[ids[0]]
			last := r.History[len(r.History)-1]
			if r.Msg.Status != tc.status || r.Msg.Upstream != tc.upstream || !strings.Contains(last.Reason, tc.reason) {
				t.Fatalf("message %+v, change %+v", r.Msg, last)
			}
			if tc.upstream != "" {
				if got, _ := bodies[tc.upstream].Load().(string); got != tc.body {
					t.Fatalf("%s got %q, want %q", tc.upstream, got, tc.body)
				}
			}
			// The queue keeps the message as it came: degrading is per attempt. (A finished
			// record is slim, without the buttons; its kind is still the one it came with.)
			if r.Msg.Kind != canonical.KindButtons {
				t.Fatalf("stored message changed: %+v", r.Msg)
			}
		})
	}
}

func TestLocalMediaFailsClearly(t *testing.T) {
	h := startWith(t, testConfig(httpUpstream("hook", newSink(t))), func(d *Dispatcher) { d.cur().ups[0].caps &^= needLocalMedia })
	ids := h.send(1, func(m *canonical.Message) { m.Media = []canonical.Media{{URL: `C:\files\a.pdf`, Local: true}} })
	r := h.wait(ids, 10*time.Second)[ids[0]]
	if last := r.History[len(r.History)-1]; r.Msg.Status != canonical.StatusFailed || !strings.Contains(last.Reason, "sender's own machine") {
		t.Fatalf("message %+v, change %+v", r.Msg, last)
	}
}

func TestMirrorNeverSlowsPrimary(t *testing.T) {
	const mirrorSleep = 2 * time.Second
	primary, shadow := newSink(t), newSink(t)
	shadow.hang(mirrorSleep)
	mirror := httpUpstream("shadow", shadow)
	mirror.Timeout, mirror.MaxConns = ms(5000), 4
	cfg := testConfig(httpUpstream("primary", primary), mirror)
	cfg.Routes[0].Upstreams = []string{"primary"}
	cfg.Routes[0].Mirror = "shadow"
	h := startWith(t, cfg, func(d *Dispatcher) {
		d.mirrorJobs, d.mirrorWorkers = make(chan mirrorJob, 16), 4
	})
	begin := time.Now()
	ids := h.send(300, nil)
	recs := h.wait(ids, 10*time.Second)
	// Had the primary waited for the mirror even once, this would take a mirror's sleep.
	if took := time.Since(begin); took >= mirrorSleep {
		t.Fatalf("primary took %v with a mirror sleeping %v", took, mirrorSleep)
	}
	if n := count(recs); n[canonical.StatusSent] != 300 {
		t.Fatalf("statuses %v", n)
	}
	for _, r := range recs {
		if r.Msg.Upstream != "primary" {
			t.Fatalf("message %+v", r.Msg)
		}
	}
	if st := h.upstream("shadow"); st.MirrorDropped < 250 || st.Sent != 0 {
		t.Fatalf("shadow %+v: copies beyond the mirror's capacity should be dropped, not counted as primary", st)
	}
	testutil.WaitFor(t, 10*time.Second, "a mirror copy sent", func() bool { return h.upstream("shadow").MirrorSent > 0 })
}

func TestRateLimitDelaysNotFails(t *testing.T) {
	cfg := testConfig(config.Upstream{Name: "box", Dialect: "sandbox", RatePerSecond: 40})
	h := start(t, cfg)
	begin := time.Now()
	ids := h.send(30, nil)
	recs := h.wait(ids, 10*time.Second)
	// 40/s with a burst of 4: the last of 30 goes out no sooner than 26/40 s after the first.
	if took := time.Since(begin); took < 550*time.Millisecond {
		t.Fatalf("30 messages at 40/s took only %v", took)
	}
	for _, r := range recs {
		if r.Msg.Status != canonical.StatusDelivered || r.Msg.Attempts != 1 {
			t.Fatalf("message %+v", r.Msg)
		}
	}
	if h.q.releases.Load() == 0 {
		t.Fatal("no message waited in the queue for the limiter")
	}
	if n := h.d.cur().ups[0].limiter.nHeld.Load(); n != 0 {
		t.Fatalf("%d reservations still held", n)
	}
}

func TestStopHandsBackUnsent(t *testing.T) {
	s := newSink(t)
	s.hang(300 * time.Millisecond)
	up := httpUpstream("slow", s)
	up.MaxConns = 2
	h := start(t, testConfig(up))
	ids := h.send(20, nil)
	testutil.WaitFor(t, 5*time.Second, "requests in flight", func() bool { return h.upstream("slow").InFlight == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.q.Stats(); st.InFlight != 0 {
		t.Fatalf("%d messages still leased after Stop", st.InFlight)
	}
	sent := 0
	for _, id := range ids {
		r, _ := h.q.Get(id)
		switch r.Msg.Status {
		case canonical.StatusSent:
			sent++
		case canonical.StatusQueued:
			if r.Msg.Attempts != 0 {
				t.Fatalf("handed back with an attempt: %+v", r.Msg)
			}
		default:
			t.Fatalf("after Stop: %+v", r.Msg)
		}
	}
	if sent < 2 || int64(sent) != s.hits.Load() {
		t.Fatalf("%d sent, sink hit %d times", sent, s.hits.Load())
	}
}
