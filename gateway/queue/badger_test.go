package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openQueue(t testing.TB, dir string, clk *clock, edit ...func(*Options)) *Badger {
	t.Helper()
	o := Options{Dir: dir, Logger: quiet, MemoryMB: 32}
	if clk != nil {
		o.Now = clk.Now
	}
	for _, e := range edit {
		e(&o)
	}
	q, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func newMsg(to string) *canonical.Message {
	return &canonical.Message{Tenant: "acme", To: to, Channel: canonical.ChannelWhatsApp,
		Kind: canonical.KindText, Text: "hello " + to}
}

func enqueue(t testing.TB, q *Badger, msgs ...*canonical.Message) {
	t.Helper()
	items := make([]Item, len(msgs))
	for i, m := range msgs {
		items[i] = Item{Msg: m}
	}
	if _, err := q.Enqueue(context.Background(), items); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

// leaseN takes exactly n messages, failing if they do not come within a few seconds, and
// checks that nothing more is due.
func leaseN(t testing.TB, q *Badger, n int) []*canonical.Message {
	t.Helper()
	var out []*canonical.Message
	for len(out) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ms, err := q.Lease(ctx, n-len(out))
		cancel()
		if err != nil {
			t.Fatalf("lease after %d of %d: %v", len(out), n, err)
		}
		out = append(out, ms...)
	}
	leaseNone(t, q)
	return out
}

func leaseNone(t testing.TB, q *Badger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if ms, err := q.Lease(ctx, 100); len(ms) > 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lease: got %d messages, %v; want none due", len(ms), err)
	}
}

func wantStats(t testing.TB, q *Badger, want Stats) {
	t.Helper()
	if got := q.Stats(); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
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

func TestEnqueueLeaseFinish(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	a, b, c := newMsg("5511900000001"), newMsg("5511900000002"), newMsg("5511900000003")
	enqueue(t, q, a, b, c)
	for i, m := range []*canonical.Message{a, b, c} {
		if m.ID == "" || m.Status != canonical.StatusQueued || !m.CreatedAt.Equal(clk.Now()) {
			t.Fatalf("message %d after enqueue: id %q status %q created %v", i, m.ID, m.Status, m.CreatedAt)
		}
	}
	if !(a.Seq < b.Seq && b.Seq < c.Seq) {
		t.Fatalf("seqs not increasing: %d %d %d", a.Seq, b.Seq, c.Seq)
	}
	wantStats(t, q, Stats{Depth: 3, Ready: 3})

	got := leaseN(t, q, 3)
	for i, m := range got {
		want := []*canonical.Message{a, b, c}[i]
		if m.ID != want.ID || m.Text != want.Text || m.Status != canonical.StatusSending {
			t.Fatalf("leased %d: %+v, want id %s in order, status sending", i, m, want.ID)
		}
	}
	wantStats(t, q, Stats{Depth: 3, InFlight: 3})
	rec, err := q.Get(a.ID)
	if err != nil || rec.Msg.Status != canonical.StatusSending ||
		!slices.Equal(statuses(rec.History), []canonical.Status{canonical.StatusQueued, canonical.StatusSending}) {
		t.Fatalf("get leased: %+v, %v", rec, err)
	}

	clk.Add(time.Second)
	if err := q.Finish(got[0], canonical.Change{Status: canonical.StatusSent, Upstream: "sink"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(got[1], canonical.Change{Status: canonical.StatusRejected, Reason: "bad number"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(got[0], canonical.Change{Status: canonical.StatusSent}); err == nil {
		t.Fatal("second Finish of the same lease succeeded")
	}
	if err := q.Finish(got[2], canonical.Change{Status: canonical.StatusQueued}); err == nil {
		t.Fatal("Finish with a status that is not final succeeded")
	}
	wantStats(t, q, Stats{Depth: 1, InFlight: 1})

	rec, err = q.Get(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantHist := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusSent}
	// A finished record is slim: the text is gone, the addressing stays.
	if rec.Msg.Status != canonical.StatusSent || rec.Msg.Text != "" || rec.Msg.To != a.To || !slices.Equal(statuses(rec.History), wantHist) ||
		rec.History[2].Upstream != "sink" || !rec.History[2].At.Equal(clk.Now()) {
		t.Fatalf("get finished: %+v %+v", rec.Msg, rec.History)
	}
	if rec, _ := q.Get(b.ID); rec == nil || rec.Msg.Status != canonical.StatusRejected || rec.History[2].Reason != "bad number" {
		t.Fatalf("get rejected: %+v", rec)
	}
	if _, err := q.Get("no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	leaseNone(t, q)
}

// TestFreshValues: a Lease soon after the Enqueue takes the values the schedule kept rather
// than reading them back, within freshMax bytes; a receipt recorded before the lease drops the
// kept value, so that the history reads as it does from disk.
func TestFreshValues(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	a, b, later := newMsg("5511900000001"), newMsg("5511900000002"), newMsg("5511900000003")
	later.NotBefore = clk.Now().Add(time.Hour)
	enqueue(t, q, a, b, later)
	if len(q.sched.fresh) != 2 || q.sched.freshBytes == 0 {
		t.Fatalf("after enqueue: %d fresh values, %d bytes; want those of the two due", len(q.sched.fresh), q.sched.freshBytes)
	}
	clk.Add(time.Second)
	if err := q.Record(b.ID, canonical.Change{Status: canonical.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.sched.fresh[b.Seq]; ok || len(q.sched.fresh) != 1 {
		t.Fatal("a receipt did not drop the fresh value")
	}
	ms := leaseN(t, q, 2)
	if len(q.sched.fresh) != 0 || q.sched.freshBytes != 0 {
		t.Fatalf("after lease: %d fresh values, %d bytes", len(q.sched.fresh), q.sched.freshBytes)
	}
	for i, want := range []*canonical.Message{a, b} {
		if m := ms[i]; m.ID != want.ID || m.Seq != want.Seq || m.Text != want.Text || !m.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("leased %+v, want %+v", m, want)
		}
	}
	for _, m := range ms {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id   string
		want []canonical.Status
	}{
		{a.ID, []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusSent}},
		{b.ID, []canonical.Status{canonical.StatusQueued, canonical.StatusDelivered, canonical.StatusSending, canonical.StatusSent}},
	} {
		if rec, err := q.Get(tc.id); err != nil || !slices.Equal(statuses(rec.History), tc.want) {
			t.Fatalf("history of %s: %+v, %v; want %v", tc.id, rec, err, tc.want)
		}
	}

	// Beyond freshMax the values are read back.
	big := make([]*canonical.Message, freshMax/(60<<10)+10)
	for i := range big {
		big[i] = newMsg(fmt.Sprintf("55119000%05d", i))
		big[i].Text = strings.Repeat(string(rune('a'+i%26)), 60<<10)
	}
	enqueue(t, q, big...)
	if q.sched.freshBytes > freshMax || len(q.sched.fresh) >= len(big) {
		t.Fatalf("%d of %d values kept, %d bytes", len(q.sched.fresh), len(big), q.sched.freshBytes)
	}
	for i, m := range leaseN(t, q, len(big)) {
		if m.ID != big[i].ID || m.Text != big[i].Text {
			t.Fatalf("leased %d: %s, want %s", i, m.ID, big[i].ID)
		}
	}
}

// TestWriterBoundsValues: a transaction holds at most maxTxnValues of values; the writer
// goes on in another.
func TestWriterBoundsValues(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	w := writer{txn: q.db.NewTransaction(true), db: q.db}
	first := w.txn
	v := bytes.Repeat([]byte{'v'}, 1<<20)
	const n = maxTxnValues>>20 + 4
	for i := range n {
		w.set(fmt.Appendf(nil, "k/%d", i), v, false)
	}
	if w.txn == first || w.values > maxTxnValues {
		t.Fatalf("one transaction holds %d bytes of values", w.values)
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	err := q.db.View(func(txn *badger.Txn) error {
		for i := range n {
			item, err := txn.Get(fmt.Appendf(nil, "k/%d", i))
			if err != nil {
				return err
			}
			if got, err := item.ValueCopy(nil); err != nil || !bytes.Equal(got, v) {
				return fmt.Errorf("k/%d: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRestartKeepsQueuedAndLeased(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	q := openQueue(t, dir, clk)
	var msgs []*canonical.Message
	for i := range 5 {
		msgs = append(msgs, newMsg(fmt.Sprintf("55119000000%02d", i)))
	}
	later := newMsg("5511900000099")
	later.NotBefore = clk.Now().Add(time.Hour)
	enqueue(t, q, msgs...)
	enqueue(t, q, later)
	leased := leaseN(t, q, 5)
	if err := q.Finish(leased[0], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	wantStats(t, q, Stats{Depth: 5, InFlight: 4, Scheduled: 1})
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	q = openQueue(t, dir, clk)
	wantStats(t, q, Stats{Depth: 5, Ready: 4, Scheduled: 1})
	again := leaseN(t, q, 4)
	for i, m := range again {
		if m.ID != msgs[i+1].ID || m.Seq != msgs[i+1].Seq {
			t.Fatalf("after restart leased %s (seq %d), want %s", m.ID, m.Seq, msgs[i+1].ID)
		}
	}
	next := newMsg("5511900000100")
	enqueue(t, q, next)
	if next.Seq <= later.Seq {
		t.Fatalf("seq after restart %d, not above %d", next.Seq, later.Seq)
	}
	if rec, err := q.Get(msgs[0].ID); err != nil || rec.Msg.Status != canonical.StatusSent {
		t.Fatalf("finished record after restart: %+v, %v", rec, err)
	}
	clk.Add(time.Hour)
	if got := leaseN(t, q, 2); got[0].ID != next.ID || got[1].ID != later.ID {
		t.Fatalf("leased %s %s, want the new one (due first) then the scheduled one", got[0].ID, got[1].ID)
	}
}

func TestNotBeforeIsNotLeasedEarly(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	m := newMsg("5511900000001")
	m.NotBefore = clk.Now().Add(10 * time.Minute)
	enqueue(t, q, m)
	if m.Status != canonical.StatusScheduled {
		t.Fatalf("status %q, want scheduled", m.Status)
	}
	wantStats(t, q, Stats{Depth: 1, Scheduled: 1})
	leaseNone(t, q)
	clk.Add(10*time.Minute - time.Nanosecond)
	leaseNone(t, q)
	clk.Add(time.Nanosecond)
	if got := leaseN(t, q, 1); got[0].ID != m.ID {
		t.Fatalf("leased %s", got[0].ID)
	}
}

// TestLeaseWakesAtDueTime uses the real clock: a waiting Lease must wake when the next
// message becomes due, and when a message is enqueued.
func TestLeaseWakesAtDueTime(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	m := newMsg("5511900000001")
	m.NotBefore = time.Now().Add(300 * time.Millisecond)
	enqueue(t, q, m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := q.Lease(ctx, 10)
	if err != nil || len(got) != 1 || time.Now().Before(m.NotBefore) {
		t.Fatalf("lease: %d messages, %v, at %v (due %v)", len(got), err, time.Now(), m.NotBefore)
	}

	done := make(chan []*canonical.Message, 1)
	go func() {
		ms, _ := q.Lease(ctx, 10)
		done <- ms
	}()
	waitBlocked(t, "select", "queue.(*Badger).Lease") // the Lease waits: nothing is due
	enqueue(t, q, newMsg("5511900000002"))
	if ms := <-done; len(ms) != 1 {
		t.Fatalf("waiting lease got %d messages", len(ms))
	}
}

func TestRetrySchedulesAtBackoff(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	q := openQueue(t, dir, clk)
	m := newMsg("5511900000001")
	enqueue(t, q, m)
	got := leaseN(t, q, 1)[0]
	got.Attempts, got.LastError = 1, "upstream 503"
	at := clk.Now().Add(10 * time.Minute)
	if err := q.Retry(got, at, canonical.Change{Upstream: "sink", Reason: "upstream 503", Code: "503"}); err != nil {
		t.Fatal(err)
	}
	if got.Status != canonical.StatusScheduled {
		t.Fatalf("status after retry %q", got.Status)
	}
	wantStats(t, q, Stats{Depth: 1, Scheduled: 1})
	clk.Add(9 * time.Minute)
	leaseNone(t, q)

	// The due time and the attempt survive a restart.
	q.Close()
	q = openQueue(t, dir, clk)
	wantStats(t, q, Stats{Depth: 1, Scheduled: 1})
	leaseNone(t, q)
	clk.Add(time.Minute)
	again := leaseN(t, q, 1)[0]
	if again.ID != m.ID || again.Attempts != 1 || again.LastError != "upstream 503" {
		t.Fatalf("leased after retry: %+v", again)
	}
	rec, err := q.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusScheduled, canonical.StatusSending}
	if !slices.Equal(statuses(rec.History), want) || rec.History[2].Code != "503" {
		t.Fatalf("history %+v", rec.History)
	}
	// Release puts it back without an attempt and without a write.
	if err := q.Release(again, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantStats(t, q, Stats{Depth: 1, Scheduled: 1})
	if err := q.Release(again, clk.Now()); err == nil {
		t.Fatal("releasing a message that is not leased succeeded")
	}
	clk.Add(time.Minute)
	if again = leaseN(t, q, 1)[0]; again.Attempts != 1 {
		t.Fatalf("attempts after release %d", again.Attempts)
	}
}

func TestDeadLettersAndReplay(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	q := openQueue(t, dir, clk)
	a, b := newMsg("5511900000001"), newMsg("5511900000002")
	enqueue(t, q, a, b)
	for _, m := range leaseN(t, q, 2) {
		m.Attempts, m.LastError = 10, "timeout"
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusDead, Reason: "retries exhausted"}); err != nil {
			t.Fatal(err)
		}
	}
	wantStats(t, q, Stats{Dead: 2})
	q.Close()
	q = openQueue(t, dir, clk)
	wantStats(t, q, Stats{Dead: 2})

	dead, err := q.DeadLetters(10)
	if err != nil || len(dead) != 2 || dead[0].Msg.ID != a.ID || dead[1].Msg.ID != b.ID ||
		dead[0].Msg.Status != canonical.StatusDead || dead[0].Msg.Attempts != 10 {
		t.Fatalf("dead letters: %v %+v", err, dead)
	}
	if one, _ := q.DeadLetters(1); len(one) != 1 {
		t.Fatalf("DeadLetters(1) returned %d", len(one))
	}
	if rec, err := q.Get(b.ID); err != nil || rec.Msg.Status != canonical.StatusDead {
		t.Fatalf("get dead: %+v, %v", rec, err)
	}

	if err := q.Replay(a.ID); err != nil {
		t.Fatal(err)
	}
	wantStats(t, q, Stats{Depth: 1, Ready: 1, Dead: 1})
	if err := q.Replay(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replaying a live message: %v", err)
	}
	if err := q.Replay("no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replaying an unknown id: %v", err)
	}
	m := leaseN(t, q, 1)[0]
	if m.ID != a.ID || m.Attempts != 0 || m.LastError != "" {
		t.Fatalf("replayed message: %+v", m)
	}
	rec, _ := q.Get(a.ID)
	h := rec.History
	if len(h) < 2 || h[len(h)-2].Status != canonical.StatusQueued || h[len(h)-2].Reason != "replayed" {
		t.Fatalf("history after replay: %+v", h)
	}
	if dead, _ := q.DeadLetters(10); len(dead) != 1 || dead[0].Msg.ID != b.ID {
		t.Fatalf("dead letters after replay: %+v", dead)
	}
}

func TestMaxDepth(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil, func(o *Options) { o.MaxDepth = 3 })
	enqueue(t, q, newMsg("5511900000001"), newMsg("5511900000002"))
	_, err := q.Enqueue(context.Background(), []Item{{Msg: newMsg("5511900000003")}, {Msg: newMsg("5511900000004")}})
	if e := wantCode(t, err, canonical.ErrUnavailable); e.RetryAfter <= 0 {
		t.Fatalf("full queue error without Retry-After: %+v", e)
	}
	enqueue(t, q, newMsg("5511900000003"))
	_, err = q.Enqueue(context.Background(), []Item{{Msg: newMsg("5511900000005")}})
	wantCode(t, err, canonical.ErrUnavailable)
	wantStats(t, q, Stats{Depth: 3, Ready: 3})
	m := leaseN(t, q, 3)[0]
	if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, q, newMsg("5511900000005"))
}

func TestCloseWakesLeaseAndRefusesWork(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	enqueue(t, q, newMsg("5511900000001"))
	m := leaseN(t, q, 1)[0]
	errc := make(chan error, 1)
	go func() {
		_, err := q.Lease(context.Background(), 1)
		errc <- err
	}()
	waitBlocked(t, "select", "queue.(*Badger).Lease") // the Lease waits: nothing is due
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		wantCode(t, err, canonical.ErrUnavailable)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting Lease")
	}
	_, err := q.Enqueue(context.Background(), []Item{{Msg: newMsg("5511900000002")}})
	wantCode(t, err, canonical.ErrUnavailable)
	wantCode(t, q.Finish(m, canonical.Change{Status: canonical.StatusSent}), canonical.ErrUnavailable)
}

func TestConcurrentEnqueue(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	const workers, each = 64, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := newMsg(fmt.Sprintf("55119%04d%04d", w, i))
				if _, err := q.Enqueue(context.Background(), []Item{{Msg: m}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantStats(t, q, Stats{Depth: workers * each, Ready: workers * each})
	ids := make(map[string]bool)
	seqs := make(map[uint64]bool)
	for _, m := range leaseN(t, q, workers*each) {
		if ids[m.ID] || seqs[m.Seq] {
			t.Fatalf("message %s (seq %d) leased twice", m.ID, m.Seq)
		}
		ids[m.ID], seqs[m.Seq] = true, true
	}
}
