package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// Changes returns up to max of the tenant's messages whose status changed since the last
// call. The cursor is the ack floor of the tenant's durable consumer on the feed stream,
// shared by every gateway; a call that dies before its ack has its changes returned again.
// The consumer goes away after retention without calls.
// changesWait bounds how long Changes waits for the changes the feed consumer has pending
// (they are on the server; delivering them takes a round trip or two).
const changesWait = time.Second

func (q *Queue) Changes(tenant string, max int) ([]*queue.Record, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	if max <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cons, err := q.feedConsumer(ctx, tenant)
	if err != nil {
		return nil, q.unavailable("changes", err)
	}
	// FetchNoWait alone may answer before the server has handed the consumer what the
	// stream already holds: ask how much is pending, and wait (briefly) for that much.
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, q.unavailable("changes", err)
	}
	n := min(uint64(max), info.NumPending)
	if n == 0 {
		return nil, nil
	}
	b, err := cons.Fetch(int(n), jetstream.FetchMaxWait(changesWait))
	if err != nil {
		return nil, q.unavailable("changes", err)
	}
	var ids []string
	var last jetstream.Msg
	seen := map[string]bool{}
	for jm := range b.Messages() {
		last = jm
		if id := string(jm.Data()); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := b.Error(); err != nil {
		return nil, q.unavailable("changes", err)
	}
	out := make([]*queue.Record, 0, len(ids))
	for _, id := range ids {
		r, err := q.Get(id)
		if errors.Is(err, queue.ErrNotFound) {
			continue // expired
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if last != nil {
		if err := last.DoubleAck(ctx); err != nil { // acks every change before it too
			return nil, q.unavailable("changes", err)
		}
	}
	return out, nil
}

func (q *Queue) feedConsumer(ctx context.Context, tenant string) (jetstream.Consumer, error) {
	if c, ok := q.feeds.Load(tenant); ok {
		return c.(jetstream.Consumer), nil
	}
	feedConsumersCreated.Inc()
	c, err := q.js.CreateOrUpdateConsumer(ctx, q.opts.Stream+"_FEED", jetstream.ConsumerConfig{
		Durable:           "feed_" + token(tenant),
		Description:       "Switchboard status changes of tenant " + tenant,
		FilterSubject:     q.feedPre + token(tenant),
		AckPolicy:         jetstream.AckAllPolicy,
		AckWait:           opTimeout,
		MaxAckPending:     -1,
		InactiveThreshold: q.opts.Retention,
		Replicas:          q.opts.Replicas,
	})
	if err != nil {
		return nil, err
	}
	q.feeds.Store(tenant, c)
	return c, nil
}

// DeadLetters lists up to max dead messages, oldest first, with the history their status
// record has (receipts may have come after they died).
func (q *Queue) DeadLetters(max int) ([]*queue.Record, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	if max <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cons, err := q.dead.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, q.unavailable("dead letters", err)
	}
	b, err := cons.FetchNoWait(max)
	if err != nil {
		return nil, q.unavailable("dead letters", err)
	}
	var out []*queue.Record
	for jm := range b.Messages() {
		rec, err := decodeRecord(jm.Data())
		if err != nil {
			q.log.Error("corrupt dead letter", "subject", jm.Subject(), "err", err)
			continue
		}
		if cur, _, err := q.getRecord(ctx, rec.msg.ID); err == nil && cur != nil && cur.kind == kindDead {
			rec = cur
		}
		out = append(out, &queue.Record{Msg: rec.msg, History: rec.hist})
	}
	return out, nil
}

// Replay moves a dead message back to the work stream, due now, with attempts reset.
func (q *Queue) Replay(id string) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	rec, seq, err := q.lookupDead(ctx, id)
	if err != nil {
		return q.unavailable("replay", err)
	}
	if rec == nil {
		return queue.ErrNotFound
	}
	if cur, _, err := q.getRecord(ctx, id); err == nil && cur != nil && cur.kind == kindDead {
		rec.hist = cur.hist
	}
	m := rec.msg
	m.Attempts, m.LastError, m.Status = 0, "", canonical.StatusQueued
	now := time.Now().UTC()
	replayed := canonical.Change{Status: canonical.StatusQueued, At: now, Reason: "replayed"}
	rec = &record{kind: kindLive, msg: m, hist: append(rec.hist, replayed)}
	// The record is written over whatever is there: the dead letter is the authority.
	if _, err := q.kv.Put(ctx, statusKey(id), rec.encode()); err != nil {
		return q.unavailable("replay", err)
	}
	data, _ := m.MarshalBinary()
	msg := &nats.Msg{Subject: q.home(id).msgPre + token(id), Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrRecord, "1")
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return q.unavailable("replay", err)
	}
	if err := q.dead.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return q.unavailable("replay", err)
	}
	if f := q.publishFeed(m.Tenant, id, replayed, len(rec.hist)-1); f != nil {
		waitAck(ctx, f)
	}
	q.added.Add(1)
	return nil
}

// maxDeliveriesAdvisory is what JetStream publishes when it gives up on a message.
type maxDeliveriesAdvisory struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// watchMaxDeliveries dead-letters the messages JetStream stops delivering after MaxDeliver
// (left alone, they would stay in the stream for ever). One gateway of the queue group
// handles each advisory; an advisory published while no gateway runs is missed, and its
// message stays in the stream, counted in Depth.
func (q *Queue) watchMaxDeliveries() error {
	if q.opts.MaxDeliver < 0 {
		return nil
	}
	for _, sh := range q.shards {
		subj := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + sh.name + "." + consumerName
		sub, err := q.nc.QueueSubscribe(subj, "switchboard-"+sh.name, func(msg *nats.Msg) {
			var a maxDeliveriesAdvisory
			if err := json.Unmarshal(msg.Data, &a); err != nil || a.StreamSeq == 0 {
				return
			}
			// Callbacks of one subscription run one at a time, on a goroutine of their own.
			if err := q.deadLetterSeq(sh, a.StreamSeq, a.Deliveries); err != nil && !q.closed.Load() {
				q.log.Error("cannot dead-letter a message JetStream gave up on", "stream", sh.name, "seq", a.StreamSeq, "err", err)
			}
		})
		if err != nil {
			return err
		}
		q.advisories = append(q.advisories, sub)
	}
	return nil
}

func (q *Queue) deadLetterSeq(sh *shard, seq uint64, deliveries int) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	raw, err := sh.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // settled meanwhile
	}
	if err != nil {
		return err
	}
	m := new(canonical.Message)
	if err := m.UnmarshalBinary(raw.Data); err != nil {
		return err
	}
	rec, rev, err := q.getRecord(ctx, m.ID)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &record{msg: m, hist: []canonical.Change{initial(m)}}
	}
	if !rec.final() {
		reason := "delivered " + strconv.Itoa(deliveries) + " times without an answer"
		rec.kind, rec.due = kindDead, time.Time{}
		rec.msg.Status, rec.msg.LastError = canonical.StatusDead, reason
		rec.hist = append(rec.hist, canonical.Change{Status: canonical.StatusDead, At: time.Now().UTC(), Reason: reason})
		if _, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.deadPre + token(m.ID), Data: rec.encode()}); err != nil {
			return err
		}
		if _, err := q.putRecord(ctx, m.ID, rec, rev); err != nil {
			return err
		}
		if f := q.publishFeed(m.Tenant, m.ID, rec.hist[len(rec.hist)-1], len(rec.hist)-1); f != nil {
			waitAck(ctx, f)
		}
		maxDeliveredTotal.Inc()
		q.log.Warn("message dead-lettered: JetStream gave up delivering it", "id", m.ID, "deliveries", deliveries)
	}
	return sh.stream.DeleteMsg(ctx, seq)
}
