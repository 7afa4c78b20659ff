package queue

import (
	"math/rand/v2"
	"testing"
)

// TestRingRuns: the ready FIFO gives back what was pushed, in order, whatever the mix of
// consecutive Seqs (one slot a run) and others (a slot each), with pops in between.
func TestRingRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r ring
	var want []uint64 // the FIFO as a plain slice
	next := uint64(1)
	for step := range 200000 {
		switch {
		case rng.IntN(3) > 0 || len(want) == 0:
			v := next
			if rng.IntN(8) == 0 {
				v = rng.Uint64N(next) + 1 // out of order: a retry
			} else {
				next++
			}
			r.push(v, int64(step))
			want = append(want, v)
		default:
			if got := r.pop(); got != want[0] {
				t.Fatalf("step %d: pop %d, want %d", step, got, want[0])
			}
			want = want[1:]
		}
		if r.n != len(want) {
			t.Fatalf("step %d: %d held, want %d", step, r.n, len(want))
		}
	}
	for len(want) > 0 {
		if got := r.pop(); got != want[0] {
			t.Fatalf("draining: pop %d, want %d", got, want[0])
		}
		want = want[1:]
	}
	if r.n != 0 || r.slots != 0 {
		t.Fatalf("empty ring holds %d in %d slots", r.n, r.slots)
	}
}

// TestRingRunSlots: a backlog enqueued in order takes a slot or two, not one a message.
func TestRingRunSlots(t *testing.T) {
	var r ring
	for seq := uint64(1); seq <= 1_000_000; seq++ {
		r.push(seq, 0)
	}
	if r.n != 1_000_000 || r.slots != 2 || len(r.buf) > 1024 {
		t.Fatalf("a million in order: %d held in %d slots of %d", r.n, r.slots, len(r.buf))
	}
	for want := uint64(1); want <= 10; want++ {
		if got := r.pop(); got != want {
			t.Fatalf("pop %d, want %d", got, want)
		}
	}
	r.push(5, 0) // a retry: a slot of its own
	r.push(6, 0)
	if r.slots != 4 {
		t.Fatalf("after a retry run: %d slots, want 4", r.slots)
	}
}
