package jetstream

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// Headers of our own.
const (
	// hdrRecord marks a message whose status record must be read before it is sent (a replay).
	hdrRecord = "Sb-Record"
	// hdrScheduler is set by the server on a message its scheduler published.
	hdrScheduler = "Nats-Scheduler"
)

var errIdemConflict = &canonical.Error{Code: canonical.ErrConflict, Field: "client_ref",
	Reason: "was already used for a different message"}

// Enqueue publishes the items and returns once the stream acknowledged every one; see
// queue.Queue. Idempotency: each IdemKey is claimed first with a create-only KV write
// (i.<ref>.<key>), so that of several gateways racing with one key exactly one stores the
// message; the message itself carries Nats-Msg-Id, so that a repeat which finds the key
// claimed but the message missing (its first publish was lost) can publish it again
// without a second copy.
func (q *Queue) Enqueue(ctx context.Context, items []queue.Item) ([]bool, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if err := queue.CheckItems(items); err != nil {
		return nil, err
	}
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	n := int64(len(items))
	if q.Stats().Depth+q.added.Load()+q.pending.Add(n) > q.opts.MaxDepth {
		q.pending.Add(-n)
		return nil, queue.ErrFull
	}
	defer q.pending.Add(-n)
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()

	now := time.Now().UTC()
	for _, it := range items {
		m := it.Msg
		if m.ID == "" {
			m.ID = canonical.NewID()
		}
		seq, err := q.seqs.next(ctx)
		if err != nil {
			return nil, q.unavailable("allocate seq", err)
		}
		m.Seq, m.CreatedAt, m.Status = seq, now, canonical.StatusQueued
		if m.NotBefore.After(now) {
			m.Status = canonical.StatusScheduled
		}
	}
	dup := make([]bool, len(items))
	if err := q.claimKeys(ctx, items, dup); err != nil {
		return nil, err
	}

	var acks []jetstream.PubAckFuture
	for i, it := range items {
		if dup[i] {
			continue
		}
		f, err := q.js.PublishMsgAsync(q.messageOf(it, now))
		if err != nil {
			return nil, q.unavailable("enqueue", err)
		}
		acks = append(acks, f)
		if it.IdemKey == "" && it.Msg.ClientRef != "" {
			// A client ref without an idempotency key is still indexed for ByRef.
			m := it.Msg
			key := refPrefix(m.Tenant, m.ClientRef) + "m" + token(m.ID)
			f, err := q.js.PublishMsgAsync(&nats.Msg{Subject: q.kvPre + key, Data: entryOf(m, 0).encode()})
			if err != nil {
				return nil, q.unavailable("enqueue", err)
			}
			acks = append(acks, f)
		}
	}
	for _, f := range acks {
		if _, err := waitAck(ctx, f); err != nil {
			return nil, q.unavailable("enqueue", err)
		}
	}
	q.added.Add(int64(len(items)))
	return dup, nil
}

// messageOf is the stream message of a new item, in the shard of its id: on S.msg.<id>, or
// on S.sched.<id> for the scheduler to move there when it is due.
func (q *Queue) messageOf(it queue.Item, now time.Time) *nats.Msg {
	m := it.Msg
	data, _ := m.MarshalBinary()
	tok, sh := token(m.ID), q.home(m.ID)
	msg := &nats.Msg{Subject: sh.msgPre + tok, Data: data}
	if m.NotBefore.After(now) {
		msg.Subject = sh.schedPre + tok
		msg.Header = scheduleHeader(m.NotBefore, sh.msgPre+tok)
	}
	if it.IdemKey != "" {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		msg.Header.Set(jetstream.MsgIDHeader, digest(it.IdemKey))
	}
	return msg
}

func scheduleHeader(at time.Time, target string) nats.Header {
	h := nats.Header{}
	h.Set("Nats-Schedule", "@at "+at.UTC().Format(time.RFC3339Nano))
	h.Set("Nats-Schedule-Target", target)
	return h
}

// claim is one idempotency key of an Enqueue call.
type claim struct {
	i    int
	key  string
	rev  uint64 // when this call created the key
	orig *idemEntry
	f    jetstream.PubAckFuture
}

// claimKeys claims every IdemKey of items, marking repeats in dup and giving their
// messages the original's identity. A conflict fails the call and releases the keys it
// claimed: nothing is stored.
func (q *Queue) claimKeys(ctx context.Context, items []queue.Item, dup []bool) error {
	var claims []*claim
	var first map[string]int // key -> index of its first item in this call
	dupOf := map[int]int{}
	for i, it := range items {
		if it.IdemKey == "" {
			continue
		}
		if j, ok := first[it.IdemKey]; ok {
			if items[j].IdemHash != it.IdemHash {
				return errIdemConflict
			}
			dupOf[i] = j
			continue
		}
		if first == nil {
			first = map[string]int{}
		}
		first[it.IdemKey] = i
		claims = append(claims, &claim{i: i, key: refPrefix(it.Msg.Tenant, it.Msg.ClientRef) + digest(it.IdemKey)})
	}
	if len(claims) == 0 {
		return nil
	}
	for _, c := range claims {
		it := items[c.i]
		msg := &nats.Msg{Subject: q.kvPre + c.key, Data: entryOf(it.Msg, it.IdemHash).encode(), Header: nats.Header{}}
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
		var err error
		if c.f, err = q.js.PublishMsgAsync(msg); err != nil {
			return q.unavailable("claim idempotency key", err)
		}
	}
	var failed error
	conflict := false
	for _, c := range claims {
		it := items[c.i]
		ack, err := waitAck(ctx, c.f)
		if err == nil {
			c.rev = ack.Sequence
			continue
		}
		if !wrongLastSeq(err) {
			failed = err
			continue
		}
		if c.orig, c.rev, err = q.existingKey(ctx, c.key, it); err != nil {
			failed = err
			continue
		}
		if c.orig != nil && c.orig.hash != it.IdemHash {
			conflict = true
		}
	}
	if failed != nil || conflict {
		for _, c := range claims {
			if c.orig == nil && c.rev != 0 {
				if err := q.kv.Delete(ctx, c.key, jetstream.LastRevision(c.rev)); err != nil {
					q.log.Warn("cannot release idempotency key of a failed enqueue", "err", err)
				}
			}
		}
		if conflict {
			return errIdemConflict
		}
		return q.unavailable("claim idempotency key", failed)
	}
	for _, c := range claims {
		if c.orig == nil {
			continue
		}
		it := items[c.i]
		c.orig.apply(it.Msg)
		dup[c.i] = true
		if err := q.ensureStored(ctx, it); err != nil {
			return q.unavailable("repeat", err)
		}
	}
	for i, j := range dupOf {
		o := items[j].Msg
		items[i].Msg.ID, items[i].Msg.Seq, items[i].Msg.CreatedAt, items[i].Msg.Status = o.ID, o.Seq, o.CreatedAt, o.Status
		dup[i] = true
	}
	return nil
}

// existingKey reads a key another call claimed. A key released by a failed call (a delete
// marker) is claimed again here: then orig is nil and rev is set.
func (q *Queue) existingKey(ctx context.Context, key string, it queue.Item) (orig *idemEntry, rev uint64, err error) {
	for range 3 {
		e, err := q.kv.Get(ctx, key)
		if err == nil {
			orig, err := decodeIdem(e.Value())
			return orig, 0, err
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted) {
			return nil, 0, err
		}
		rev, err := q.kv.Create(ctx, key, entryOf(it.Msg, it.IdemHash).encode())
		if err == nil {
			return nil, rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, 0, err
		}
	}
	return nil, 0, errors.New("idempotency key keeps changing")
}

// ensureStored publishes a repeat whose original message is nowhere: its publish failed
// after the key was claimed (the client was not told it succeeded). Nats-Msg-Id keeps the
// two from both being stored if the original's publish is in fact still in flight.
func (q *Queue) ensureStored(ctx context.Context, it queue.Item) error {
	found, err := q.exists(ctx, it.Msg.ID)
	if err != nil || found {
		return err
	}
	q.log.Warn("repeated request found its message missing; storing it", "id", it.Msg.ID)
	f, err := q.js.PublishMsgAsync(q.messageOf(it, time.Now().UTC()))
	if err != nil {
		return err
	}
	_, err = waitAck(ctx, f)
	return err
}

// waitAck waits for one publish's acknowledgement.
func waitAck(ctx context.Context, f jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	select {
	case ack := <-f.Ok():
		return ack, nil
	case err := <-f.Err():
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wrongLastSeq reports a failed compare-and-set: the key is not at the revision expected.
func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// seqAllocator hands out message Seqs from blocks reserved in the B_seq bucket, so Seqs
// are unique across gateways (and increase within each) at one write per seqBlock.
type seqAllocator struct {
	kv        jetstream.KeyValue
	mu        sync.Mutex
	free, end uint64 // the block reserved: free..end
}

const seqKey = "next"

func (a *seqAllocator) next(ctx context.Context) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.free == 0 || a.free > a.end {
		if err := a.reserve(ctx); err != nil {
			return 0, err
		}
	}
	s := a.free
	a.free++
	return s, nil
}

func (a *seqAllocator) reserve(ctx context.Context) error {
	for range 20 {
		var free, rev uint64 = 1, 0
		e, err := a.kv.Get(ctx, seqKey)
		switch {
		case err == nil:
			if free, err = strconv.ParseUint(string(e.Value()), 10, 64); err != nil {
				return errCorrupt
			}
			rev = e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return err
		}
		val := []byte(strconv.FormatUint(free+seqBlock, 10))
		if rev == 0 {
			_, err = a.kv.Create(ctx, seqKey, val)
		} else {
			_, err = a.kv.Update(ctx, seqKey, val, rev)
		}
		if err == nil {
			a.free, a.end = free, free+seqBlock-1
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !wrongLastSeq(err) {
			return err
		}
	}
	return errors.New("cannot reserve seqs: too much contention")
}
