package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

// sink is a real HTTP server on loopback standing in for an upstream. Its behaviour can be
// changed while it runs, and it can be taken down and brought back on the same address.
type sink struct {
	t      *testing.T
	addr   string
	hits   atomic.Int64
	handle atomic.Pointer[fasthttp.RequestHandler]
	mu     sync.Mutex
	srv    *fasthttp.Server
	ln     net.Listener
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{t: t}
	s.answer(200, "")
	ln := testutil.Listen(t)
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.down)
	return s
}

// answer makes the sink answer every request with code and body ("" for 2xx: an id).
func (s *sink) answer(code int, body string) {
	s.set(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(code)
		if body == "" && code < 300 {
			ctx.SetBodyString(`{"id":"sink-` + strconv.FormatInt(s.hits.Load(), 10) + `"}`)
			return
		}
		ctx.SetBodyString(body)
	})
}

// hang makes the sink answer 200 only after d.
func (s *sink) hang(d time.Duration) {
	s.set(func(ctx *fasthttp.RequestCtx) {
		time.Sleep(d)
		ctx.SetBodyString(`{"id":"late"}`)
	})
}

func (s *sink) set(h fasthttp.RequestHandler) {
	s.handle.Store(&h)
}

func (s *sink) serve(ln net.Listener) {
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		s.hits.Add(1)
		(*s.handle.Load())(ctx)
	}}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
}

// down stops the sink: its address then refuses connections.
func (s *sink) down() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		ln.Close() // Shutdown alone misses a Serve that has not started yet
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.ShutdownWithContext(ctx) //nolint:errcheck // a handler still sleeping is fine
	}
}

// up brings a downed sink back on its address.
func (s *sink) up() {
	s.t.Helper()
	var ln net.Listener
	var err error
	if !testutil.Until(time.Second, func() bool { // the old socket may take a moment to let go
		ln, err = net.Listen("tcp4", s.addr)
		return err == nil
	}) {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

func (s *sink) url() string { return "http://" + s.addr + "/messages" }

// spyQueue counts the dispatcher's calls to the queue.
type spyQueue struct {
	queue.Queue
	releases, retries, finishes atomic.Int64
	mu                          sync.Mutex
	releasedTo                  map[string]time.Time
	leases                      []time.Time // when each Lease returned messages
}

func newSpy(q queue.Queue) *spyQueue {
	return &spyQueue{Queue: q, releasedTo: map[string]time.Time{}}
}

func (q *spyQueue) Lease(ctx context.Context, max int) ([]*canonical.Message, error) {
	msgs, err := q.Queue.Lease(ctx, max)
	if len(msgs) > 0 {
		q.mu.Lock()
		q.leases = append(q.leases, time.Now())
		q.mu.Unlock()
	}
	return msgs, err
}

// leasedSince is when the Lease calls that returned messages did, from the nth on.
func (q *spyQueue) leasedSince(n int) []time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.leases[min(n, len(q.leases)):])
}

func (q *spyQueue) leaseCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.leases)
}

func (q *spyQueue) Release(m *canonical.Message, at time.Time) error {
	q.releases.Add(1)
	q.mu.Lock()
	q.releasedTo[m.ID] = at
	q.mu.Unlock()
	return q.Queue.Release(m, at)
}

func (q *spyQueue) Retry(m *canonical.Message, at time.Time, ch canonical.Change) error {
	q.retries.Add(1)
	return q.Queue.Retry(m, at, ch)
}

func (q *spyQueue) Finish(m *canonical.Message, ch canonical.Change) error {
	q.finishes.Add(1)
	return q.Queue.Finish(m, ch)
}

// testConfig has short durations so that breakers trip, open and close within a test.
func testConfig(ups ...config.Upstream) *config.Config {
	cfg := &config.Config{
		Retry: config.Retry{MaxAttempts: 5, InitialBackoff: ms(10), MaxBackoff: ms(50)},
		Breaker: config.Breaker{Window: ms(2000), ConsecutiveFailures: 3, FailureRatio: 0.5, MinRequests: 10,
			OpenFor: ms(300), HalfOpenProbes: 1},
		Upstreams: ups,
	}
	names := make([]string, len(ups))
	for i, u := range ups {
		names[i] = u.Name
	}
	cfg.Routes = []config.Route{{Name: "default", Upstreams: names}}
	return cfg
}

func ms(n int) config.Duration { return config.Duration(time.Duration(n) * time.Millisecond) }

func httpUpstream(name string, s *sink) config.Upstream {
	return config.Upstream{Name: name, Dialect: "http", URL: s.url(), Timeout: ms(1000), MaxConns: 8}
}

// harness is a running dispatcher over the real queue, spied on.
type harness struct {
	t   *testing.T
	q   *spyQueue
	d   *Dispatcher
	log *errorLog
}

func start(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	return startWith(t, cfg, nil)
}

// startWith lets hook adjust the dispatcher before it starts.
func startWith(t *testing.T, cfg *config.Config, hook func(*Dispatcher)) *harness {
	t.Helper()
	bq, err := queue.Open(queue.Options{Dir: t.TempDir(), MemoryMB: 16, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bq.Close(); err != nil {
			t.Error(err)
		}
	})
	h := &harness{t: t, q: newSpy(bq), log: &errorLog{}}
	h.d, err = New(SettingsOf(cfg), h.q, slog.New(h.log))
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		hook(h.d)
	}
	h.d.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.d.Stop(ctx); err != nil {
			t.Error(err)
		}
		for _, e := range h.log.all() {
			t.Error("dispatcher logged: " + e)
		}
	})
	return h
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// errorLog keeps what the dispatcher logs at error level (a queue call that failed, say):
// every test fails on any.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *errorLog) WithGroup(string) slog.Handler                 { return l }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	l.mu.Lock()
	l.errs = append(l.errs, msg)
	l.mu.Unlock()
	return nil
}

func (l *errorLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// send enqueues n text messages to distinct recipients, changed by edit if given.
func (h *harness) send(n int, edit func(*canonical.Message)) []string {
	h.t.Helper()
	items := make([]queue.Item, n)
	for i := range items {
		m := &canonical.Message{Tenant: "acme", To: fmt.Sprintf("97250%07d", i), Channel: canonical.ChannelWhatsApp,
			Text: "hello " + strconv.Itoa(i)}
		if edit != nil {
			edit(m)
		}
		items[i] = queue.Item{Msg: m}
	}
	if _, err := h.q.Enqueue(context.Background(), items); err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, n)
	for i, it := range items {
		ids[i] = it.Msg.ID
	}
	return ids
}

// wait polls until every message has a final status, or fails after timeout.
func (h *harness) wait(ids []string, timeout time.Duration) map[string]*queue.Record {
	h.t.Helper()
	recs := map[string]*queue.Record{}
	if !testutil.Until(timeout, func() bool {
		for _, id := range ids {
			if recs[id] != nil {
				continue
			}
			r, err := h.q.Get(id)
			if err != nil {
				h.t.Fatal(err)
			}
			if r.Msg.Status.Final() {
				recs[id] = r
			}
		}
		return len(recs) == len(ids)
	}) {
		h.t.Fatalf("%d of %d messages final after %v", len(recs), len(ids), timeout)
	}
	return recs
}

// count tallies records by status.
func count(recs map[string]*queue.Record) map[canonical.Status]int {
	n := map[canonical.Status]int{}
	for _, r := range recs {
		n[r.Msg.Status]++
	}
	return n
}

func (h *harness) upstream(name string) UpstreamStatus {
	for _, s := range h.d.Upstreams() {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("no upstream %q", name)
	return UpstreamStatus{}
}
