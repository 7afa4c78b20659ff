package jetstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/gateway/queue/queuetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, s *server.Server, edit func(*Options)) *Queue {
	t.Helper()
	o := Options{Servers: []string{s.ClientURL()}, AckWait: time.Second, Logger: quiet}
	if edit != nil {
		edit(&o)
	}
	q, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func newMsg(i int) *canonical.Message {
	return &canonical.Message{Tenant: "acme", To: "5511900000000", Text: "hello " + string(rune('a'+i%26))}
}

// crash forgets q's leases without handing them back, as a gateway that dies does.
func crash(q *Queue) {
	q.leases.takeAll()
}

func leaseWithin(t *testing.T, q *Queue, max int, within time.Duration) []*canonical.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	ms, err := q.Lease(ctx, max)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lease: %v", err)
	}
	return ms
}

// TestGatewaysShareTheQueue: two gateways on one stream split the messages between them,
// never lease one message twice, and each answers for messages the other settled.
func TestGatewaysShareTheQueue(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q1, q2 := open(t, s, nil), open(t, s, nil)
	const n = 200
	var ids []string
	for i := range n {
		m := newMsg(i)
		if _, err := q1.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	var mu sync.Mutex
	leasedBy := map[string]*Queue{}
	count := map[*Queue]int{}
	var wg sync.WaitGroup
	for _, q := range []*Queue{q1, q2} {
		wg.Go(func() {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				mu.Lock()
				all := len(leasedBy) == n
				mu.Unlock()
				if all {
					return
				}
				for _, m := range leaseWithin(t, q, 7, 300*time.Millisecond) {
					mu.Lock()
					if leasedBy[m.ID] != nil {
						t.Errorf("message %s leased twice", m.ID)
					}
					leasedBy[m.ID] = q
					count[q]++
					mu.Unlock()
					if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "sink"}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(leasedBy) != n || count[q1] == 0 || count[q2] == 0 {
		t.Fatalf("leased %d of %d; %d by the first gateway, %d by the second", len(leasedBy), n, count[q1], count[q2])
	}
	for _, id := range ids {
		other := q1
		if leasedBy[id] == q1 {
			other = q2
		}
		if r, err := other.Get(id); err != nil || r.Msg.Status != canonical.StatusSent {
			t.Fatalf("the other gateway's view of %s: %+v, %v", id, r, err)
		}
	}
	t.Logf("%d messages: %d leased by one gateway, %d by the other", n, count[q1], count[q2])
}

// TestDeadGatewaysLeasesMoveOn: a message leased by a gateway that dies is leased by
// another once AckWait has passed.
func TestDeadGatewaysLeasesMoveOn(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q1, q2 := open(t, s, nil), open(t, s, nil)
	m := newMsg(0)
	if _, err := q1.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
		t.Fatal(err)
	}
	if got := leaseWithin(t, q1, 1, 5*time.Second); len(got) != 1 {
		t.Fatalf("leased %d", len(got))
	}
	crash(q1)
	start := time.Now()
	got := leaseWithin(t, q2, 1, 10*time.Second)
	if len(got) != 1 || got[0].ID != m.ID {
		t.Fatalf("the other gateway leased %v", got)
	}
	t.Logf("leased by the second gateway %v after the first died (ack wait 1s)", time.Since(start).Round(time.Millisecond))
}

// TestMaxDeliverDeadLetters: a message delivered MaxDeliver times and never answered is
// dead-lettered, not left in the stream.
func TestMaxDeliverDeadLetters(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, func(o *Options) { o.MaxDeliver = 2 })
	m := newMsg(0)
	if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := leaseWithin(t, q, 1, 10*time.Second); len(got) != 1 {
			t.Fatalf("delivery %d: leased %d", i+1, len(got))
		}
		crash(q)
	}
	// JetStream gives up when it would deliver a third time: while something pulls.
	deadline := time.Now().Add(15 * time.Second)
	for q.Stats().Dead != 1 || q.Stats().Depth != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: the message was not dead-lettered", q.Stats())
		}
		if got := leaseWithin(t, q, 1, 200*time.Millisecond); len(got) > 0 {
			t.Fatalf("delivered more than MaxDeliver times")
		}
	}
	r, err := q.Get(m.ID)
	if err != nil || r.Msg.Status != canonical.StatusDead || !strings.Contains(r.Msg.LastError, "delivered 2 times") {
		t.Fatalf("get: %+v, %v", r, err)
	}
}

// TestStaleDeliveryTurnedAway: a message finished but whose ack was lost is redelivered,
// and the redelivery is acked away instead of sent again.
func TestStaleDeliveryTurnedAway(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, nil)
	m := newMsg(0)
	if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
		t.Fatal(err)
	}
	got := leaseWithin(t, q, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("leased %d", len(got))
	}
	l := q.leases.take(m.ID)
	ctx := context.Background()
	if err := q.settle(ctx, got[0], l, canonical.Change{Status: canonical.StatusSent}, kindFinal, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// No ack: the delivery comes back after AckWait.
	before := staleTotal.Get()
	if again := leaseWithin(t, q, 1, 4*time.Second); len(again) != 0 {
		t.Fatalf("a finished message was leased again: %+v", again[0])
	}
	if staleTotal.Get() == before {
		t.Fatal("the redelivery was not seen")
	}
	if !queuetest.WaitUntil(5*time.Second, func() bool { return q.Stats().Depth == 0 }) {
		t.Fatalf("stale delivery still in the stream: %+v", q.Stats())
	}
}

// TestLeaseOneHolder: of two gateways, one holds the callbacks lease; released, the other
// takes it at once; when its holder dies (no renewals, no release), the lease expires and
// the other takes it, and the dead holder learns it lost the lease.
func TestLeaseOneHolder(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	a, b := open(t, s, nil), open(t, s, nil)
	la, err := a.Lead("callbacks", nil)
	if err != nil || la == nil {
		t.Fatalf("first lead: %v %v", la, err)
	}
	got := make(chan queue.Lease, 1)
	stop := make(chan struct{})
	go func() {
		lb, err := b.Lead("callbacks", stop)
		if err != nil {
			t.Error(err)
		}
		got <- lb
	}()
	select {
	case <-got:
		t.Fatal("two gateways hold the lease")
	case <-time.After(2 * leadPoll):
	}
	la.Release()
	select {
	case <-la.Lost():
	default:
		t.Fatal("released lease not lost")
	}
	var lb queue.Lease
	select {
	case lb = <-got:
	case <-time.After(3 * leadPoll):
		t.Fatal("the lease was not taken after its release")
	}

	// b dies: its connection goes, nothing renews or releases the lease.
	b.nc.Close()
	start := time.Now()
	la, err = a.Lead("callbacks", nil)
	if err != nil || la == nil {
		t.Fatalf("lead after the holder died: %v %v", la, err)
	}
	if d := time.Since(start); d > leadTTL+3*leadPoll {
		t.Fatalf("took the lease of a dead holder after %v", d)
	}
	select {
	case <-lb.Lost():
	case <-time.After(leadTTL):
		t.Fatal("the dead holder still thinks it holds the lease")
	}
	close(stop)
	la.Release()
}
