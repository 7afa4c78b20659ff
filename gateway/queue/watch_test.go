package queue

import (
	"errors"
	"testing"
	"time"

	"switchboard/canonical"
)

func overdue(t *testing.T, q *Badger, now time.Time) []*Record {
	t.Helper()
	recs, err := q.Overdue(now, 100)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestWatchResend: a watched message comes up once its deadline passes without a receipt,
// whole, and a resend makes it live again with what the caller set; a restart keeps the
// watch.
func TestWatchResend(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	q := openQueue(t, dir, clk)
	a := newMsg("5511900000001")
	enqueue(t, q, a)
	m := leaseN(t, q, 1)[0]
	m.Upstream, m.UpstreamID, m.Attempts = "first", "f-1", 1
	deadline := clk.Now().Add(time.Minute)
	if err := q.FinishWatch(m, canonical.Change{Status: canonical.StatusSent, Upstream: "first"}, deadline); err != nil {
		t.Fatal(err)
	}
	if rec, _ := q.Get(a.ID); rec.Msg.Status != canonical.StatusSent || rec.Msg.Text != "" {
		t.Fatalf("watched record: %+v", rec.Msg)
	}
	wantStats(t, q, Stats{})
	if got := overdue(t, q, clk.Now()); len(got) != 0 {
		t.Fatalf("overdue before the deadline: %v", got)
	}

	q.Close()
	q = openQueue(t, dir, clk)
	got := overdue(t, q, deadline)
	if len(got) != 1 || got[0].Msg.Text != a.Text || got[0].Msg.Upstream != "first" || got[0].Msg.Attempts != 1 ||
		got[0].Msg.Status != canonical.StatusSent || len(got[0].History) != 3 {
		t.Fatalf("overdue after reopen: %+v", got)
	}
	if again := overdue(t, q, deadline); len(again) != 0 {
		t.Fatalf("overdue twice: %v", again)
	}
	r := got[0].Msg
	r.Extra = map[string]string{"k": "v"}
	if err := q.Resend(r, canonical.Change{Status: canonical.StatusQueued, Upstream: "first", Reason: "no receipt"}); err != nil {
		t.Fatal(err)
	}
	wantStats(t, q, Stats{Depth: 1, Ready: 1})
	m = leaseN(t, q, 1)[0]
	if m.ID != a.ID || m.Text != a.Text || m.Extra["k"] != "v" {
		t.Fatalf("resent message: %+v", m)
	}
	rec, _ := q.Get(a.ID)
	if last := rec.History[len(rec.History)-2]; last.Status != canonical.StatusQueued || last.Reason != "no receipt" {
		t.Fatalf("history after resend: %+v", rec.History)
	}
	if err := q.Resend(r, canonical.Change{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resend of a live message: %v", err)
	}
	if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "second"}); err != nil {
		t.Fatal(err)
	}
	if got := overdue(t, q, deadline.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("overdue after a plain Finish: %v", got)
	}
}

// TestWatchEndsWithReceipt: a receipt past sent ends the watch (and frees the body); a
// receipt that does not move the status (a repeated "sent") does not.
func TestWatchEndsWithReceipt(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	a, b, c := newMsg("5511900000001"), newMsg("5511900000002"), newMsg("5511900000003")
	enqueue(t, q, a, b, c)
	deadline := clk.Now().Add(time.Minute)
	for _, m := range leaseN(t, q, 3) {
		if err := q.FinishWatch(m, canonical.Change{Status: canonical.StatusSent}, deadline); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		id string
		st canonical.Status
	}{{a.ID, canonical.StatusDelivered}, {b.ID, canonical.StatusSent}, {c.ID, canonical.StatusFailed}} {
		if err := q.Record(r.id, canonical.Change{Status: r.st}); err != nil {
			t.Fatal(err)
		}
	}
	got := overdue(t, q, deadline)
	if len(got) != 1 || got[0].Msg.ID != b.ID {
		t.Fatalf("overdue = %+v, want only %s", got, b.ID)
	}
	if err := q.Unwatch(b.ID, canonical.Change{Status: canonical.StatusSent, Reason: "no further upstream"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Unwatch(b.ID, canonical.Change{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second unwatch: %v", err)
	}
	rec, err := q.Get(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Msg.Status != canonical.StatusSent || rec.History[len(rec.History)-1].Reason != "no further upstream" {
		t.Fatalf("after unwatch: %+v %+v", rec.Msg, rec.History)
	}
	if rec, _ := q.Get(a.ID); rec.Msg.Status != canonical.StatusDelivered {
		t.Fatalf("a: %s", rec.Msg.Status)
	}
	// No watch is left on disk: a reopened queue has none.
	dir := q.opts.Dir
	q.Close()
	q = openQueue(t, dir, clk)
	if n := q.watches.len(); n != 0 {
		t.Fatalf("%d watches after reopen", n)
	}
}
