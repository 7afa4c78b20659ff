package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/canonical"
)

func TestIdempotency(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	q := openQueue(t, dir, clk)
	ctx := context.Background()
	orig := newMsg("5511900000001")
	if dup, err := q.Enqueue(ctx, []Item{{Msg: orig, IdemKey: "acme/wavy/k1", IdemHash: 1}}); err != nil || dup[0] {
		t.Fatalf("first enqueue: %v %v", dup, err)
	}

	// The same key and content later, even after a restart: a repeat, nothing stored.
	q.Close()
	q = openQueue(t, dir, clk)
	clk.Add(time.Minute)
	again := newMsg("5511900000001")
	dup, err := q.Enqueue(ctx, []Item{{Msg: again, IdemKey: "acme/wavy/k1", IdemHash: 1}})
	if err != nil || !dup[0] {
		t.Fatalf("repeat: dup %v, %v", dup, err)
	}
	if again.ID != orig.ID || again.Seq != orig.Seq || !again.CreatedAt.Equal(orig.CreatedAt) || again.Status != orig.Status {
		t.Fatalf("repeat got %s/%d/%v/%s, want the original %s/%d/%v/%s", again.ID, again.Seq, again.CreatedAt,
			again.Status, orig.ID, orig.Seq, orig.CreatedAt, orig.Status)
	}
	wantStats(t, q, Stats{Depth: 1, Ready: 1})

	// The same key with other content: the whole call fails and stores nothing.
	fresh := newMsg("5511900000003")
	_, err = q.Enqueue(ctx, []Item{
		{Msg: fresh, IdemKey: "acme/wavy/k9", IdemHash: 9},
		{Msg: newMsg("5511900000002"), IdemKey: "acme/wavy/k1", IdemHash: 2},
	})
	if e := wantCode(t, err, canonical.ErrConflict); e.Field != "client_ref" {
		t.Fatalf("conflict names field %q", e.Field)
	}
	wantStats(t, q, Stats{Depth: 1, Ready: 1})
	if dup, err := q.Enqueue(ctx, []Item{{Msg: newMsg("5511900000003"), IdemKey: "acme/wavy/k9", IdemHash: 9}}); err != nil || dup[0] {
		t.Fatalf("k9 was stored by the failed call: dup %v, %v", dup, err)
	}

	// Within one call.
	a, b := newMsg("5511900000004"), newMsg("5511900000004")
	dup, err = q.Enqueue(ctx, []Item{{Msg: a, IdemKey: "k2", IdemHash: 5}, {Msg: b, IdemKey: "k2", IdemHash: 5}})
	if err != nil || !slices.Equal(dup, []bool{false, true}) || b.ID != a.ID || b.Seq != a.Seq {
		t.Fatalf("same key twice in a call: %v %v, ids %s %s", dup, err, a.ID, b.ID)
	}
	_, err = q.Enqueue(ctx, []Item{{Msg: newMsg("5511900000005"), IdemKey: "k3", IdemHash: 1},
		{Msg: newMsg("5511900000006"), IdemKey: "k3", IdemHash: 2}})
	wantCode(t, err, canonical.ErrConflict)
	wantStats(t, q, Stats{Depth: 3, Ready: 3})
}

// TestIdempotencyConcurrent sends the same key from many goroutines at once, so that
// repeats meet in one commit group: exactly one is stored.
func TestIdempotencyConcurrent(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := make(map[string]int)
	stored, conflicts := 0, 0
	for i := range n {
		wg.Go(func() {
			m := newMsg("5511900000001")
			dup, err := q.Enqueue(context.Background(), []Item{{Msg: m, IdemKey: "same", IdemHash: 7}})
			// A different hash each time: only the first may be stored.
			_, err2 := q.Enqueue(context.Background(), []Item{{Msg: newMsg("5511900000002"), IdemKey: "other", IdemHash: uint64(i)}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("enqueue: %v", err)
				return
			}
			ids[m.ID]++
			if !dup[0] {
				stored++
			}
			if err2 != nil {
				wantCode(t, err2, canonical.ErrConflict)
				conflicts++
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || stored != 1 || conflicts != n-1 {
		t.Fatalf("%d distinct ids, %d stored, %d conflicts; want 1, 1, %d", len(ids), stored, conflicts, n-1)
	}
	wantStats(t, q, Stats{Depth: 2, Ready: 2})
}

func TestRecordReceipts(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	a, b := newMsg("5511900000001"), newMsg("5511900000002")
	enqueue(t, q, a, b)
	ms := leaseN(t, q, 2)

	// A receipt that overtakes our own Finish: the further status wins, recorded once.
	clk.Add(time.Second)
	if err := q.Record(b.ID, canonical.Change{Status: canonical.StatusDelivered, Upstream: "sink"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(ms[1], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if ms[1].Status != canonical.StatusDelivered {
		t.Fatalf("status after early receipt %q", ms[1].Status)
	}
	rec, _ := q.Get(b.ID)
	want := []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusDelivered, canonical.StatusSent}
	if rec.Msg.Status != canonical.StatusDelivered || !slices.Equal(statuses(rec.History), want) {
		t.Fatalf("early receipt: %s %v", rec.Msg.Status, statuses(rec.History))
	}

	// Receipts after Finish move the status forward only.
	if err := q.Finish(ms[0], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []canonical.Status{canonical.StatusRead, canonical.StatusDelivered} {
		clk.Add(time.Second)
		if err := q.Record(a.ID, canonical.Change{Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ = q.Get(a.ID)
	want = []canonical.Status{canonical.StatusQueued, canonical.StatusSending, canonical.StatusSent,
		canonical.StatusRead, canonical.StatusDelivered}
	if rec.Msg.Status != canonical.StatusRead || !slices.Equal(statuses(rec.History), want) {
		t.Fatalf("late receipts: %s %v", rec.Msg.Status, statuses(rec.History))
	}
	if err := q.Record("no-such-id", canonical.Change{Status: canonical.StatusDelivered}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record unknown id: %v", err)
	}
}

func TestByRef(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	var want []string
	for i := range 3 {
		m := newMsg(fmt.Sprintf("551190000000%d", i))
		m.ClientRef = "order-1"
		if i == 2 {
			m.ClientRef = "order-12" // a longer ref with the same start
		}
		enqueue(t, q, m)
		if i < 2 {
			want = append(want, m.ID)
		}
	}
	other := newMsg("5511900000009")
	other.Tenant, other.ClientRef = "acme2", "order-1"
	enqueue(t, q, other)
	got, err := q.ByRef("acme", "order-1")
	slices.Sort(want)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ByRef = %v, %v; want %v", got, err, want)
	}
	if got, _ := q.ByRef("acme", "nope"); len(got) != 0 {
		t.Fatalf("ByRef unknown = %v", got)
	}
}

func TestChangesCursor(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	q := openQueue(t, dir, clk)
	var acme []*canonical.Message
	for i := range 3 {
		acme = append(acme, newMsg(fmt.Sprintf("551190000000%d", i)))
	}
	other := newMsg("5511900000009")
	other.Tenant = "other"
	enqueue(t, q, append(acme, other)...)
	ms := leaseN(t, q, 4)
	for _, m := range ms[:2] {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Retry(ms[2], clk.Now().Add(time.Minute), canonical.Change{Reason: "503"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(ms[3], canonical.Change{Status: canonical.StatusFailed}); err != nil {
		t.Fatal(err)
	}
	if err := q.Record(acme[0].ID, canonical.Change{Status: canonical.StatusDelivered}); err != nil {
		t.Fatal(err)
	}

	ids := func(rs []*Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Msg.ID+":"+string(r.Msg.Status))
		}
		return out
	}
	first, err := q.Changes("acme", 2)
	if err != nil {
		t.Fatal(err)
	}
	// acme[0] changed twice (sent, then delivered): once, with its current status.
	want := []string{acme[0].ID + ":delivered", acme[1].ID + ":sent"}
	if !slices.Equal(ids(first), want) {
		t.Fatalf("first changes %v, want %v", ids(first), want)
	}
	second, _ := q.Changes("acme", 10)
	// acme[0]'s later change (the receipt) comes again: it is after the cursor.
	want = []string{acme[2].ID + ":scheduled", acme[0].ID + ":delivered"}
	if !slices.Equal(ids(second), want) {
		t.Fatalf("second changes %v, want %v", ids(second), want)
	}
	if rest, _ := q.Changes("acme", 10); len(rest) != 0 {
		t.Fatalf("changes after the end: %v", ids(rest))
	}

	// The cursor survives a restart; the other tenant's feed is its own.
	q.Close()
	q = openQueue(t, dir, clk)
	if rest, _ := q.Changes("acme", 10); len(rest) != 0 {
		t.Fatalf("changes after restart: %v", ids(rest))
	}
	if got, _ := q.Changes("other", 10); !slices.Equal(ids(got), []string{other.ID + ":failed"}) {
		t.Fatalf("other tenant's changes %v", ids(got))
	}
	if err := q.Record(acme[1].ID, canonical.Change{Status: canonical.StatusRead}); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Changes("acme", 10); !slices.Equal(ids(got), []string{acme[1].ID + ":read"}) {
		t.Fatalf("changes after a new receipt %v", ids(got))
	}
}

func TestTemplateSentSince(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	tmpl := func(to string) *canonical.Message {
		m := newMsg(to)
		m.Kind, m.Template = canonical.KindTemplate, &canonical.Template{Name: "welcome", Language: "en"}
		return m
	}
	sent, failed, plain := tmpl("5511900000001"), tmpl("5511900000002"), newMsg("5511900000003")
	enqueue(t, q, sent, failed, plain)
	ms := leaseN(t, q, 3)
	start := clk.Now()
	clk.Add(time.Minute)
	for i, st := range []canonical.Status{canonical.StatusSent, canonical.StatusFailed, canonical.StatusSent} {
		if err := q.Finish(ms[i], canonical.Change{Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	to := []string{"5511900000001", "5511900000002", "5511900000003", "5511900000004"}
	got, err := q.TemplateSentSince("acme", to, "", start)
	if err != nil || len(got) != 1 || !got["5511900000001"].Equal(clk.Now()) {
		t.Fatalf("TemplateSentSince = %v, %v; want only 5511900000001 at %v", got, err, clk.Now())
	}
	if got, _ := q.TemplateSentSince("acme", to, "", clk.Now().Add(time.Second)); len(got) != 0 {
		t.Fatalf("since after the send: %v", got)
	}
	if got, _ := q.TemplateSentSince("acme2", to, "", start); len(got) != 0 {
		t.Fatalf("another tenant: %v", got)
	}
}

func TestRecordCodec(t *testing.T) {
	m := newMsg("5511900000001")
	m.ID, m.Seq = canonical.NewID(), 7
	hist := []canonical.Change{
		{Status: canonical.StatusQueued, At: time.Unix(100, 5).UTC()},
		{Status: canonical.StatusFailed, At: time.Unix(200, 0).UTC(), Upstream: "u", Reason: "r", Code: "c"},
		{Status: canonical.StatusSending},
	}
	b := appendHead(nil, m)
	bounds := map[int]bool{len(b): true} // where a record may end
	for _, c := range hist {
		b = canonical.AppendChange(b, c)
		bounds[len(b)] = true
	}
	rec, err := decodeRecord(b)
	if err != nil || rec.Msg.ID != m.ID || !slices.Equal(rec.History, hist) {
		t.Fatalf("round trip: %+v %v", rec, err)
	}
	for i := range len(b) {
		if _, err := decodeRecord(b[:i]); (err == nil) != bounds[i] {
			t.Fatalf("record cut at %d of %d: err %v", i, len(b), err)
		}
	}
	merged := mergeChanges(canonical.AppendChange(nil, hist[0]), canonical.AppendChange(canonical.AppendChange(nil, hist[0]), hist[1]))
	if got, _ := canonical.DecodeChanges(merged); !slices.Equal(got, hist[:2]) {
		t.Fatalf("merge: %+v", got)
	}
}

// TestConcurrentRecords sends receipts for many messages at once, so that several meet in
// one commit group.
func TestConcurrentRecords(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	var msgs []*canonical.Message
	for i := range 64 {
		msgs = append(msgs, newMsg(fmt.Sprintf("55119000000%02d", i)))
	}
	enqueue(t, q, msgs...)
	for _, m := range leaseN(t, q, len(msgs)) {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, m := range msgs {
		wg.Go(func() {
			if err := q.Record(m.ID, canonical.Change{Status: canonical.StatusDelivered}); err != nil {
				t.Errorf("record %s: %v", m.ID, err)
			}
		})
	}
	wg.Wait()
	for _, m := range msgs {
		if rec, err := q.Get(m.ID); err != nil || rec.Msg.Status != canonical.StatusDelivered {
			t.Fatalf("%s after receipt: %+v, %v", m.ID, rec, err)
		}
	}
}
