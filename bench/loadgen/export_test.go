package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"switchboard/bench/sim"
)

// The .hlog holds one histogram a second that HdrHistogram's log reader
// reads back, in nanoseconds, adding up to the run's 2xx answers.
func TestHlogReadsBack(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(2 * time.Millisecond) })
	r, err := Run(context.Background(), Options{Target: base, Rate: 200, Duration: 1500 * time.Millisecond, Connections: 8})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteHlog(&buf); err != nil {
		t.Fatal(err)
	}
	lr := hdrhistogram.NewHistogramLogReader(&buf)
	var total int64
	var intervals int
	merged := hdrhistogram.New(1000, hlogMaxNs, histDigits)
	for {
		h, err := lr.NextIntervalHistogram()
		if errors.Is(err, io.EOF) || h == nil && err == nil {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		intervals++
		total += h.TotalCount()
		merged.Merge(h)
	}
	if total != r.OK || intervals != len(r.Timeline) {
		t.Errorf("log holds %d values in %d intervals, want %d in %d", total, intervals, r.OK, len(r.Timeline))
	}
	if p50 := float64(merged.ValueAtQuantile(50)) / 1e6; !within(p50, r.Latency.P50Ms, 0.01) {
		t.Errorf("log p50 %vms, report p50 %vms", p50, r.Latency.P50Ms)
	}
	if err := (&Report{}).WriteHlog(io.Discard); err == nil {
		t.Error("a report read back from JSON wrote an empty log")
	}
}

// -max-rate: a target neither loopback nor a simulator needs it, and nothing
// above it is sent anywhere.
func TestMaxRate(t *testing.T) {
	remote := Options{Target: "http://192.0.2.10:8080", AllowRemote: true, Timeout: 200 * time.Millisecond}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{with(remote, func(o *Options) { o.Rate = 100 }), "give -max-rate"},
		{with(remote, func(o *Options) { o.MaxRate = 50 }), "a closed loop has no rate bound"},
		{with(remote, func(o *Options) { o.Rate, o.MaxRate = 100, 50 }), "asks up to 100 requests/s, above -max-rate 50"},
		{Options{Target: "http://127.0.0.1:1", Steps: []float64{10, 400}, MaxRate: 300}, "asks up to 400 requests/s, above -max-rate 300"},
	} {
		_, err := Run(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.o, err, tc.want)
		}
	}
	// A simulator says so at /_sim/stats; a gateway does not.
	simBase := startSimulator(t, 0)
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(simBase, "http://")}
	if !isSimulator(hc, Options{Target: simBase, Timeout: time.Second}) {
		t.Error("the simulator was not recognised")
	}
	base := serve(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"accepted":1}`) })
	if isSimulator(&fasthttp.HostClient{Addr: strings.TrimPrefix(base, "http://")}, Options{Target: base, Timeout: time.Second}) {
		t.Error("a server without the simulator's stats was taken for one")
	}
}

func with(o Options, f func(*Options)) Options { f(&o); return o }

// Behind a gateway with two upstreams, the simulators tell the run which one
// was slow.
func TestUpstreamBreakdown(t *testing.T) {
	fast, slow := startSimulator(t, 0), startSimulator(t, 40*time.Millisecond)
	// The gateway stand-in forwards each native request, as Wavy, to the
	// fast simulator or the slow one in turn, before answering.
	var n atomic.Int64
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		up := fast
		if n.Add(1)%2 == 0 {
			up = slow
		}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.SetRequestURI(up + "/v1/send-sms")
		req.Header.Set("username", sim.DefaultCredentials.Username)
		req.Header.Set("authenticationtoken", sim.DefaultCredentials.Token)
		req.Header.SetContentType("application/json")
		body := strings.Replace(string(ctx.PostBody()), `"to":`, `"destination":`, 1)
		req.SetBodyString(strings.Replace(body, `"text":`, `"messageText":`, 1))
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 200 {
			ctx.SetStatusCode(502)
			return
		}
		ctx.SetStatusCode(202)
	})
	r, err := Run(context.Background(), Options{Target: base, Connections: 1, Requests: 40, Drain: 5 * time.Second,
		Upstreams: []Upstream{{"fast", fast}, {"slow", slow}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Upstreams) != 2 || r.Delivery == nil || r.Delivery.Unique != 40 {
		t.Fatalf("upstreams %+v, delivery %+v", r.Upstreams, r.Delivery)
	}
	f, s := r.Upstreams[0], r.Upstreams[1]
	if f.Messages != 20 || s.Messages != 20 || f.Err != "" || s.Err != "" {
		t.Errorf("fast %+v, slow %+v: want 20 messages each", f, s)
	}
	if s.Service.P50Ms < 40 || f.Service.P50Ms >= 40 || s.Latency.P50Ms < 40 {
		t.Errorf("slow service p50 %vms (to its answer %vms), fast %vms: the slow one must show its 40ms", s.Service.P50Ms, s.Latency.P50Ms, f.Service.P50Ms)
	}
}

func startSimulator(t *testing.T, latency time.Duration) string {
	t.Helper()
	s, base, err := sim.Start("wavy", "127.0.0.1:0", sim.DefaultCredentials, sim.Faults{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return base
}

// Compare judges a change against the runs' per-second spread.
func TestCompareAgainstTheSpread(t *testing.T) {
	run := func(p50s ...float64) *Report {
		r := &Report{Requests: 1000, OK: 1000, RequestsPerSec: 100, OKPerSec: 100, Latency: Summary{Count: 1000}}
		var sum float64
		for i, p := range p50s {
			r.Timeline = append(r.Timeline, Second{At: float64(i + 1), Span: 1, Requests: 100, OK: 100, Rate: 100, P50Ms: p, P90Ms: p, P99Ms: p, MaxMs: p})
			sum += p
		}
		r.Latency.P50Ms = sum / float64(len(p50s))
		r.Latency.P90Ms, r.Latency.P99Ms, r.Latency.MaxMs = r.Latency.P50Ms, r.Latency.P50Ms, r.Latency.P50Ms
		return r
	}
	get := func(cs []Comparison, fig string) Comparison {
		for _, c := range cs {
			if c.Figure == fig {
				return c
			}
		}
		t.Fatalf("no %s in %+v", fig, cs)
		return Comparison{}
	}
	a := run(10, 11, 9, 10, 10.5, 9.5)
	for _, tc := range []struct {
		name          string
		b             *Report
		judged, worse bool
	}{
		{"same", run(10.2, 10.8, 9.3, 10.1, 10.4, 9.9), true, false},
		{"slower", run(20, 21, 19, 20, 20.5, 19.5), true, true},
		{"faster", run(5, 5.5, 4.5, 5, 5.2, 4.8), true, false},
		// +1ms is 2.5 standard errors here: within a 99% bar.
		{"within noise", run(11, 12, 10, 11, 11.5, 10.5), true, false},
		{"too short", run(20), false, false},
	} {
		c := get(Compare(a, tc.b), "p50")
		if c.Judged != tc.judged || c.Worse != tc.worse || (tc.name == "faster") != (c.Significant && !c.Worse) {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	// +2ms on steady seconds is significant, unless the runs' own schedule
	// lag at the same quantile (p50 3ms) says the generator cannot tell 2ms apart.
	steadyA, steadyB := run(10, 10.1, 9.9, 10, 10.1, 9.9), run(12, 12.1, 11.9, 12, 12.1, 11.9)
	if c := get(Compare(steadyA, steadyB), "p50"); !c.Worse {
		t.Errorf("+2ms on steady runs: %+v", c)
	}
	steadyA.ScheduleLag, steadyB.ScheduleLag = &Summary{Count: 100, P50Ms: 0.2, P90Ms: 0.5}, &Summary{Count: 100, P50Ms: 0.2, P90Ms: 3}
	if c := get(Compare(steadyA, steadyB), "p50"); !c.Worse {
		t.Errorf("+2ms beside a 3ms p90 lag but a 0.2ms p50 lag: %+v", c)
	}
	steadyA.ScheduleLag, steadyB.ScheduleLag = &Summary{Count: 100, P50Ms: 3, P90Ms: 3}, &Summary{Count: 100, P50Ms: 1, P90Ms: 1}
	if c := get(Compare(steadyA, steadyB), "p50"); c.Significant || c.Noise != 3 {
		t.Errorf("+2ms within a 3ms schedule lag: %+v", c)
	}
	if c := get(Compare(a, run(10, 11, 9, 10, 10.5, 9.5)), "ok/s"); c.Significant || !c.Judged || math.IsNaN(c.Noise) {
		t.Errorf("ok/s of identical runs: %+v", c)
	}
}
