package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/compare"
)

func TestSendsToSink(t *testing.T) {
	s := newSink(t)
	var bodies = make(chan canonical.Message, 100)
	s.set(func(ctx *fasthttp.RequestCtx) {
		var m canonical.Message
		if json.Unmarshal(ctx.PostBody(), &m) == nil && string(ctx.Request.Header.Peek("Authorization")) == "Bearer tok" {
			bodies <- m
		}
		ctx.SetBodyString(`{"id":"up-` + m.ID + `"}`)
	})
	up := httpUpstream("sink", s)
	up.Credentials = map[string]string{"bearer": "tok"}
	h := start(t, testConfig(up))
	ids := h.send(50, nil)
	recs := h.wait(ids, 10*time.Second)
	for id, r := range recs {
		if r.Msg.Status != canonical.StatusSent || r.Msg.UpstreamID != "up-"+id || r.Msg.Upstream != "sink" || r.Msg.Attempts != 1 {
			t.Fatalf("message %s: %+v", id, r.Msg)
		}
		last := r.History[len(r.History)-1]
		if last.Status != canonical.StatusSent || last.Upstream != "sink" {
			t.Fatalf("last change %+v", last)
		}
	}
	if len(bodies) != 50 {
		t.Fatalf("sink decoded %d authorised canonical bodies, want 50", len(bodies))
	}
	if m := <-bodies; !strings.HasPrefix(m.To, "97250") || !strings.HasPrefix(m.Text, "hello ") {
		t.Fatalf("sink got %+v", m)
	}
	if st := h.upstream("sink"); st.Sent != 50 || st.Failed != 0 || st.Breaker != "closed" || st.Dialect != "http" {
		t.Fatalf("status %+v", st)
	}
}

func TestSandbox(t *testing.T) {
	// The sandbox's answer is its receipt: the comparison counts its messages delivered.
	delivered := metrics.GetOrCreateCounter(compare.MetricReceipts + `{route="default",upstream="box",arm="primary",status="delivered"}`)
	before := delivered.Get()
	h := start(t, testConfig(config.Upstream{Name: "box", Dialect: "sandbox"}))
	ids := h.send(20, nil)
	for id, r := range h.wait(ids, 10*time.Second) {
		if r.Msg.Status != canonical.StatusDelivered || r.Msg.UpstreamID != "sandbox-"+id {
			t.Fatalf("message %s: %+v", id, r.Msg)
		}
	}
	if n := delivered.Get() - before; n != 20 {
		t.Fatalf("%d of 20 sandbox deliveries counted for the comparison", n)
	}
}

func TestPermanentFailsAtOnce(t *testing.T) {
	s := newSink(t)
	s.answer(400, `{"error":"invalid number"}`)
	h := start(t, testConfig(httpUpstream("sink", s)))
	ids := h.send(10, nil)
	for _, r := range h.wait(ids, 10*time.Second) {
		last := r.History[len(r.History)-1]
		if r.Msg.Status != canonical.StatusFailed || r.Msg.Attempts != 1 || last.Code != "400" ||
			!strings.Contains(last.Reason, "invalid number") || !strings.Contains(r.Msg.LastError, "invalid number") {
			t.Fatalf("message %+v, change %+v", r.Msg, last)
		}
	}
	// 4xx is the message's fault: the breaker stays closed.
	if st := h.upstream("sink"); st.Breaker != "closed" || st.Failed != 10 || s.hits.Load() != 10 {
		t.Fatalf("status %+v, hits %d", st, s.hits.Load())
	}
}

func TestAttemptsExhaustedDead(t *testing.T) {
	s := newSink(t)
	s.answer(503, "maintenance")
	cfg := testConfig(httpUpstream("sink", s))
	cfg.Breaker.ConsecutiveFailures = 1000 // keep it closed: every pass is an attempt
	cfg.Breaker.MinRequests = 1000
	cfg.Retry.MaxAttempts = 3
	h := start(t, cfg)
	ids := h.send(5, nil)
	for _, r := range h.wait(ids, 10*time.Second) {
		last := r.History[len(r.History)-1]
		if r.Msg.Status != canonical.StatusDead || r.Msg.Attempts != 3 || !strings.Contains(last.Reason, "maintenance") {
			t.Fatalf("message %+v, change %+v", r.Msg, last)
		}
	}
	if got := s.hits.Load(); got != 15 {
		t.Fatalf("sink hits %d, want 15", got)
	}
	if got := h.q.retries.Load(); got != 10 {
		t.Fatalf("retries %d, want 10", got)
	}
}

func TestHangingSinkRetries(t *testing.T) {
	s := newSink(t)
	s.hang(400 * time.Millisecond)
	up := httpUpstream("sink", s)
	up.Timeout = ms(100)
	cfg := testConfig(up)
	cfg.Retry.MaxAttempts = 2
	h := start(t, cfg)
	ids := h.send(1, nil)
	r := h.wait(ids, 10*time.Second)[ids[0]]
	if r.Msg.Status != canonical.StatusDead || r.Msg.Attempts != 2 {
		t.Fatalf("message %+v", r.Msg)
	}
	retried := false
	for _, ch := range r.History {
		retried = retried || (ch.Status == canonical.StatusScheduled && strings.Contains(ch.Reason, "no answer within 100ms"))
	}
	if !retried {
		t.Fatalf("no retry for the timeout in %+v", r.History)
	}
}

func TestExpiredNeverSent(t *testing.T) {
	s := newSink(t)
	h := start(t, testConfig(httpUpstream("sink", s)))
	ids := h.send(3, func(m *canonical.Message) { m.ExpiresAt = time.Now().Add(-time.Second) })
	for _, r := range h.wait(ids, 10*time.Second) {
		if r.Msg.Status != canonical.StatusExpired || r.Msg.Attempts != 0 {
			t.Fatalf("message %+v", r.Msg)
		}
	}
	if s.hits.Load() != 0 {
		t.Fatalf("sink hit %d times", s.hits.Load())
	}
}

func TestHeldUntilItsTime(t *testing.T) {
	s := newSink(t)
	loc, err := time.LoadLocation("Asia/Jerusalem")
	if err != nil {
		t.Fatal(err)
	}
	outside := (time.Now().In(loc).Hour() + 3) % 24
	cfg := testConfig(httpUpstream("sink", s))
	cfg.Tenants = []config.Tenant{{ID: "night-owl", SendingHours: &config.SendingHours{TimeZone: "Asia/Jerusalem", Start: outside, End: (outside + 1) % 24}}}
	q := newSpy(nopQueue{})
	d, err := New(SettingsOf(cfg), q, discard())
	if err != nil {
		t.Fatal(err)
	}
	notBefore := time.Now().Add(time.Hour).Truncate(time.Second)
	// A queue that leased these early: the dispatcher hands each back to its time.
	for _, m := range []*canonical.Message{
		{ID: "window", To: "972501234567", Text: "x", Window: &canonical.Window{Hours: []int{outside}, TimeZone: "Asia/Jerusalem"}},
		{ID: "tenant-hours", Tenant: "night-owl", To: "972501234567", Text: "x"},
		{ID: "not-before", To: "972501234567", Text: "x", NotBefore: notBefore},
	} {
		d.handle(m)
	}
	want := nextOpen(time.Now(), []int{outside}, loc)
	if want.In(loc).Hour() != outside || want.In(loc).Minute() != 0 {
		t.Fatalf("next open %v", want)
	}
	for id, at := range map[string]time.Time{"window": want, "tenant-hours": want, "not-before": notBefore} {
		if got := q.releasedTo[id]; !got.Equal(at) {
			t.Errorf("%s released to %v, want %v", id, got, at)
		}
	}
	if s.hits.Load() != 0 || q.finishes.Load() != 0 {
		t.Fatal("sent before its time")
	}
}
