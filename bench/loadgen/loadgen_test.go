package loadgen

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/bench/marker"
	"switchboard/internal/testutil"
)

func TestOpenLoopHoldsTheRate(t *testing.T) {
	var mu sync.Mutex
	sent := map[uint64]int64{} // seq -> send time the generator stamped in the text
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		if m, ok := marker.Find(ctx.PostBody()); ok {
			mu.Lock()
			sent[m.Seq] = m.SentNs
			mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	})
	r, err := Run(context.Background(), Options{Target: base, Rate: 500, Duration: 2 * time.Second, Connections: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !within(float64(len(sent)), 1000, 0.05) || !within(float64(r.Requests), 1000, 0.05) || r.Errors != 0 {
		t.Errorf("server saw %d, report says %d requests and %d errors; want 1000 ±5%% and 0", len(sent), r.Requests, r.Errors)
	}
	// Request k is intended at start + k*2ms. It must never leave earlier,
	// and the schedule must not drift: a scheduler sleeping 2ms per request
	// would end >1s late. A starved CPU delays requests (the delay then
	// counts in their latency), so lateness bounds are generous.
	start := r.Started.UnixNano()
	var late []time.Duration
	for seq, ns := range sent {
		intended := start + int64(seq)*int64(2*time.Millisecond)
		if ns < intended-int64(time.Millisecond) {
			t.Fatalf("request %d sent %s before its intended time", seq, time.Duration(intended-ns))
		}
		late = append(late, time.Duration(ns-intended))
	}
	slices.Sort(late)
	if med := late[len(late)/2]; med > 200*time.Millisecond {
		t.Errorf("median request left %s after its intended time, want < 200ms", med)
	}
	if r.ElapsedSec < 1.998 || r.ElapsedSec > 2.5 {
		t.Errorf("run took %.3fs, want 2s", r.ElapsedSec)
	}
	if r.Latency.P50Ms < 1 {
		t.Errorf("p50 %.3fms is below the injected 1ms", r.Latency.P50Ms)
	}
	if len(r.Timeline) < 2 {
		t.Errorf("timeline has %d entries, want one per second", len(r.Timeline))
	}
}

// One 500ms server stall at 200 req/s: the 100 requests intended during the
// stall are late by 500ms down to 0ms, so about 50 exceed 250ms. A closed
// loop stops sending while it waits and records only the requests in flight.
func TestCoordinatedOmissionCorrection(t *testing.T) {
	const stall = 500 * time.Millisecond
	open := &stallServer{stallAt: 100, stallFor: stall}
	ro, err := Run(context.Background(), Options{Target: serve(t, open.handle), Rate: 200, Duration: 2 * time.Second, Connections: 16})
	if err != nil {
		t.Fatal(err)
	}
	closed := &stallServer{stallAt: 100, stallFor: stall}
	rc, err := Run(context.Background(), Options{Target: serve(t, closed.handle), Connections: 4, Requests: 2000, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ro.OK != 400 || rc.OK != 2000 {
		t.Fatalf("ok: open %d (want 400), closed %d (want 2000)", ro.OK, rc.OK)
	}
	o250, o50 := ro.CountAbove(250*time.Millisecond), ro.CountAbove(50*time.Millisecond)
	t.Logf("open: >250ms %d, >50ms %d, latency %+v, service %+v", o250, o50, ro.Latency, ro.Service)
	t.Logf("closed: >250ms %d, latency %+v", rc.CountAbove(250*time.Millisecond), rc.Latency)
	// A busy machine adds stalls of its own, which only add slow requests
	// (more in the open loop, as they should): the bounds are one-sided
	// where noise can push, and the comparison is a ratio.
	if o250 < 40 || o50 < 80 || o50 > 300 {
		t.Errorf("open loop: %d requests > 250ms (want ~50), %d > 50ms (want ~90)", o250, o50)
	}
	c250 := rc.CountAbove(250 * time.Millisecond)
	if c250 < 1 || c250 > 12 {
		t.Errorf("closed loop: %d requests > 250ms, want ~4 (one per connection) against the open loop's %d", c250, o250)
	}
	if ro.Latency.P99Ms < 300 || rc.Latency.P99Ms > ro.Latency.P99Ms/3 {
		t.Errorf("p99: open %.1fms (want > 300), closed %.1fms (want far below)", ro.Latency.P99Ms, rc.Latency.P99Ms)
	}
	// Service time (from the actual send) hides most of the stall, as a
	// closed loop would: fewer slow requests than the corrected latency.
	if ro.Service == nil || ro.Service.P90Ms >= ro.Latency.P90Ms {
		t.Errorf("service %+v should be below latency %+v", ro.Service, ro.Latency)
	}
}

func TestErrorsByStatus(t *testing.T) {
	var n atomic.Int64
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch n.Add(1) % 10 {
		case 3:
			ctx.SetStatusCode(500)
		case 7:
			ctx.SetStatusCode(429)
		}
	})
	r, err := Run(context.Background(), Options{Target: base, Connections: 2, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 200 || r.OK != 160 || r.Errors != 40 || r.Latency.Count != 160 {
		t.Errorf("requests %d ok %d errors %d timed %d; want 200, 160, 40, 160", r.Requests, r.OK, r.Errors, r.Latency.Count)
	}
	if r.ErrorsByStatus["500"] != 20 || r.ErrorsByStatus["429"] != 20 || r.Status["200"] != 160 || len(r.ErrorsByReason) != 0 {
		t.Errorf("by status %v, all %v, by reason %v", r.ErrorsByStatus, r.Status, r.ErrorsByReason)
	}
}

func TestErrorsByReason(t *testing.T) {
	// The server answers nothing until the test ends: every request outlives its timeout.
	hold := make(chan struct{})
	slow := serve(t, func(ctx *fasthttp.RequestCtx) { <-hold })
	t.Cleanup(func() { close(hold) })
	r, err := Run(context.Background(), Options{Target: slow, Connections: 3, Requests: 3, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.ErrorsByReason["timeout"] != 3 || r.OK != 0 {
		t.Errorf("timeouts: %v ok %d, want 3 timeouts", r.ErrorsByReason, r.OK)
	}
	r, err = Run(context.Background(), Options{Target: "http://" + testutil.Addr(t), Connections: 2, Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if r.ErrorsByReason["conn_refused"] != 5 || r.Errors != 5 {
		t.Errorf("refused: %v errors %d, want 5 conn_refused", r.ErrorsByReason, r.Errors)
	}
}

func TestRefusesRemoteTargets(t *testing.T) {
	for _, o := range []Options{
		{Target: "http://192.0.2.10:8080"},
		{Target: "https://api-messaging.wavy.global"},
		{Target: "http://127.0.0.1:8080", Sink: "0.0.0.0:9000"},
		{Target: "http://127.0.0.1:8080", Sink: ":9000"},
	} {
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), "allow-remote") && !strings.Contains(err.Error(), "host is required") {
			t.Errorf("%s sink %q: got %v, want a refusal", o.Target, o.Sink, err)
		}
	}
	for _, target := range []string{"http://localhost:1", "http://127.0.0.2:1", "http://[::1]:1"} {
		if err := (Options{Target: target}).withDefaults().validate(); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	if err := (Options{Target: "http://192.0.2.10:8080", AllowRemote: true}).withDefaults().validate(); err != nil {
		t.Errorf("with AllowRemote: %v", err)
	}
	if _, err := Run(context.Background(), Options{Target: "http://127.0.0.1:1", Dialect: "telegram"}); err == nil {
		t.Error("unknown dialect accepted")
	}
}

func TestCancelEndsRunEarly(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) {})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	r, err := Run(ctx, Options{Target: base, Rate: 100, Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 3*time.Second || !r.Interrupted || r.Unsent != 0 {
		t.Errorf("took %s, interrupted %v, unsent %d", took, r.Interrupted, r.Unsent)
	}
}
