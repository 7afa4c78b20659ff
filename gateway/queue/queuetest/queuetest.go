// Package queuetest is the behaviour every queue.Queue backend must show, as one suite:
// Run it from a backend's tests with a Backend that opens queues on fresh storage.
//
// The suite uses the real clock (a distributed backend cannot be given a fake one), so
// its waits are a few seconds at most and every timing check has generous slack.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// Backend opens queues for the suite.
type Backend struct {
	Name string
	// Fresh prepares empty storage for one test and returns how to open a queue on it.
	// open is called again after the previous queue was closed: a restart, which must
	// find everything the previous queue made durable. open closes its queue at cleanup.
	Fresh func(t testing.TB) (open func(t testing.TB) queue.Queue)
}

// Run runs the whole suite against b.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(testing.TB) queue.Queue)
	}{
		{"EnqueueLeaseFinish", testEnqueueLeaseFinish},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"RetryDueTime", testRetryDueTime},
		{"Release", testRelease},
		{"DeadAndReplay", testDeadAndReplay},
		{"Scheduled", testScheduled},
		{"Receipts", testReceipts},
		{"ByRef", testByRef},
		{"TemplateSentSince", testTemplateSentSince},
		{"Changes", testChanges},
		{"Feed", testFeed},
		{"State", testState},
		{"Replies", testReplies},
		{"ReopenKeepsMessages", testReopen},
		{"ClosedRefuses", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.Fresh(t)) })
	}
}

var phone atomic.Int64

// NewMsg returns a text message for tenant acme to a number no other test message has.
func NewMsg() *canonical.Message {
	to := fmt.Sprintf("55119%08d", phone.Add(1))
	return &canonical.Message{Tenant: "acme", To: to, Channel: canonical.ChannelWhatsApp,
		Kind: canonical.KindText, Text: "hello " + to}
}

func enqueue(t testing.TB, q queue.Queue, msgs ...*canonical.Message) {
	t.Helper()
	items := make([]queue.Item, len(msgs))
	for i, m := range msgs {
		items[i] = queue.Item{Msg: m}
	}
	if _, err := q.Enqueue(context.Background(), items); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

// leaseN takes exactly n messages within limit and checks that nothing more is due.
func leaseN(t testing.TB, q queue.Queue, n int, limit time.Duration) []*canonical.Message {
	t.Helper()
	var out []*canonical.Message
	deadline := time.Now().Add(limit)
	for len(out) < n {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("leased %d of %d messages within %v", len(out), n, limit)
		}
		ctx, cancel := context.WithTimeout(context.Background(), left)
		ms, err := q.Lease(ctx, n-len(out))
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("lease after %d of %d: %v", len(out), n, err)
		}
		out = append(out, ms...)
	}
	if len(out) > n {
		t.Fatalf("leased %d messages, want %d", len(out), n)
	}
	leaseNone(t, q, 100*time.Millisecond)
	return out
}

// leaseNone checks that nothing is due for d.
func leaseNone(t testing.TB, q queue.Queue, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if ms, err := q.Lease(ctx, 100); len(ms) > 0 || !errors.Is(err, context.DeadlineExceeded) {
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		t.Fatalf("lease: got %v, %v; want nothing due", ids, err)
	}
}

// waitStats waits (Stats may be refreshed in the background) until ok holds.
func waitStats(t testing.TB, q queue.Queue, what string, ok func(queue.Stats) bool) {
	t.Helper()
	var s queue.Stats
	if !WaitUntil(10*time.Second, func() bool { s = q.Stats(); return ok(s) }) {
		t.Fatalf("stats never showed %s: %+v", what, s)
	}
}

func wantCode(t testing.TB, err error, code canonical.Code) *canonical.Error {
	t.Helper()
	var e *canonical.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want code %d", err, code)
	}
	return e
}

func statuses(h []canonical.Change) []canonical.Status {
	var out []canonical.Status
	for _, c := range h {
		out = append(out, c.Status)
	}
	return out
}

func get(t testing.TB, q queue.Queue, id string) *queue.Record {
	t.Helper()
	r, err := q.Get(id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return r
}

func byID(ms []*canonical.Message) map[string]*canonical.Message {
	out := make(map[string]*canonical.Message, len(ms))
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

func finish(t testing.TB, q queue.Queue, m *canonical.Message, st canonical.Status) {
	t.Helper()
	if err := q.Finish(m, canonical.Change{Status: st, Upstream: "sink"}); err != nil {
		t.Fatalf("finish %s as %s: %v", m.ID, st, err)
	}
}

func testEnqueueLeaseFinish(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	a, b, c := NewMsg(), NewMsg(), NewMsg()
	before := time.Now()
	enqueue(t, q, a, b, c)
	after := time.Now()
	seqs := map[uint64]bool{}
	for i, m := range []*canonical.Message{a, b, c} {
		if m.ID == "" || m.Seq == 0 || seqs[m.Seq] || m.Status != canonical.StatusQueued ||
			m.CreatedAt.Before(before.Add(-time.Second)) || m.CreatedAt.After(after.Add(time.Second)) {
			t.Fatalf("message %d after enqueue: id %q seq %d status %q created %v", i, m.ID, m.Seq, m.Status, m.CreatedAt)
		}
		seqs[m.Seq] = true
	}
	waitStats(t, q, "depth 3", func(s queue.Stats) bool { return s.Depth == 3 })

	got := byID(leaseN(t, q, 3, 10*time.Second))
	for _, want := range []*canonical.Message{a, b, c} {
		m := got[want.ID]
		if m == nil || m.Text != want.Text || m.To != want.To || m.Seq != want.Seq || m.Status != canonical.StatusSending {
			t.Fatalf("leased %+v, want %s (%q) with status sending", m, want.ID, want.Text)
		}
	}
	rec := get(t, q, a.ID)
	if rec.Msg.Status != canonical.StatusSending ||
		!slices.Equal(statuses(rec.History), []canonical.Status{canonical.StatusQueued, canonical.StatusSending}) {
		t.Fatalf("get leased: %s %v", rec.Msg.Status, statuses(rec.History))
	}

	finish(t, q, got[a.ID], canonical.StatusSent)
	if err := q.Finish(got[b.ID], canonical.Change{Status: canonical.StatusRejected, Reason: "bad number"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(got[a.ID], canonical.Change{Status: canonical.StatusSent}); err == nil {
		t.Fatal("second Finish of the same lease succeeded")
	}
	if err := q.Finish(got[c.ID], canonical.Change{Status: canonical.StatusQueued}); err == nil {
		t.Fatal("Finish with a status that is not final succeeded")
	}
	rec = get(t, q, a.ID)
	want := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusSent}
	// A backend may keep a finished record slim (Badger drops the text): either is right.
	if rec.Msg.Status != canonical.StatusSent || (rec.Msg.Text != a.Text && rec.Msg.Text != "") || rec.Msg.To != a.To ||
		!slices.Equal(statuses(rec.History), want) || rec.History[2].Upstream != "sink" {
		t.Fatalf("get finished: %+v %+v", rec.Msg, rec.History)
	}
	if rec := get(t, q, b.ID); rec.Msg.Status != canonical.StatusRejected || rec.History[len(rec.History)-1].Reason != "bad number" {
		t.Fatalf("get rejected: %+v", rec)
	}
	if _, err := q.Get("no-such-id"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	leaseNone(t, q, 300*time.Millisecond)
	waitStats(t, q, "depth 1, in flight 1", func(s queue.Stats) bool { return s.Depth == 1 && s.InFlight == 1 })
	finish(t, q, got[c.ID], canonical.StatusSent)
	waitStats(t, q, "depth 0", func(s queue.Stats) bool { return s.Depth == 0 && s.InFlight == 0 })
}

func testIdempotency(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	ctx := context.Background()
	item := func(ref string, hash uint64) queue.Item {
		m := NewMsg()
		m.ClientRef = ref
		return queue.Item{Msg: m, IdemKey: "acme\x00wavy\x00" + ref, IdemHash: hash}
	}
	first := item("k1", 1)
	if dup, err := q.Enqueue(ctx, []queue.Item{first}); err != nil || dup[0] {
		t.Fatalf("first enqueue: %v %v", dup, err)
	}
	orig := first.Msg

	// The same key and content after a restart: a repeat with the original's identity.
	q.Close()
	q = open(t)
	again := item("k1", 1)
	dup, err := q.Enqueue(ctx, []queue.Item{again})
	if err != nil || !dup[0] {
		t.Fatalf("repeat: dup %v, %v", dup, err)
	}
	if m := again.Msg; m.ID != orig.ID || m.Seq != orig.Seq || !m.CreatedAt.Equal(orig.CreatedAt) || m.Status != orig.Status {
		t.Fatalf("repeat got %s/%d/%v/%s, want the original %s/%d/%v/%s", m.ID, m.Seq, m.CreatedAt, m.Status,
			orig.ID, orig.Seq, orig.CreatedAt, orig.Status)
	}

	// The same key with other content fails the whole call, which stores nothing.
	_, err = q.Enqueue(ctx, []queue.Item{item("k9", 9), item("k1", 2)})
	if e := wantCode(t, err, canonical.ErrConflict); e.Field != "client_ref" {
		t.Fatalf("conflict names field %q", e.Field)
	}
	if dup, err := q.Enqueue(ctx, []queue.Item{item("k9", 9)}); err != nil || dup[0] {
		t.Fatalf("k9 was stored by the failed call: dup %v, %v", dup, err)
	}

	// Within one call.
	a, b := item("k2", 5), item("k2", 5)
	dup, err = q.Enqueue(ctx, []queue.Item{a, b})
	if err != nil || !slices.Equal(dup, []bool{false, true}) || b.Msg.ID != a.Msg.ID || b.Msg.Seq != a.Msg.Seq {
		t.Fatalf("same key twice in a call: %v %v, ids %s %s", dup, err, a.Msg.ID, b.Msg.ID)
	}
	_, err = q.Enqueue(ctx, []queue.Item{item("k3", 1), item("k3", 2)})
	wantCode(t, err, canonical.ErrConflict)

	waitStats(t, q, "depth 3", func(s queue.Stats) bool { return s.Depth == 3 })
	got := byID(leaseN(t, q, 3, 10*time.Second))
	if got[orig.ID] == nil || got[a.Msg.ID] == nil {
		t.Fatalf("leased %v, want the originals of k1 and k2", got)
	}
}

// testIdempotencyConcurrent sends one key from many goroutines at once: exactly one
// message is stored, and a key reused with other content is a conflict every time after
// the first.
func testIdempotencyConcurrent(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	const n = 32
	type result struct {
		id        string
		stored    bool
		conflict  bool
		err, err2 error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			m := NewMsg()
			m.ClientRef = "same"
			dup, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m, IdemKey: "same", IdemHash: 7}})
			o := NewMsg()
			o.ClientRef = "other"
			_, err2 := q.Enqueue(context.Background(), []queue.Item{{Msg: o, IdemKey: "other", IdemHash: uint64(i)}})
			r := result{id: m.ID, err: err}
			if err == nil {
				r.stored = !dup[0]
			}
			var e *canonical.Error
			if errors.As(err2, &e) && e.Code == canonical.ErrConflict {
				r.conflict = true
			} else {
				r.err2 = err2
			}
			results <- r
		}()
	}
	ids := map[string]int{}
	stored, conflicts := 0, 0
	for range n {
		r := <-results
		if r.err != nil || r.err2 != nil {
			t.Fatalf("enqueue: %v / %v", r.err, r.err2)
		}
		ids[r.id]++
		if r.stored {
			stored++
		}
		if r.conflict {
			conflicts++
		}
	}
	if len(ids) != 1 || stored != 1 || conflicts != n-1 {
		t.Fatalf("%d distinct ids, %d stored, %d conflicts; want 1, 1, %d", len(ids), stored, conflicts, n-1)
	}
	waitStats(t, q, "depth 2", func(s queue.Stats) bool { return s.Depth == 2 })
	leaseN(t, q, 2, 10*time.Second)
}
