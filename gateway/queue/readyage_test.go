package queue

import (
	"context"
	"testing"
	"time"
)

// The ring knows when its head was pushed to within markEvery, through pops that cross marks
// and the compaction of old marks.
func TestRingOldest(t *testing.T) {
	var r ring
	if _, ok := r.oldest(); ok {
		t.Fatal("an empty ring has an oldest entry")
	}
	ms := int64(time.Millisecond)
	// 3,000 entries pushed 1 ms apart: a mark every 100 ms or so.
	for i := range 3000 {
		r.push(uint64(i), int64(i)*ms)
	}
	for i := range 3000 {
		at, ok := r.oldest()
		if !ok {
			t.Fatalf("entry %d: no oldest", i)
		}
		pushed := int64(i) * ms
		if at > pushed || pushed-at > markEvery+ms {
			t.Fatalf("entry %d pushed at %d ms: oldest says %d ms", i, pushed/ms, at/ms)
		}
		if v := r.pop(); v != uint64(i) {
			t.Fatalf("popped %d, want %d", v, i)
		}
	}
	if _, ok := r.oldest(); ok {
		t.Fatal("a drained ring has an oldest entry")
	}
	if len(r.marks) != 0 {
		t.Fatalf("a drained ring keeps %d marks", len(r.marks))
	}
	// After draining, the next push starts a mark of its own.
	r.push(7, 10_000*ms)
	if at, _ := r.oldest(); at != 10_000*ms {
		t.Fatalf("oldest after a drain is %d ms, want 10000", at/ms)
	}
}

// The Badger queue reports how long its oldest ready message has waited: from its enqueue,
// from its due time when it was scheduled, nothing once it is leased.
func TestOldestReadyAge(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	if age := q.OldestReadyAge(); age != 0 {
		t.Fatalf("empty queue: age %v", age)
	}
	enqueue(t, q, newMsg("15550000001"))
	clk.Add(3 * time.Second)
	enqueue(t, q, newMsg("15550000002"))
	if age := q.OldestReadyAge(); age < 3*time.Second-time.Duration(markEvery) || age > 3*time.Second {
		t.Fatalf("oldest waited 3s: age %v", age)
	}
	if ms, err := q.Lease(context.Background(), 1); len(ms) != 1 || err != nil {
		t.Fatalf("lease: %d messages, %v", len(ms), err)
	}
	if age := q.OldestReadyAge(); age > time.Duration(markEvery) {
		t.Fatalf("after leasing the oldest, the next is newly ready: age %v", age)
	}
	leaseN(t, q, 1)
	if age := q.OldestReadyAge(); age != 0 {
		t.Fatalf("nothing ready: age %v", age)
	}

	// A scheduled message counts from its due time, not from its enqueue.
	m := newMsg("15550000003")
	m.NotBefore = clk.Now().Add(time.Minute)
	enqueue(t, q, m)
	clk.Add(time.Minute + 2*time.Second)
	if age := q.OldestReadyAge(); age < 2*time.Second-time.Duration(markEvery) || age > 2*time.Second {
		t.Fatalf("due 2s ago: age %v", age)
	}
}
