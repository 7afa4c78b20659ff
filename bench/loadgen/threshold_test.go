package loadgen

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/internal/testutil"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want Threshold
	}{
		{"p99<10ms", Threshold{Metric: "p99", Op: "<", Limit: 10}},
		{"p99.9 <= 1.5s", Threshold{Metric: "p99.9", Op: "<=", Limit: 1500}},
		{"errors<0.1%", Threshold{Metric: "errors", Op: "<", Limit: 0.001, Percent: true}},
		{"errors<5", Threshold{Metric: "errors", Op: "<", Limit: 5}},
		{"delivered>=99.9%", Threshold{Metric: "delivered", Op: ">=", Limit: 0.999, Percent: true}},
		{"lag<500us", Threshold{Metric: "lag", Op: "<", Limit: 0.5}},
		{"wavy:p50<2ms", Threshold{Dialect: "wavy", Metric: "p50", Op: "<", Limit: 2}},
	} {
		got, err := ParseThreshold(tc.expr)
		tc.want.Expr = strings.TrimSpace(tc.expr)
		if err != nil || got.Dialect != tc.want.Dialect || got.Metric != tc.want.Metric || got.Op != tc.want.Op ||
			math.Abs(got.Limit-tc.want.Limit) > 1e-12 || got.Percent != tc.want.Percent {
			t.Errorf("%q: got %+v, %v; want %+v", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "p99", "p99<10", "p98<10ms", "telegram:p99<1ms", "mix:p99<1ms", "delivered>99", "errors<5ms", "p99=10ms"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A threshold says by how much it failed, and a missing figure fails it.
func TestThresholdVerdicts(t *testing.T) {
	f := figures{requests: 1000, ok: 990, lat: Summary{Count: 990, MeanMs: 4},
		latQ: func(q float64) float64 { return q / 10 }, delivered: 0.95, lagP99: math.NaN()}
	for _, tc := range []struct {
		expr, verdict string
		pass          bool
	}{
		{"p99<10ms", "p99 9.9ms (limit <10ms)", true},
		{"p99<5ms", "p99 9.9ms (limit <5ms): over by 4.9ms (98%)", false},
		{"errors<0.1%", "errors 1% (limit <0.1%): over by 0.9%", false},
		{"errors<=10", "errors 10 (limit <=10)", true},
		{"delivered>=99.9%", "delivered 95% (limit >=99.9%): under by 4.9%", false},
		{"lag<5ms", "lag: no schedule lag: closed loop", false},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := th.check(f)
		if r.Pass != tc.pass || r.Verdict != tc.verdict {
			t.Errorf("%s: pass %v %q, want %v %q", tc.expr, r.Pass, r.Verdict, tc.pass, tc.verdict)
		}
	}
}

// A mix is broken down by dialect: the dialect the server refuses carries the
// errors, the vendor's own message is counted, and a threshold on one dialect
// judges that dialect alone.
func TestMixBreakdownByDialect(t *testing.T) {
	v := &vendorServer{hits: map[string]int{}}
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/v1/send-sms" {
			ctx.SetStatusCode(401)
			ctx.SetBodyString(`{"errorCode":401,"errorMessage":"Authentication Error: bad token"}`)
			return
		}
		v.handle(ctx)
	})
	ths := []Threshold{}
	for _, e := range []string{"wavy:errors<1%", "native:errors<1%", "errors<1%", "flowbot:p99<10s"} {
		th, err := ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	r, err := Run(context.Background(), Options{Target: base, Dialect: "mix", Connections: 3, Requests: 100, Size: 64, Thresholds: ths})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dialects) != 5 {
		t.Fatalf("%d dialects in the breakdown, want 5", len(r.Dialects))
	}
	for _, d := range r.Dialects {
		wantErr := int64(0)
		if d.Dialect == "wavy" {
			wantErr = 20
		}
		if d.Requests != 20 || d.Errors != wantErr || d.OK != 20-wantErr || (d.OK > 0) != (d.Latency.Count > 0) {
			t.Errorf("%s: %+v, want 20 requests, %d errors", d.Dialect, d, wantErr)
		}
	}
	if len(r.ErrorMessages) != 1 || r.ErrorMessages[0] != (ErrorMessage{"wavy", 401, "Authentication Error: bad token", 20}) {
		t.Errorf("error messages %+v", r.ErrorMessages)
	}
	pass := map[string]bool{}
	for _, tr := range r.Thresholds {
		pass[tr.Expr] = tr.Pass
	}
	if pass["wavy:errors<1%"] || !pass["native:errors<1%"] || pass["errors<1%"] || !pass["flowbot:p99<10s"] || r.Failed != 2 {
		t.Errorf("thresholds %+v, failed %d", r.Thresholds, r.Failed)
	}
	var page strings.Builder
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<table id="dialects">`, `<tr><td>wavy</td><td>20</td><td>0</td><td>20</td><td>n/a</td>`,
		`<td class="msg">Authentication Error: bad token</td><td>20</td>`, `<td class="fail">FAIL</td>`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the HTML report lacks %s", want)
		}
	}
	if why := r.verdict(); !strings.Contains(why, "2 of 4 thresholds failed") || !strings.Contains(why, "wavy errors 100% (limit <1%): over by 99%") {
		t.Errorf("verdict %q", why)
	}
}

func TestErrorMessageOfEachVendorShape(t *testing.T) {
	for body, want := range map[string]string{
		`{"errorCode":401,"errorMessage":"Authentication Error"}`:                "Authentication Error",
		`{"message":"The to field is required.","errors":{"to":["x"]}}`:          "The to field is required.",
		`{"success":false,"error":"Message: invalid request"}`:                   "Message: invalid request",
		`{"error":{"code":"invalid","field":"to","message":"to: not a number"}}`: "to: not a number",
		"<html>\n  <body>Bad   Gateway</body></html>":                            "<html> <body>Bad Gateway</body></html>",
		strings.Repeat("x", 300):                                                 strings.Repeat("x", maxMessageLen) + "…",
	} {
		if got := errorMessage([]byte(body)); got != want {
			t.Errorf("%.40s: got %q, want %q", body, got, want)
		}
	}
}

// A steps profile asks each rate for its step, and the timeline carries the
// asked rate; a ramp's stages climb.
func TestStepsAndRampAskTheirRates(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) {})
	r, err := Run(context.Background(), Options{Target: base, Steps: []float64{100, 300}, StepDuration: time.Second, Connections: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Stages) != 2 || r.Stages[0].Requests != 100 || r.Stages[1].Requests != 300 || r.Requests != 400 {
		t.Fatalf("stages %+v, requests %d: want 100 then 300", r.Stages, r.Requests)
	}
	if r.Profile != profileSteps || len(r.Timeline) < 2 || !within(r.Timeline[0].Asked, 100, 0.05) || !within(r.Timeline[1].Asked, 300, 0.05) {
		t.Errorf("timeline %+v: want asked 100/s then 300/s", r.Timeline)
	}
	r, err = Run(context.Background(), Options{Target: base, Ramp: &Ramp{From: 0, To: 400, Over: time.Second}, Connections: 8})
	if err != nil {
		t.Fatal(err)
	}
	// 0 to 400/s over 1s is 200 requests, in one stage (a ramp of a second or less).
	if !within(float64(r.Requests), 200, 0.01) || len(r.Stages) != 1 || r.Stages[0].Asked != 200 {
		t.Errorf("ramp: %d requests, stages %+v", r.Requests, r.Stages)
	}
}

func TestSegmentSchedule(t *testing.T) {
	ramp := segment{from: 100, to: 300, dur: 2 * time.Second}
	if n := ramp.total(); n != 400 {
		t.Errorf("ramp 100→300/s over 2s issues %d, want 400", n)
	}
	for _, k := range []int64{0, 1, 57, 250, 399} {
		if got := ramp.due(ramp.offset(k)); math.Abs(got-float64(k)) > 1e-6 {
			t.Errorf("request %d is due at %s, where %v are due", k, ramp.offset(k), got)
		}
	}
	var s schedule
	start := time.Now()
	s.add(start, segment{from: 100, to: 100, dur: time.Second})
	s.add(start.Add(time.Second), segment{from: 50, to: 50, dur: time.Second})
	if got := s.asked(start.Add(500*time.Millisecond), start.Add(1500*time.Millisecond)); math.Abs(got-75) > 1e-6 {
		t.Errorf("asked across two stages %v, want 75", got)
	}
}

// The searcher raises, bisects and retries: against a target whose limit is
// 1234/s it ends within its precision of the limit.
func TestSearcherFindsAKnownLimit(t *testing.T) {
	const limit = 1234.0
	for _, start := range []float64{10, 1000, 5000} {
		s := &searcher{start: start, ceiling: searchCeiling}
		var stages []Stage
		rate, more := s.next(0, false)
		for more {
			st := Stage{Asked: rate, Held: rate <= limit}
			stages = append(stages, st)
			rate, more = s.next(rate, st.Held)
		}
		k := knee(stages)
		if k.Rate > limit || k.Rate < limit*(1-searchPrecision) || k.BrokeAt <= limit || len(stages) > maxSearchStages {
			t.Errorf("from %v: knee %+v after %d stages, want just under %v", start, k, len(stages), limit)
		}
		for i := 1; i < len(stages); i++ {
			if !stages[i-1].Held && stages[i].Asked != stages[i-1].Asked && (i < 2 || stages[i-2].Asked != stages[i-1].Asked) {
				t.Errorf("from %v: the break at %v was not retried", start, stages[i-1].Asked)
			}
		}
	}
	// A stage that breaks once and holds when retried is noise: its rate held.
	k := knee([]Stage{{Asked: 100, Held: true}, {Asked: 200}, {Asked: 200, Held: true}, {Asked: 400}, {Asked: 400}})
	if k.Rate != 200 || k.BrokeAt != 400 {
		t.Errorf("knee %+v, want 200 held and 400 broken", k)
	}
}

// End to end, a mix's deliveries are counted by the dialect that sent them.
func TestMixDeliveriesByDialect(t *testing.T) {
	sink := testutil.Addr(t)
	v := &vendorServer{hits: map[string]int{}}
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/api/auth/api-token" || string(ctx.Path()) == "/v1/send-sms" {
			v.handle(ctx) // the token; and Wavy's messages are answered but never delivered
			return
		}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + sink + "/messages")
		req.SetBody(ctx.PostBody()) // the marker is somewhere in every shape's body
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
			ctx.SetStatusCode(502)
		}
	})
	th, _ := ParseThreshold("native:delivered>=100%")
	tw, _ := ParseThreshold("wavy:delivered>=100%")
	r, err := Run(context.Background(), Options{Target: base, Dialect: "mix", Connections: 2, Requests: 50, Size: 64,
		Sink: sink, Drain: 300 * time.Millisecond, Thresholds: []Threshold{th, tw}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Dialects {
		want := int64(10)
		if d.Dialect == "wavy" {
			want = 0
		}
		if d.Delivered != want || (want > 0) != (d.DeliveryLatency.Count > 0) {
			t.Errorf("%s: delivered %d (latency %+v), want %d", d.Dialect, d.Delivered, d.DeliveryLatency, want)
		}
	}
	if len(r.Thresholds) != 2 || !r.Thresholds[0].Pass || r.Thresholds[1].Pass {
		t.Errorf("thresholds %+v: native delivered all, wavy none", r.Thresholds)
	}
}

func TestReadThresholdsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thresholds.txt")
	if err := os.WriteFile(path, []byte("# the gate\np99 < 250ms\n\nerrors < 0.1%\nwavy:p99.9 < 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, err := ReadThresholds(path)
	if err != nil || len(ts) != 3 || ts[2].Dialect != "wavy" || ts[2].Limit != 1000 {
		t.Fatalf("got %+v, %v", ts, err)
	}
	if err := os.WriteFile(path, []byte("p99<1ms\np42<1ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadThresholds(path); err == nil || !strings.Contains(err.Error(), "thresholds.txt:2:") {
		t.Errorf("a bad line: %v, want its line number", err)
	}
}
