package jetstream

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/gateway/queue"
)

// Shards. With sync_interval: always a stream writes and fsyncs each message before it
// acknowledges it, one message after the other in the stream's own goroutine, so one work
// stream's accepts are bounded by the disk's fsync latency; several streams' fsyncs run at
// once, and the filesystem's journal commits them together (bench/RESULTS.md, "the eighth
// session, JetStream shards"). So the work queue is K streams:
//
//	S      shard 0, the stream of earlier versions, unchanged: S.msg.<id>, S.sched.<id>,
//	       consumer "dispatch". A queue made by an earlier version is served as before.
//	S_<n>  shard n (1..K-1): S_<n>.msg.<id>, S_<n>.sched.<id>, its own "dispatch" consumer.
//
// A new message goes to the shard of its id (shardOf), so that Nats-Msg-Id's dedup, which
// is per stream, meets every repeat of it, and a lookup by id asks that shard first. A
// message stays in the stream it was published to: a wait (schedule) is re-published to
// the stream the delivery came from. Every shard stream that exists is consumed, whatever
// K is now: when K shrinks, the streams beyond it are drained (and no longer published to);
// when it grows, the new ones are created. Lookups by id ask the other shards when the
// message is not in its own (K changed, or gateways with different K share the queue).
type shard struct {
	n                int
	name             string // stream name
	msgPre, schedPre string
	stream           jetstream.Stream
	cons             jetstream.Consumer

	mu     sync.Mutex
	pull   jetstream.MessageBatch // a waiting pull that no Lease took up yet (see waitOne)
	keptAt time.Time              // when pull was put back
}

// shardName is shard n's stream: S for shard 0, S_<n> for the others.
func shardName(stream string, n int) string {
	if n == 0 {
		return stream
	}
	return stream + "_" + strconv.Itoa(n)
}

// shardOf is the home shard of a message id among the first k.
func shardOf(id string, k int) int {
	if k <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(k))
}

// home is the shard new messages with this id are published to.
func (q *Queue) home(id string) *shard { return q.shards[shardOf(id, q.opts.Shards)] }

// pullFailedPause is how long a Lease waits after a pull failed, before pulling again.
const pullFailedPause = 100 * time.Millisecond

// shardOfDelivery is the shard a delivery came from: its subject's first token is the
// stream's name (stream names hold no dots).
func (q *Queue) shardOfDelivery(jm jetstream.Msg) *shard {
	name, _, _ := strings.Cut(jm.Subject(), ".")
	for _, s := range q.shards {
		if s.name == name {
			return s
		}
	}
	return q.shards[0] // not reached: every delivery comes from a shard's consumer
}

// setupShards creates or updates shards 0..K-1 and takes up every further shard stream
// that exists (left by a run with a larger K), so that its messages are still delivered.
func (q *Queue) setupShards(ctx context.Context) error {
	count := q.opts.Shards
	names := q.js.StreamNames(ctx)
	for name := range names.Name() {
		if n, ok := shardNumber(q.opts.Stream, name); ok && n >= count {
			count = n + 1
		}
	}
	if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return fmt.Errorf("cannot list streams: %w", err)
	}
	for n := range count {
		s := &shard{n: n, name: shardName(q.opts.Stream, n)}
		s.msgPre, s.schedPre = s.name+".msg.", s.name+".sched."
		if n >= q.opts.Shards {
			// Beyond K: consumed only. An update would do no harm, but its absence
			// (deleted meanwhile by an operator) must not be created again.
			st, err := q.js.Stream(ctx, s.name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("stream %s: %w", s.name, err)
			}
			s.stream = st
			q.log.Info("draining a shard beyond queue.nats.shards", "stream", s.name, "shards", q.opts.Shards)
		} else {
			st, err := retry(ctx, q, func(ctx context.Context) (jetstream.Stream, error) {
				return q.js.CreateOrUpdateStream(ctx, q.workConfig(s))
			})
			if err != nil {
				return fmt.Errorf("stream %s (needs nats-server %s or later): %w", s.name, minServerVersion, err)
			}
			s.stream = st
		}
		var err error
		if s.cons, err = retry(ctx, q, func(ctx context.Context) (jetstream.Consumer, error) {
			return q.createConsumer(ctx, s)
		}); err != nil {
			return fmt.Errorf("consumer %s on %s: %w", consumerName, s.name, err)
		}
		q.shards = append(q.shards, s)
	}
	return nil
}

// shardNumber reports whether name is a shard stream of stream beyond shard 0 (S_<n>, n >= 1).
func shardNumber(stream, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, stream+"_")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

func (q *Queue) workConfig(s *shard) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        s.name,
		Description: "Switchboard messages waiting to be sent",
		Subjects:    []string{s.msgPre + "*", s.schedPre + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.opts.Replicas,
		Duplicates:  dedupWindow,
		Discard:     jetstream.DiscardOld, // the scheduler needs it; MaxDepth is checked at Enqueue
		AllowDirect: true,
		// The scheduler needs both.
		AllowMsgSchedules: true,
		AllowRollup:       true,
	}
}

// fetchNoWait pulls what is ready at once, from every shard, starting at a rotating one.
func (q *Queue) fetchNoWait(limit int) ([]jetstream.Msg, error) {
	var jms []jetstream.Msg
	start := int(q.shardNext.Add(1))
	for i := range q.shards {
		if len(jms) >= limit {
			break
		}
		s := q.shards[(start+i)%len(q.shards)]
		b, err := s.cons.FetchNoWait(limit - len(jms))
		if err != nil {
			return jms, q.unavailable("lease", err)
		}
		for jm := range b.Messages() {
			jms = append(jms, jm)
		}
		if err := b.Error(); err != nil {
			q.pullFailed(s, err)
		}
	}
	return jms, nil
}

// waitOne waits (leaseWait at most) for one message from any shard. Each shard has at most
// one waiting pull: the pulls that did not deliver are kept for the next Lease rather than
// abandoned, so no message is handed back (and counted a delivery) for having arrived in
// a pull nobody read.
func (q *Queue) waitOne(ctx context.Context) (jetstream.Msg, error) {
	pulls := make([]jetstream.MessageBatch, len(q.shards))
	for i, s := range q.shards {
		s.mu.Lock()
		pulls[i], s.pull = s.pull, nil
		s.mu.Unlock()
		if pulls[i] != nil {
			continue
		}
		b, err := s.cons.Fetch(1, jetstream.FetchMaxWait(leaseWait))
		if err != nil {
			q.keepPulls(pulls)
			return nil, q.unavailable("lease", err)
		}
		pulls[i] = b
	}
	cases := make([]reflect.SelectCase, len(pulls)+2)
	cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
	cases[1] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(q.closing)}
	open := len(pulls)
	for open > 0 {
		for i, b := range pulls {
			if b == nil {
				cases[i+2].Chan = reflect.Value{} // a nil channel: never chosen
			} else {
				cases[i+2] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.Messages())}
			}
		}
		chosen, v, ok := reflect.Select(cases)
		switch chosen {
		case 0:
			q.keepPulls(pulls)
			return nil, ctx.Err()
		case 1:
			for _, b := range pulls {
				if b != nil {
					q.abandon(b)
				}
			}
			return nil, queue.ErrClosing
		}
		i := chosen - 2
		b := pulls[i]
		pulls[i] = nil
		if ok {
			q.keepPulls(pulls)
			return v.Interface().(jetstream.Msg), nil
		}
		open--
		if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			q.pullFailed(q.shards[i], err)
			pause(ctx, q.closing, pullFailedPause)
		}
	}
	return nil, nil
}

// pullFailed logs a failed pull and creates the shard's consumer again if it was deleted.
func (q *Queue) pullFailed(s *shard, err error) {
	q.log.Warn("cannot pull messages from JetStream", "stream", s.name, "err", err)
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		q.ensureConsumer(s)
	}
}

// keepPulls puts the waiting pulls back for the next Lease; once Close began, it abandons
// them instead (Close has taken up the shards' pulls already).
func (q *Queue) keepPulls(pulls []jetstream.MessageBatch) {
	for i, b := range pulls {
		if b == nil {
			continue
		}
		s := q.shards[i]
		q.pullsMu.Lock()
		kept := false
		if !q.closed.Load() {
			s.mu.Lock()
			if s.pull == nil {
				s.pull, s.keptAt, kept = b, time.Now(), true
			}
			s.mu.Unlock()
		}
		q.pullsMu.Unlock()
		if !kept {
			q.abandon(b)
		}
	}
}

// abandonPulls abandons the shards' waiting pulls kept for longer than age (all of them
// with age 0, as Close does). keepLeases calls it: a message a kept pull received is
// nobody's lease until a Lease reads it, and must not sit unread until AckWait hands it to
// another gateway (the dispatcher pauses leasing while every breaker is open).
func (q *Queue) abandonPulls(age time.Duration) {
	var pulls []jetstream.MessageBatch
	now := time.Now()
	q.pullsMu.Lock()
	for _, s := range q.shards {
		s.mu.Lock()
		if s.pull != nil && now.Sub(s.keptAt) >= age {
			pulls = append(pulls, s.pull)
			s.pull = nil
		}
		s.mu.Unlock()
	}
	q.pullsMu.Unlock()
	for _, b := range pulls {
		q.abandon(b)
	}
}
