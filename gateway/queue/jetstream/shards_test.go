package jetstream

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/gateway/queue/queuetest"
)

// enqueueN enqueues n new messages one call each and returns their ids.
func enqueueN(t *testing.T, q *Queue, n int, edit func(*canonical.Message)) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		m := newMsg(i)
		if edit != nil {
			edit(m)
		}
		if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// drain leases and finishes until every id in want was leased once, failing on a second
// lease of any id and on anything leased that is not in want; within bounds the time.
func drain(t *testing.T, q *Queue, want []string, within time.Duration) {
	t.Helper()
	left := map[string]bool{}
	for _, id := range want {
		left[id] = true
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(within)
	for len(left) > 0 && time.Now().Before(deadline) {
		for _, m := range leaseWithin(t, q, 64, time.Second) {
			if seen[m.ID] {
				t.Fatalf("message %s leased twice", m.ID)
			}
			if !left[m.ID] {
				t.Fatalf("message %s leased, not one of those enqueued", m.ID)
			}
			seen[m.ID] = true
			delete(left, m.ID)
			if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(left) > 0 {
		t.Fatalf("%d of %d messages never leased", len(left), len(want))
	}
	if ms := leaseWithin(t, q, 64, 1500*time.Millisecond); len(ms) > 0 {
		t.Fatalf("message %s leased again after it was finished", ms[0].ID)
	}
}

// shardDepths is how many messages each shard stream of q holds now.
func shardDepths(t *testing.T, q *Queue) []uint64 {
	t.Helper()
	var out []uint64
	for _, sh := range q.shards {
		info, err := sh.stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info.State.Msgs)
	}
	return out
}

func reopen(t *testing.T, s *server.Server, q *Queue, shards int) *Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	return open(t, s, func(o *Options) { o.Shards = shards })
}

// TestShardsSpreadAndDeliverOnce: new messages are spread over every shard, and each is
// leased exactly once.
func TestShardsSpreadAndDeliverOnce(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, func(o *Options) { o.Shards = 4 })
	ids := enqueueN(t, q, 200, nil)
	d := shardDepths(t, q)
	if len(d) != 4 {
		t.Fatalf("%d shards, want 4", len(d))
	}
	for i, n := range d {
		if n == 0 {
			t.Fatalf("shard %d holds nothing: depths %v", i, d)
		}
	}
	if !queuetest.WaitUntil(5*time.Second, func() bool { return q.Stats().Depth == 200 }) {
		t.Fatalf("stats %+v, want depth 200 over the shards", q.Stats())
	}
	drain(t, q, ids, 30*time.Second)
}

// TestShardsLeasedFairly: a Lease smaller than what is ready does not take from one shard
// only: the shard asked first rotates.
func TestShardsLeasedFairly(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, func(o *Options) { o.Shards = 4 })
	ids := enqueueN(t, q, 200, nil)
	from := map[int]bool{}
	var leased []*canonical.Message
	for range 8 {
		ms := leaseWithin(t, q, 5, 5*time.Second)
		for _, m := range ms {
			from[shardOf(m.ID, 4)] = true
		}
		leased = append(leased, ms...)
	}
	if len(from) != 4 {
		t.Fatalf("40 leases took from shards %v only, want all 4", from)
	}
	for _, m := range leased {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	done := map[string]bool{}
	for _, m := range leased {
		done[m.ID] = true
	}
	var rest []string
	for _, id := range ids {
		if !done[id] {
			rest = append(rest, id)
		}
	}
	drain(t, q, rest, 30*time.Second)
}

// TestShardsDuplicateMsgID: a repeated Nats-Msg-Id goes to the same shard as its original,
// so the stream answers it as a duplicate, for ids of every shard.
func TestShardsDuplicateMsgID(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, func(o *Options) { o.Shards = 4 })
	now := time.Now().UTC()
	shards := map[int]bool{}
	for i := range 24 {
		m := newMsg(i)
		m.ID = canonical.NewID()
		shards[shardOf(m.ID, 4)] = true
		it := queue.Item{Msg: m, IdemKey: "key-" + m.ID}
		for try := range 2 {
			ack, err := q.js.PublishMsg(context.Background(), q.messageOf(it, now))
			if err != nil {
				t.Fatal(err)
			}
			if ack.Duplicate != (try == 1) {
				t.Fatalf("message %d, publish %d: duplicate %v (stream %s)", i, try+1, ack.Duplicate, ack.Stream)
			}
		}
	}
	if len(shards) != 4 {
		t.Fatalf("ids fell in shards %v only", shards)
	}
	// And through Enqueue: the repeat is answered as a duplicate of the first.
	m1, m2 := newMsg(1), newMsg(1)
	m1.ClientRef, m2.ClientRef = "ref-1", "ref-1"
	if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m1, IdemKey: "k1", IdemHash: 7}}); err != nil {
		t.Fatal(err)
	}
	dup, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m2, IdemKey: "k1", IdemHash: 7}})
	if err != nil || len(dup) != 1 || !dup[0] || m2.ID != m1.ID {
		t.Fatalf("repeat: dup %v, id %s (first %s), err %v", dup, m2.ID, m1.ID, err)
	}
}

// TestShardsEarlierLayoutDrained: a queue made by an earlier version (one stream, with a
// ready message and a scheduled one in it) is drained after the upgrade to shards, and
// its messages are found by id meanwhile.
func TestShardsEarlierLayoutDrained(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	old := open(t, s, func(o *Options) { o.Shards = 1 }) // the earlier layout: S alone
	ready := enqueueN(t, old, 30, nil)
	later := enqueueN(t, old, 1, func(m *canonical.Message) { m.NotBefore = time.Now().Add(2 * time.Second) })
	// The earlier version's names, written out: stream SWITCHBOARD, its subjects, consumer dispatch.
	st, err := old.js.Stream(context.Background(), "SWITCHBOARD")
	if err != nil {
		t.Fatal(err)
	}
	if info := st.CachedInfo(); info.State.Msgs != 31 || !slices.Equal(info.Config.Subjects, []string{"SWITCHBOARD.msg.*", "SWITCHBOARD.sched.*"}) {
		t.Fatalf("earlier layout: %d messages on %v, want 31 on SWITCHBOARD.msg.*, SWITCHBOARD.sched.*", info.State.Msgs, info.Config.Subjects)
	}
	if c, err := st.Consumer(context.Background(), "dispatch"); err != nil || c.CachedInfo().Config.FilterSubject != "SWITCHBOARD.msg.*" {
		t.Fatalf("earlier layout's consumer: %v", err)
	}
	q := reopen(t, s, old, 4)
	if d := shardDepths(t, q); len(d) != 4 || d[0] != 31 {
		t.Fatalf("after the upgrade: depths %v, want 31 in shard 0 of 4", d)
	}
	for _, id := range append(ready, later...) {
		if r, err := q.Get(id); err != nil || r == nil {
			t.Fatalf("Get(%s) after the upgrade: %v, %v", id, r, err)
		}
	}
	fresh := enqueueN(t, q, 40, nil)
	drain(t, q, append(append(ready, later...), fresh...), 30*time.Second)
}

// TestShardsChangeStrandsNothing: shrinking the shards drains the streams beyond the new
// count (and finds their messages by id); growing them again leaves nothing behind.
func TestShardsChangeStrandsNothing(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q := open(t, s, func(o *Options) { o.Shards = 4 })
	before := enqueueN(t, q, 60, nil)
	q = reopen(t, s, q, 1)
	if len(q.shards) != 4 {
		t.Fatalf("shards=1 over 4 existing streams consumes %d of them, want all 4", len(q.shards))
	}
	if !queuetest.WaitUntil(5*time.Second, func() bool { return q.Stats().Depth == 60 }) {
		t.Fatalf("stats %+v, want depth 60", q.Stats())
	}
	for _, id := range before {
		if r, err := q.Get(id); err != nil || r == nil || r.Msg.Status != canonical.StatusQueued {
			t.Fatalf("Get(%s) after shrinking: %+v, %v", id, r, err)
		}
	}
	after := enqueueN(t, q, 20, nil)
	if d := shardDepths(t, q); d[0] < 20 {
		t.Fatalf("depths %v: the new messages did not all go to shard 0", d)
	}
	q = reopen(t, s, q, 8)
	if len(q.shards) != 8 {
		t.Fatalf("%d shards after growing to 8", len(q.shards))
	}
	grown := enqueueN(t, q, 40, nil)
	drain(t, q, append(append(before, after...), grown...), 30*time.Second)
}

// TestKeptPullHoldsNoMessage: a shard's waiting pull that a Lease left for the next one
// (another shard delivered first) is handed back before AckWait: a message it receives
// while this gateway does not lease goes to another gateway, and is not leased here too.
func TestKeptPullHoldsNoMessage(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	q1 := open(t, s, func(o *Options) { o.Shards = 2 })
	first := make(chan []*canonical.Message, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ms, _ := q1.Lease(ctx, 1)
		first <- ms
	}()
	// Once the Lease waits on both shards, a message arrives in one of them.
	if !queuetest.WaitUntil(5*time.Second, func() bool {
		for _, sh := range q1.shards {
			if info, err := sh.cons.Info(context.Background()); err != nil || info.NumWaiting == 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the Lease never waited on both shards")
	}
	m1 := newMsg(1)
	enqueueOne(t, q1, m1)
	ms := <-first
	if len(ms) != 1 || ms[0].ID != m1.ID {
		t.Fatalf("leased %v, want %s", ms, m1.ID)
	}
	// The other shard's pull is kept: the next message of that shard is delivered to it.
	m2 := newMsg(2)
	for m2.ID = canonical.NewID(); shardOf(m2.ID, 2) == shardOf(m1.ID, 2); m2.ID = canonical.NewID() {
	}
	enqueueOne(t, q1, m2)
	q2 := open(t, s, func(o *Options) { o.Shards = 2 })
	var got []*canonical.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = leaseWithin(t, q2, 1, time.Second)
	}
	if len(got) != 1 || got[0].ID != m2.ID {
		t.Fatalf("the other gateway leased %v, want %s", got, m2.ID)
	}
	if again := leaseWithin(t, q1, 10, 1500*time.Millisecond); len(again) > 0 {
		t.Fatalf("%s leased by both gateways", again[0].ID)
	}
}

func enqueueOne(t *testing.T, q *Queue, m *canonical.Message) {
	t.Helper()
	if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: m}}); err != nil {
		t.Fatal(err)
	}
}
