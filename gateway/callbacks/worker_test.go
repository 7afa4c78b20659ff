package callbacks

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openQueue(t *testing.T, dir string) *queue.Badger {
	t.Helper()
	q, err := queue.Open(queue.Options{Dir: dir, Logger: quiet, MemoryMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// receiver is a callback endpoint on loopback that keeps what it took. fail, when set,
// is the status it answers instead (503: down), and refused counts those answers; delay
// holds every answer (a slow receiver).
type receiver struct {
	url     string
	fail    atomic.Int32
	refused atomic.Int64
	delay   atomic.Int64
	mu      sync.Mutex
	got     []got
}

type got struct {
	path, key, sig string
	body           []byte
}

func startReceiver(t testing.TB) *receiver {
	t.Helper()
	ln := testutil.Listen(t)
	r := &receiver{url: "http://" + ln.Addr().String()}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if d := r.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		if c := r.fail.Load(); c != 0 {
			r.refused.Add(1)
			ctx.SetStatusCode(int(c))
			return
		}
		r.mu.Lock()
		r.got = append(r.got, got{path: string(ctx.Path()), key: string(ctx.Request.Header.Peek("Idempotency-Key")),
			sig: string(ctx.Request.Header.Peek(SignatureHeader)), body: append([]byte(nil), ctx.PostBody()...)})
		r.mu.Unlock()
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *receiver) all() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor waits until the receiver holds n callbacks.
func (r *receiver) waitFor(t *testing.T, n int, limit time.Duration) []got {
	t.Helper()
	var g []got
	if !testutil.Until(limit, func() bool { g = r.all(); return len(g) >= n }) {
		t.Fatalf("%d of %d callbacks within %v", len(g), n, limit)
	}
	return g
}

// drainAndStop waits until the lane of each tenant has saved its cursor past the last of
// the tenant's feed entries, so every callback is done and any repeat of one has been
// posted, and stops the worker: nothing is posted after.
func drainAndStop(t *testing.T, w *Worker, q *queue.Badger, tenants ...string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "the callback lanes to reach the end of their feeds", func() bool {
		for _, id := range tenants {
			v, err := q.GetState(cursorKey(id))
			if err != nil {
				t.Fatal(err)
			}
			if len(v) < 8 {
				return false
			}
			left, err := q.ReadFeed(id, binary.BigEndian.Uint64(v), 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) > 0 {
				return false
			}
		}
		return true
	})
	w.Stop()
}

// statuses maps each message id to the statuses of its native callbacks, in arrival order.
func statuses(t *testing.T, gs []got) map[string][]canonical.Status {
	t.Helper()
	out := map[string][]canonical.Status{}
	for _, g := range gs {
		var s Status
		if err := json.Unmarshal(g.body, &s); err != nil || s.ID == "" {
			t.Fatalf("callback body %s: %v", g.body, err)
		}
		out[s.ID] = append(out[s.ID], s.Status)
	}
	return out
}

// send puts n messages of the tenant through sent, a repeated sent receipt, delivered and
// read, and returns their ids.
func send(t *testing.T, q *queue.Badger, tenant, dialect string, n int) []string {
	t.Helper()
	items := make([]queue.Item, n)
	for i := range items {
		items[i] = queue.Item{Msg: &canonical.Message{Tenant: tenant, Dialect: dialect, To: fmt.Sprintf("55119%08d", i),
			Text: "hi", ClientRef: fmt.Sprintf("ref-%d", i)}}
	}
	if _, err := q.Enqueue(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for len(ids) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ms, err := q.Lease(ctx, n)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			m.Upstream, m.UpstreamID = "up", "u-"+m.ID
			if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "up"}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
	}
	for _, id := range ids {
		for _, st := range []canonical.Status{canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead} {
			if err := q.Record(id, canonical.Change{Status: st, Upstream: "up"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

func startWorker(t *testing.T, q *queue.Badger, tenants []Tenant, opts Options) *Worker {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	w, err := New(q, tenants, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	t.Cleanup(w.Stop)
	return w
}

var want3 = []canonical.Status{canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead}

// TestWorkerOrderOnceSigned: each status change of a native message is posted once, in
// order, signed; a Wavy message gets Wavy's sent-status callback and delivery receipt at
// their URLs; a tenant without a URL gets nothing; changes before the first start are not
// posted.
func TestWorkerOrderOnceSigned(t *testing.T) {
	q := openQueue(t, t.TempDir())
	before := send(t, q, "acme", "native", 1)
	r := startReceiver(t)
	w := startWorker(t, q, []Tenant{
		{ID: "acme", URL: r.url + "/status", Secret: "s3cret"},
		{ID: "wavyco", URL: r.url + "/sent", DeliveryURL: r.url + "/delivered"},
		{ID: "silent"},
	}, Options{})
	ids := send(t, q, "acme", "native", 20)
	wids := send(t, q, "wavyco", wavy.Dialect, 5)
	send(t, q, "silent", "native", 3)
	r.waitFor(t, 20*3+5*2, 10*time.Second)
	drainAndStop(t, w, q, "acme", "wavyco") // anything more would be a duplicate
	gs := r.all()

	var native, sentCbs, deliveryCbs []got
	for _, g := range gs {
		switch g.path {
		case "/status":
			native = append(native, g)
		case "/sent":
			sentCbs = append(sentCbs, g)
		case "/delivered":
			deliveryCbs = append(deliveryCbs, g)
		}
	}
	byID := statuses(t, native)
	if len(byID) != len(ids) || len(native) != 60 {
		t.Fatalf("%d native callbacks for %d messages, want 60 for %d", len(native), len(byID), len(ids))
	}
	for _, id := range ids {
		if !slices.Equal(byID[id], want3) {
			t.Errorf("message %s: callbacks %v, want %v", id, byID[id], want3)
		}
	}
	if _, ok := byID[before[0]]; ok {
		t.Error("a change from before the first start was posted")
	}
	keys := map[string]bool{}
	for _, g := range native {
		if g.sig != Sign(g.body, []byte("s3cret")) {
			t.Fatalf("signature %q does not sign %s", g.sig, g.body)
		}
		if keys[g.key] {
			t.Fatalf("idempotency key %s twice", g.key)
		}
		keys[g.key] = true
	}
	if len(sentCbs) != 5 || len(deliveryCbs) != 5 {
		t.Fatalf("wavy callbacks: %d sent, %d delivery; want 5 and 5", len(sentCbs), len(deliveryCbs))
	}
	for i, g := range append(sentCbs, deliveryCbs...) {
		var v struct {
			ID                  string `json:"id"`
			SentStatusCode      int    `json:"sentStatusCode"`
			DeliveredStatusCode *int   `json:"deliveredStatusCode"`
		}
		if err := json.Unmarshal(g.body, &v); err != nil || !slices.Contains(wids, v.ID) || v.SentStatusCode != 2 {
			t.Fatalf("wavy callback %s: %v", g.body, err)
		}
		if (i < 5) != (v.DeliveredStatusCode == nil) || (v.DeliveredStatusCode != nil && *v.DeliveredStatusCode != 4) {
			t.Fatalf("wavy callback %d: %s", i, g.body)
		}
		if g.sig != "" {
			t.Fatalf("unsigned tenant got a signature")
		}
	}
}

// TestWorkerReceiverDown: a receiver that is down for a while gets everything once it is
// back, once each, in order; meanwhile another tenant's callbacks flow (fairness).
func TestWorkerReceiverDown(t *testing.T) {
	q := openQueue(t, t.TempDir())
	down, up := startReceiver(t), startReceiver(t)
	down.fail.Store(503)
	const perTenant = 4
	w := startWorker(t, q, []Tenant{{ID: "a", URL: down.url}, {ID: "b", URL: up.url}},
		Options{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 1000, PerTenant: perTenant})
	aids := send(t, q, "a", "native", 10)
	bids := send(t, q, "b", "native", 10)
	up.waitFor(t, 30, 10*time.Second)
	if n := len(down.all()); n != 0 {
		t.Fatalf("the down receiver took %d", n)
	}
	// Down for a while: each callback in flight refused and tried again after its backoff.
	testutil.WaitFor(t, 10*time.Second, "the down receiver to refuse retries", func() bool {
		return down.refused.Load() >= 3*perTenant
	})
	down.fail.Store(0)
	down.waitFor(t, 30, 10*time.Second)
	drainAndStop(t, w, q, "a", "b")
	gs := down.all()
	if len(gs) != 30 {
		t.Fatalf("%d callbacks after the receiver came back, want 30", len(gs))
	}
	for _, set := range []struct {
		r   *receiver
		ids []string
	}{{down, aids}, {up, bids}} {
		byID := statuses(t, set.r.all())
		for _, id := range set.ids {
			if !slices.Equal(byID[id], want3) {
				t.Errorf("message %s: %v, want %v", id, byID[id], want3)
			}
		}
	}
}

// TestWorkerDeadLetters: a callback refused MaxAttempts times is dead-lettered and the
// message's next ones go on; a replay delivers it and takes it off the list.
func TestWorkerDeadLetters(t *testing.T) {
	q := openQueue(t, t.TempDir())
	r := startReceiver(t)
	r.fail.Store(500)
	w := startWorker(t, q, []Tenant{{ID: "acme", URL: r.url}},
		Options{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxAttempts: 3})
	ids := send(t, q, "acme", "native", 2)
	var dead []Delivery
	if !testutil.Until(10*time.Second, func() bool {
		var err error
		if dead, err = w.Dead("", 100); err != nil {
			t.Fatal(err)
		}
		return len(dead) >= 6
	}) {
		t.Fatalf("%d dead callbacks, want 6", len(dead))
	}
	for _, d := range dead {
		if d.Attempts != 3 || d.LastError != "HTTP 500" || !slices.Contains(ids, d.MessageID) {
			t.Fatalf("dead callback: %+v", d)
		}
	}
	if page, _ := w.Dead(dead[1].Key, 2); len(page) != 2 || page[0].Key != dead[2].Key {
		t.Fatalf("page after %s: %+v", dead[1].Key, page)
	}
	if _, err := w.Replay(dead[0].Key); err == nil {
		t.Fatal("replay to a refusing receiver succeeded")
	}
	r.fail.Store(0)
	if _, err := w.Replay(dead[0].Key); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(dead[0].Key); err != ErrNotFound {
		t.Fatalf("second replay: %v", err)
	}
	if n, f, err := w.ReplayAll(100); n != 5 || f != 0 || err != nil {
		t.Fatalf("replay all: %d %d %v", n, f, err)
	}
	if left, _ := w.Dead("", 100); len(left) != 0 {
		t.Fatalf("%d left dead", len(left))
	}
	if gs := r.all(); len(gs) != 6 || !slices.Equal(statuses(t, gs)[dead[0].MessageID][:1], []canonical.Status{canonical.Status(dead[0].Status)}) {
		t.Fatalf("replayed callbacks: %d", len(gs))
	}
}

// TestWorkerRestart: a worker stopped while callbacks are slow, and started again on the
// same queue, posts the rest, none twice.
func TestWorkerRestart(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir)
	r := startReceiver(t)
	r.delay.Store(int64(20 * time.Millisecond))
	tenants := []Tenant{{ID: "acme", URL: r.url}}
	w := startWorker(t, q, tenants, Options{PerTenant: 2})
	ids := send(t, q, "acme", "native", 20)
	r.waitFor(t, 5, 10*time.Second)
	w.Stop()
	mid := len(r.all())
	if mid >= 60 {
		t.Fatalf("all %d callbacks went out before the stop; the test proves nothing", mid)
	}
	q.Close()
	q = openQueue(t, dir)
	r.delay.Store(0)
	w = startWorker(t, q, tenants, Options{})
	r.waitFor(t, 60, 10*time.Second)
	drainAndStop(t, w, q, "acme")
	byID := statuses(t, r.all())
	for _, id := range ids {
		if !slices.Equal(byID[id], want3) {
			t.Errorf("message %s: %v, want %v", id, byID[id], want3)
		}
	}
	t.Logf("%d of 60 callbacks before the stop", mid)
}

// feedEndUnknown is a queue whose feed end cannot be read.
type feedEndUnknown struct{ *queue.Badger }

func (feedEndUnknown) FeedSeq() (uint64, error) {
	return 0, &canonical.Error{Code: canonical.ErrUnavailable, Reason: "feed unreachable"}
}

// A tenant's first lane starts at the feed's end; when the end cannot be read, New fails and
// stores no cursor, rather than starting at 0 and posting the whole retained feed.
func TestWorkerFirstStartNeedsFeedEnd(t *testing.T) {
	q := openQueue(t, t.TempDir())
	tenants := []Tenant{{ID: "acme", URL: "http://127.0.0.1:1/cb"}}
	if _, err := New(feedEndUnknown{q}, tenants, Options{Logger: quiet}); err == nil {
		t.Fatal("New started a lane without knowing the feed's end")
	}
	if v, err := q.GetState(cursorKey("acme")); err != nil || v != nil {
		t.Fatalf("cursor stored after the failure: %v %v", v, err)
	}
	if _, err := New(q, tenants, Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if v, err := q.GetState(cursorKey("acme")); err != nil || len(v) != 8 {
		t.Fatalf("cursor after a start: %v %v", v, err)
	}
}
