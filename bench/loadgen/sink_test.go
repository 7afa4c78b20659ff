package loadgen

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/internal/testutil"
)

// fakeGateway accepts native requests and, after delay, posts each message to
// the sink as canonical JSON, the way the gateway's http upstream does.
// Every tenth message is delivered twice (at-least-once).
type fakeGateway struct {
	sink  string
	delay time.Duration
	// inline delivers before answering, so every message arrives during the load.
	inline bool
	n      atomic.Int64
	wg     sync.WaitGroup
}

func (f *fakeGateway) handle(ctx *fasthttp.RequestCtx) {
	var in struct{ To, Text string }
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		ctx.SetStatusCode(400)
		return
	}
	k := f.n.Add(1)
	f.wg.Add(1)
	deliver := func() {
		defer f.wg.Done()
		time.Sleep(f.delay)
		if k == 1 {
			// Before any delivery of the run: a message left from another
			// run and a body without a marker.
			f.post([]byte(`{"text":"sbt=00000000.1.1 old message"}`))
			f.post([]byte(`{"text":"no marker"}`))
		}
		out, _ := json.Marshal(map[string]any{"id": "x", "to": in.To, "text": in.Text, "dialect": "native"})
		f.post(out)
		if k%10 == 0 {
			f.post(out)
		}
	}
	if f.inline {
		deliver()
	} else {
		go deliver()
	}
	ctx.SetStatusCode(202)
	ctx.SetBodyString(`{"id":"x","status":"queued"}`)
}

func (f *fakeGateway) post(body []byte) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + f.sink + "/messages")
	req.SetBody(body)
	_ = fasthttp.DoTimeout(req, resp, 5*time.Second)
}

func TestSinkMeasuresDelivery(t *testing.T) {
	f := &fakeGateway{sink: testutil.Addr(t), delay: 30 * time.Millisecond}
	base := serve(t, f.handle)
	r, err := Run(context.Background(), Options{
		Target: base, Connections: 4, Requests: 200, Duration: 10 * time.Second,
		Sink: f.sink, Drain: 5 * time.Second,
	})
	f.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	d := r.Delivery
	if d == nil {
		t.Fatal("no delivery report")
	}
	if r.OK != 200 || d.Unique != 200 || d.Ratio != 1 {
		t.Errorf("ok %d, delivered %d, ratio %v; want 200, 200, 1", r.OK, d.Unique, d.Ratio)
	}
	if d.Foreign != 1 || d.Unmarked != 1 {
		t.Errorf("foreign %d unmarked %d, want 1 and 1", d.Foreign, d.Unmarked)
	}
	// Duplicates are posted right after the first copy: some may still be in
	// flight when the drain ends, none may be counted as unique.
	if d.Duplicates > 20 {
		t.Errorf("duplicates %d, want at most 20", d.Duplicates)
	}
	if d.Latency.P50Ms < 30 || d.Latency.Count != 200 {
		t.Errorf("delivery latency %+v; want 200 samples, p50 >= the injected 30ms", d.Latency)
	}
	if d.PerSec <= 0 || d.LastSec <= 0 {
		t.Errorf("rate %v over %vs", d.PerSec, d.LastSec)
	}
}

// InLoad counts what arrived before the load ended: everything when the gateway
// delivers before answering, nothing when it holds deliveries past the load.
func TestSinkCountsDeliveriesDuringTheLoad(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      *fakeGateway
		inLoad int64
	}{
		{"inline", &fakeGateway{inline: true}, 200},
		{"held", &fakeGateway{delay: 3 * time.Second}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.sink = testutil.Addr(t)
			base := serve(t, tc.f.handle)
			r, err := Run(context.Background(), Options{
				Target: base, Connections: 4, Requests: 200, Duration: 10 * time.Second,
				Sink: tc.f.sink, Drain: 15 * time.Second,
			})
			tc.f.wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			d := r.Delivery
			if d.Unique != 200 || d.InLoad != tc.inLoad {
				t.Fatalf("delivered %d, %d during the load; want 200 and %d", d.Unique, d.InLoad, tc.inLoad)
			}
			if want := float64(tc.inLoad) / r.ElapsedSec; !within(d.InLoadPerSec, want, 0.001) {
				t.Errorf("in-load rate %v, want %v", d.InLoadPerSec, want)
			}
		})
	}
}
