package dispatch

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

// BenchmarkDispatchBadger measures messages/s end to end out of the real queue: b.N messages
// are enqueued first (untimed), then timed from Start until the queue is empty, each one
// POSTed to a fasthttp sink on loopback and finished in the queue (fsync'd group commits).
func BenchmarkDispatchBadger(b *testing.B) {
	q, err := queue.Open(queue.Options{Dir: b.TempDir(), Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	benchDispatch(b, q, func() int64 { return q.Stats().Depth })
}

func benchDispatch(b *testing.B, q queue.Queue, depth func() int64) {
	addr := benchSink(b)
	cfg := &config.Config{
		Upstreams: []config.Upstream{{Name: "sink", Dialect: "http", URL: "http://" + addr + "/messages",
			Timeout: config.Duration(5 * time.Second), MaxConns: 64}},
		Routes: []config.Route{{Name: "default", Upstreams: []string{"sink"}}},
	}
	d, err := New(SettingsOf(cfg), q, discard())
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	items := make([]queue.Item, 0, batch)
	for i := 0; i < b.N; i++ {
		items = append(items, queue.Item{Msg: &canonical.Message{Tenant: "acme", To: "9725" + strconv.Itoa(10000000+i),
			Channel: canonical.ChannelWhatsApp, Kind: canonical.KindText, Text: "Your code is 123456"}})
		if len(items) == batch || i == b.N-1 {
			if _, err := q.Enqueue(context.Background(), items); err != nil {
				b.Fatal(err)
			}
			items = items[:0]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	d.Start()
	testutil.WaitForEvery(b, time.Millisecond, 5*time.Minute, "the queue to drain", func() bool { return depth() == 0 })
	took := time.Since(begin)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	if st := d.Upstreams()[0]; st.Sent != uint64(b.N) {
		b.Fatalf("sent %d of %d", st.Sent, b.N)
	}
	b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
}

// benchSink is the cheapest upstream fasthttp can be: 200 with a fixed id.
func benchSink(b *testing.B) string {
	ln := testutil.Listen(b)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"1"}`) }}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// BenchmarkHandleSandbox is one message's decision and bookkeeping with no I/O: what the
// dispatcher itself costs per message.
func BenchmarkHandleSandbox(b *testing.B) {
	cfg := &config.Config{Upstreams: []config.Upstream{{Name: "box", Dialect: "sandbox"}},
		Routes: []config.Route{{Name: "default", Upstreams: []string{"box"}}}}
	d, err := New(SettingsOf(cfg), nopQueue{}, discard())
	if err != nil {
		b.Fatal(err)
	}
	m := &canonical.Message{ID: "0190a5e2-0000-7000-8000-000000000000", To: "972501234567", Kind: canonical.KindText, Text: "hi"}
	b.ReportAllocs()
	for b.Loop() {
		m.Attempts = 0
		d.handle(m)
	}
}

// nopQueue takes every call and does nothing.
type nopQueue struct{ queue.Queue }

func (nopQueue) Finish(*canonical.Message, canonical.Change) error           { return nil }
func (nopQueue) Retry(*canonical.Message, time.Time, canonical.Change) error { return nil }
func (nopQueue) Release(*canonical.Message, time.Time) error                 { return nil }
