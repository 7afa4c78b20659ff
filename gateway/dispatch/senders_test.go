package dispatch

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

// heldFinishes holds every Finish until gate is closed, as a slow sync would.
type heldFinishes struct {
	queue.Queue
	gate <-chan struct{}
	held *atomic.Int64
}

func (q *heldFinishes) Finish(m *canonical.Message, ch canonical.Change) error {
	q.held.Add(1)
	<-q.gate
	return q.Queue.Finish(m, ch)
}

// TestConnectionKeptBusyWhileAFinishWaits: a sender waiting for its message's finish does
// not leave its upstream connection idle. With one connection and every finish held, the
// second message still reaches the upstream while the first one's finish waits.
func TestConnectionKeptBusyWhileAFinishWaits(t *testing.T) {
	s := newSink(t)
	up := httpUpstream("main", s)
	up.MaxConns = 1
	gate := make(chan struct{})
	var held atomic.Int64
	h := startWith(t, testConfig(up), func(d *Dispatcher) {
		d.q = &heldFinishes{Queue: d.q, gate: gate, held: &held}
	})
	var open sync.Once
	t.Cleanup(func() { open.Do(func() { close(gate) }) }) // before the dispatcher stops
	ids := h.send(2, nil)
	testutil.WaitFor(t, 10*time.Second, "both messages at the upstream while a finish waits", func() bool {
		return s.hits.Load() == 2
	})
	if held.Load() == 0 {
		t.Fatal("no finish was waiting when the second message was sent")
	}
	open.Do(func() { close(gate) })
	if c := count(h.wait(ids, 10*time.Second)); c[canonical.StatusSent] != 2 {
		t.Fatalf("statuses %v, want both sent", c)
	}
}
