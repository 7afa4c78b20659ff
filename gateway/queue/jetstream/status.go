package jetstream

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// getRecord reads a message's status record and its revision; nil when it has none.
func (q *Queue) getRecord(ctx context.Context, id string) (*record, uint64, error) {
	e, err := q.kv.Get(ctx, statusKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	rec, err := decodeRecord(e.Value())
	if err != nil {
		q.log.Error("corrupt status record", "id", id, "err", err)
		return nil, 0, err
	}
	return rec, e.Revision(), nil
}

// putRecord writes a status record if the key is still at revision rev (0: absent).
func (q *Queue) putRecord(ctx context.Context, id string, rec *record, rev uint64) (uint64, error) {
	msg := &nats.Msg{Subject: q.kvPre + statusKey(id), Data: rec.encode(), Header: nats.Header{}}
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(rev, 10))
	ack, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// publishKV writes a KV value without waiting; nil if it could not be sent.
func (q *Queue) publishKV(key string, val []byte) jetstream.PubAckFuture {
	f, err := q.js.PublishMsgAsync(&nats.Msg{Subject: q.kvPre + key, Data: val})
	if err != nil {
		q.log.Warn("cannot write to the KV bucket", "key", key, "err", err)
		return nil
	}
	return f
}

func timeValue(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

// lookupLive finds a message that has no status record yet in the work streams: ready
// (S.msg.<id>) or waiting for the scheduler (S.sched.<id>); in its home shard first, then
// in the others (shards.go).
func (q *Queue) lookupLive(ctx context.Context, id string) (*canonical.Message, error) {
	tok, home := token(id), q.home(id)
	for i := -1; i < len(q.shards); i++ {
		sh := home
		if i >= 0 {
			if sh = q.shards[i]; sh == home {
				continue
			}
		}
		for _, subj := range [...]string{sh.msgPre + tok, sh.schedPre + tok} {
			raw, err := sh.stream.GetLastMsgForSubject(ctx, subj)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			m := new(canonical.Message)
			if err := m.UnmarshalBinary(raw.Data); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	return nil, nil
}

// lookupDead finds a dead letter and its stream sequence.
func (q *Queue) lookupDead(ctx context.Context, id string) (*record, uint64, error) {
	raw, err := q.dead.GetLastMsgForSubject(ctx, q.deadPre+token(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	rec, err := decodeRecord(raw.Data)
	return rec, raw.Sequence, err
}

// exists reports whether the message is anywhere: recorded, queued or dead.
func (q *Queue) exists(ctx context.Context, id string) (bool, error) {
	if rec, _, err := q.getRecord(ctx, id); err != nil || rec != nil {
		return rec != nil, err
	}
	if m, err := q.lookupLive(ctx, id); err != nil || m != nil {
		return m != nil, err
	}
	rec, _, err := q.lookupDead(ctx, id)
	return rec != nil, err
}

// Get returns a message and its history, from any gateway. A message leased by this
// gateway shows status sending; one leased by another gateway shows the status it had
// when leased (the lease itself is not written anywhere).
func (q *Queue) Get(id string) (*queue.Record, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	rec, _, err := q.getRecord(ctx, id)
	if err != nil {
		return nil, q.unavailable("get", err)
	}
	if rec == nil {
		m, err := q.lookupLive(ctx, id)
		if err != nil {
			return nil, q.unavailable("get", err)
		}
		if m != nil {
			rec = &record{kind: kindLive, msg: m, hist: []canonical.Change{initial(m)}}
		} else if rec, _, err = q.lookupDead(ctx, id); err != nil {
			return nil, q.unavailable("get", err)
		}
	}
	if rec == nil {
		return nil, queue.ErrNotFound
	}
	if at, ok := q.leases.at(id); ok && !rec.final() {
		rec.msg.Status = canonical.StatusSending
		rec.hist = append(rec.hist, canonical.Change{Status: canonical.StatusSending, At: at})
	}
	return &queue.Record{Msg: rec.msg, History: rec.hist}, nil
}

// Record adds a status change (a receipt) to a message, live or not; see queue.Queue. A
// message still in the stream gets a status record here, which the Finish of its lease
// merges.
func (q *Queue) Record(id string, ch canonical.Change) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	if ch.At.IsZero() {
		ch.At = time.Now().UTC()
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	tenant, n, err := q.addChange(ctx, id, ch)
	if err != nil {
		return err
	}
	if f := q.publishFeed(tenant, id, ch, n); f != nil {
		if _, err := waitAck(ctx, f); err != nil {
			q.log.Warn("cannot record a status change in the feed", "id", id, "err", err)
		}
	}
	return nil
}

// addChange appends ch to message id's history and returns the message's tenant and ch's
// place in the history; Record adds the feed entry, a reply (replies.go) adds none.
func (q *Queue) addChange(ctx context.Context, id string, ch canonical.Change) (tenant string, n int, err error) {
	for attempt := 0; ; attempt++ {
		rec, rev, err := q.getRecord(ctx, id)
		if err != nil {
			return "", 0, q.unavailable("record", err)
		}
		if rec == nil {
			m, err := q.lookupLive(ctx, id)
			if err != nil {
				return "", 0, q.unavailable("record", err)
			}
			if m != nil {
				rec = &record{kind: kindLive, msg: m, hist: []canonical.Change{initial(m)}}
			} else if rec, _, err = q.lookupDead(ctx, id); err != nil {
				return "", 0, q.unavailable("record", err)
			} else if rec == nil {
				return "", 0, queue.ErrNotFound
			}
		}
		if rec.kind == kindFinal && rec.msg.Status.Advances(ch.Status) {
			rec.msg.Status = ch.Status
		}
		rec.hist = append(rec.hist, ch)
		tenant, n = rec.msg.Tenant, len(rec.hist)-1
		_, err = q.putRecord(ctx, id, rec, rev)
		if err == nil {
			return tenant, n, nil
		}
		if !wrongLastSeq(err) || attempt == 5 {
			return "", 0, q.unavailable("record", err)
		}
	}
}

// ByRef returns the ids of a tenant's messages with that client ref, oldest first, from
// the idempotency and client-ref entries (one watch of their common prefix).
func (q *Queue) ByRef(tenant, ref string) ([]string, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	w, err := q.kv.Watch(ctx, refPrefix(tenant, ref)+">", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, q.unavailable("by ref", err)
	}
	defer w.Stop()
	var entries []*idemEntry
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // every current value has been delivered
				slices.SortFunc(entries, func(a, b *idemEntry) int {
					return cmp.Or(a.created.Compare(b.created), cmp.Compare(a.seq, b.seq))
				})
				ids := make([]string, 0, len(entries))
				for _, e := range entries {
					if !slices.Contains(ids, e.id) {
						ids = append(ids, e.id)
					}
				}
				return ids, nil
			}
			if ie, err := decodeIdem(e.Value()); err == nil {
				entries = append(entries, ie)
			}
		case <-ctx.Done():
			return nil, q.unavailable("by ref", ctx.Err())
		}
	}
}

// TemplateSentSince returns, of the given recipients, those a template message was sent
// to (finished as sent, delivered or read) since the time given, with the latest time.
func (q *Queue) TemplateSentSince(tenant string, to []string, template string, since time.Time) (map[string]time.Time, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out := make(map[string]time.Time)
	for _, t := range to {
		e, err := q.kv.Get(ctx, templateKey(tenant, t, template))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, q.unavailable("template sent", err)
		}
		if v := e.Value(); len(v) == 8 {
			if at := time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(); !at.Before(since) {
				out[t] = at
			}
		}
	}
	return out, nil
}
