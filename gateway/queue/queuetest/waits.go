package queuetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

func testRetryDueTime(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	m := NewMsg()
	enqueue(t, q, m)
	l := leaseN(t, q, 1, 10*time.Second)[0]
	l.Attempts, l.LastError, l.Upstream = 1, "upstream said 503", "sink"
	start := time.Now()
	const wait = 1500 * time.Millisecond
	if err := q.Retry(l, start.Add(wait), canonical.Change{Status: canonical.StatusScheduled, Upstream: "sink",
		Reason: "upstream said 503", Code: "503"}); err != nil {
		t.Fatal(err)
	}
	if l.Status != canonical.StatusScheduled {
		t.Fatalf("status after retry %q", l.Status)
	}
	rec := get(t, q, m.ID)
	last := rec.History[len(rec.History)-1]
	if rec.Msg.Status != canonical.StatusScheduled || last.Status != canonical.StatusScheduled || last.Code != "503" || rec.Msg.Attempts != 1 {
		t.Fatalf("get while waiting: %s attempts %d %+v", rec.Msg.Status, rec.Msg.Attempts, rec.History)
	}
	leaseNone(t, q, wait/2)
	again := leaseN(t, q, 1, 10*time.Second)[0]
	if took := time.Since(start); took < wait-200*time.Millisecond {
		t.Fatalf("due again after %v, want about %v", took, wait)
	}
	if again.ID != m.ID || again.Attempts != 1 || again.LastError != "upstream said 503" || again.Text != m.Text {
		t.Fatalf("retried message: %+v", again)
	}
	finish(t, q, again, canonical.StatusSent)
	want := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusScheduled,
		canonical.StatusSending, canonical.StatusSent}
	if rec := get(t, q, m.ID); !slices.Equal(statuses(rec.History), want) || rec.Msg.Attempts != 1 {
		t.Fatalf("history %v attempts %d, want %v", statuses(rec.History), rec.Msg.Attempts, want)
	}
}

func testRelease(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	m := NewMsg()
	enqueue(t, q, m)
	l := leaseN(t, q, 1, 10*time.Second)[0]
	start := time.Now()
	const wait = time.Second
	if err := q.Release(l, start.Add(wait)); err != nil {
		t.Fatal(err)
	}
	if l.Status != canonical.StatusScheduled {
		t.Fatalf("status after release %q", l.Status)
	}
	leaseNone(t, q, wait/2)
	again := leaseN(t, q, 1, 10*time.Second)[0]
	if took := time.Since(start); took < wait-200*time.Millisecond {
		t.Fatalf("due again after %v, want about %v", took, wait)
	}
	if again.ID != m.ID || again.Attempts != 0 {
		t.Fatalf("released message: %+v", again)
	}
	// Released for now: due again at once.
	if err := q.Release(again, time.Now()); err != nil {
		t.Fatal(err)
	}
	finish(t, q, leaseN(t, q, 1, 5*time.Second)[0], canonical.StatusSent)
	if rec := get(t, q, m.ID); rec.Msg.Status != canonical.StatusSent || rec.Msg.Attempts != 0 {
		t.Fatalf("after release and finish: %+v", rec.Msg)
	}
}

func testDeadAndReplay(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	m := NewMsg()
	enqueue(t, q, m)
	l := leaseN(t, q, 1, 10*time.Second)[0]
	l.Attempts, l.LastError = 3, "upstream said 503"
	if err := q.Finish(l, canonical.Change{Status: canonical.StatusDead, Reason: "gave up after 3 attempts"}); err != nil {
		t.Fatal(err)
	}
	waitStats(t, q, "one dead, none live", func(s queue.Stats) bool { return s.Dead == 1 && s.Depth == 0 })
	dl, err := q.DeadLetters(10)
	if err != nil || len(dl) != 1 || dl[0].Msg.ID != m.ID || dl[0].Msg.Status != canonical.StatusDead || dl[0].Msg.Attempts != 3 {
		t.Fatalf("dead letters: %+v, %v", dl, err)
	}
	if rec := get(t, q, m.ID); rec.Msg.Status != canonical.StatusDead {
		t.Fatalf("get dead: %s", rec.Msg.Status)
	}
	if err := q.Replay("no-such-id"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("replay unknown: %v", err)
	}
	if err := q.Replay(m.ID); err != nil {
		t.Fatal(err)
	}
	again := leaseN(t, q, 1, 10*time.Second)[0]
	if again.ID != m.ID || again.Attempts != 0 || again.LastError != "" || again.Text != m.Text {
		t.Fatalf("replayed: %+v", again)
	}
	waitStats(t, q, "no dead", func(s queue.Stats) bool { return s.Dead == 0 })
	if dl, err := q.DeadLetters(10); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters after replay: %d, %v", len(dl), err)
	}
	finish(t, q, again, canonical.StatusSent)
	rec := get(t, q, m.ID)
	if h := statuses(rec.History); rec.Msg.Status != canonical.StatusSent || !slices.Contains(h, canonical.StatusDead) ||
		h[len(h)-1] != canonical.StatusSent {
		t.Fatalf("after replay: %s %v", rec.Msg.Status, h)
	}
}

func testScheduled(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	m := NewMsg()
	m.NotBefore = time.Now().Add(2 * time.Second)
	enqueue(t, q, m)
	if m.Status != canonical.StatusScheduled {
		t.Fatalf("status %q, want scheduled", m.Status)
	}
	leaseNone(t, q, time.Until(m.NotBefore)/2)
	if rec := get(t, q, m.ID); rec.Msg.Status != canonical.StatusScheduled {
		t.Fatalf("get: %s", rec.Msg.Status)
	}
	// Stats may lag: check it while the message certainly waits, or not at all.
	if time.Until(m.NotBefore) > 500*time.Millisecond {
		if s := q.Stats(); s.Depth == 1 && s.Scheduled != 1 {
			t.Fatalf("stats of one scheduled message: %+v", s)
		}
	}
	got := leaseN(t, q, 1, 10*time.Second)[0]
	if early := time.Until(m.NotBefore); early > 100*time.Millisecond {
		t.Fatalf("leased %v before its time", early)
	}
	if got.ID != m.ID {
		t.Fatalf("leased %s, want %s", got.ID, m.ID)
	}
	finish(t, q, got, canonical.StatusSent)
}

// testReceipts: a receipt for a finished message moves it forward, never back; one that
// overtakes the Finish of the message's lease wins over the Finish's own status.
func testReceipts(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	a, b := NewMsg(), NewMsg()
	enqueue(t, q, a, b)
	got := byID(leaseN(t, q, 2, 10*time.Second))

	if err := q.Record(b.ID, canonical.Change{Status: canonical.StatusDelivered, Upstream: "sink"}); err != nil {
		t.Fatal(err)
	}
	finish(t, q, got[b.ID], canonical.StatusSent)
	if got[b.ID].Status != canonical.StatusDelivered {
		t.Fatalf("status after an early receipt %q, want delivered", got[b.ID].Status)
	}
	rec := get(t, q, b.ID)
	if n := countStatus(rec.History, canonical.StatusDelivered); rec.Msg.Status != canonical.StatusDelivered || n != 1 {
		t.Fatalf("early receipt: %s, delivered %d times in %v", rec.Msg.Status, n, statuses(rec.History))
	}

	finish(t, q, got[a.ID], canonical.StatusSent)
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusSent, Reason: "late"}); err != nil {
		t.Fatal(err)
	}
	rec = get(t, q, a.ID)
	want := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusSent,
		canonical.StatusDelivered, canonical.StatusSent}
	if rec.Msg.Status != canonical.StatusDelivered || !slices.Equal(statuses(rec.History), want) {
		t.Fatalf("receipts: %s %v, want delivered %v", rec.Msg.Status, statuses(rec.History), want)
	}
	if err := q.Record("no-such-id", canonical.Change{Status: canonical.StatusRead}); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("record unknown: %v", err)
	}
}

func countStatus(h []canonical.Change, s canonical.Status) int {
	n := 0
	for _, c := range h {
		if c.Status == s {
			n++
		}
	}
	return n
}
