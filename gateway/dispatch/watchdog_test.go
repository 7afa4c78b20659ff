package dispatch

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

// TestReceiptWatchdog: a message sent through a route with a receipt timeout and no
// receipt in time is sent again, whole and without the watchdog's marker, through the next
// upstream, and the reason is in its history; one whose receipt came is not; the last
// upstream of the route is not watched.
func TestReceiptWatchdog(t *testing.T) {
	first, second := newSink(t), newSink(t)
	var mu sync.Mutex
	got := map[string][]canonical.Message{} // by sink
	for name, s := range map[string]*sink{"first": first, "second": second} {
		s.set(func(ctx *fasthttp.RequestCtx) {
			var m canonical.Message
			if json.Unmarshal(ctx.PostBody(), &m) == nil {
				mu.Lock()
				got[name] = append(got[name], m)
				mu.Unlock()
			}
			ctx.SetBodyString(`{"id":"` + name + `-` + m.ID + `"}`)
		})
	}
	cfg := testConfig(httpUpstream("first", first), httpUpstream("second", second))
	cfg.Routes[0].ReceiptTimeout = ms(300)
	q, err := queue.Open(queue.Options{Dir: t.TempDir(), MemoryMB: 16, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	log := &errorLog{}
	wq := &overdueSpy{Badger: q}
	d, err := New(SettingsOf(cfg), wq, slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	if d.cur().wd == nil {
		t.Fatal("no watchdog over the Badger queue")
	}
	d.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
		for _, e := range log.all() {
			t.Error("dispatcher logged: " + e)
		}
	})
	h := &harness{t: t, q: newSpy(q), d: d, log: log}
	ids := h.send(3, nil)
	recs := h.wait(ids, 10*time.Second)
	for _, id := range ids {
		if recs[id].Msg.Upstream != "first" {
			t.Fatalf("%s went to %s first", id, recs[id].Msg.Upstream)
		}
	}
	if err := q.Record(ids[0], canonical.Change{Status: canonical.StatusDelivered, Upstream: "first"}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "two resends reach the second upstream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["second"]) == 2
	})
	// The second upstream is the last of the route, so it is not watched: a look by the
	// watchdog past another timeout returns nothing more.
	testutil.WaitFor(t, 10*time.Second, "the resent messages to be finished as sent", func() bool {
		for _, id := range ids[1:] {
			if rec, err := q.Get(id); err != nil || rec.Msg.Upstream != "second" || rec.Msg.Status != canonical.StatusSent {
				return false
			}
		}
		return true
	})
	resentAt := time.Now()
	testutil.WaitFor(t, 10*time.Second, "the watchdog to look past another receipt timeout", func() bool {
		return wq.lookedAfter(resentAt.Add(cfg.Routes[0].ReceiptTimeout.D()))
	})
	if got := wq.returned(); len(got) != 2 || !slices.Contains(got, ids[1]) || !slices.Contains(got, ids[2]) {
		t.Fatalf("the watchdog found overdue %v; want %s and %s, once each", got, ids[1], ids[2])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["second"]) != 2 || len(got["first"]) != 3 {
		t.Fatalf("first got %d, second %d; want 3 and 2", len(got["first"]), len(got["second"]))
	}
	for _, m := range got["second"] {
		if m.ID == ids[0] {
			t.Fatal("the delivered message was resent")
		}
		if !strings.HasPrefix(m.Text, "hello ") || m.Extra[resentKey] != "" {
			t.Fatalf("resent message: %+v", m)
		}
		rec, err := q.Get(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var resent bool
		for _, c := range rec.History {
			resent = resent || (c.Status == canonical.StatusQueued && strings.Contains(c.Reason, "no delivery receipt from first"))
		}
		if rec.Msg.Status != canonical.StatusSent || rec.Msg.Upstream != "second" || !resent {
			t.Fatalf("record after resend: %+v %+v", rec.Msg, rec.History)
		}
	}
}

// overdueSpy keeps what the watchdog's Overdue calls returned, and when the last returned.
type overdueSpy struct {
	*queue.Badger
	mu   sync.Mutex
	ids  []string
	last time.Time // the now of the last Overdue call that returned
}

func (q *overdueSpy) Overdue(now time.Time, max int) ([]*queue.Record, error) {
	recs, err := q.Badger.Overdue(now, max)
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range recs {
		q.ids = append(q.ids, r.Msg.ID)
	}
	q.last = now
	return recs, err
}

// lookedAfter reports whether an Overdue call for a time after at has returned.
func (q *overdueSpy) lookedAfter(at time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last.After(at)
}

func (q *overdueSpy) returned() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.ids)
}
