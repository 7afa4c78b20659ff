package jetstream

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// lease is a message delivered to this gateway and not yet finished, retried or released.
type lease struct {
	jm      jetstream.Msg
	seq     uint64             // the message's stream sequence (0 if unknown)
	base    []canonical.Change // the history known at lease time
	rev     uint64             // the KV revision of the status record read then (0: none)
	at      time.Time
	touched time.Time // when JetStream last heard of it (delivery or InProgress)
}

// history is the message's history up to and including this lease.
func (l *lease) history() []canonical.Change {
	h := make([]canonical.Change, 0, len(l.base)+2)
	h = append(h, l.base...)
	return append(h, canonical.Change{Status: canonical.StatusSending, At: l.at})
}

type leaseTable struct {
	mu sync.Mutex
	m  map[string]*lease // by message id
}

func (t *leaseTable) init() { t.m = map[string]*lease{} }

// put adds a lease unless the id is leased here already. If it is, by the same stream
// message delivered again (its lease lapsed unseen), the lease takes the newer delivery,
// whose ack JetStream expects; put reports whether l was added.
func (t *leaseTable) put(id string, l *lease) (added, redelivered bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.m[id]
	if !ok {
		t.m[id] = l
		return true, false
	}
	if l.seq != 0 && old.seq == l.seq {
		old.jm, old.touched = l.jm, l.touched
		return false, true
	}
	return false, false
}

func (t *leaseTable) take(id string) *lease {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.m[id]
	delete(t.m, id)
	return l
}

func (t *leaseTable) at(id string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.m[id]; ok {
		return l.at, true
	}
	return time.Time{}, false
}

func (t *leaseTable) takeAll() []*lease {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*lease, 0, len(t.m))
	for _, l := range t.m {
		out = append(out, l)
	}
	clear(t.m)
	return out
}

var (
	errNotLeased = canonical.Errorf(canonical.ErrInternal, "message is not leased by this gateway")
	errSettled   = errors.New("message already finished")
)

// Lease takes up to max messages that are due, waiting until one is or ctx is done.
func (q *Queue) Lease(ctx context.Context, limit int) ([]*canonical.Message, error) {
	limit = min(max(limit, 1), maxLease)
	for {
		if q.closed.Load() {
			return nil, queue.ErrClosing
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		jms, err := q.fetch(ctx, limit)
		if err != nil {
			return nil, err
		}
		if out := q.admit(jms); len(out) > 0 {
			return out, nil
		}
	}
}

// fetch pulls what is ready at once; when nothing is, it waits (leaseWait at most) for one
// message from any shard and then takes whatever else is ready.
func (q *Queue) fetch(ctx context.Context, limit int) ([]jetstream.Msg, error) {
	jms, err := q.fetchNoWait(limit)
	if err != nil || len(jms) > 0 {
		return jms, err
	}
	jm, err := q.waitOne(ctx)
	if err != nil || jm == nil {
		return nil, err
	}
	jms = append(jms, jm)
	if limit > 1 {
		more, _ := q.fetchNoWait(limit - 1)
		jms = append(jms, more...)
	}
	return jms, nil
}

// abandon hands back what a pull nobody waits for any more still delivers, until the pull
// expires (leaseWait). Close waits for these: a message it hands back may be delivered to
// one of them.
func (q *Queue) abandon(b jetstream.MessageBatch) {
	q.pullsMu.Lock()
	track := !q.pullsDone
	if track {
		q.pulls.Add(1)
	}
	q.pullsMu.Unlock()
	go func() {
		if track {
			defer q.pulls.Done()
		}
		for jm := range b.Messages() {
			jm.Nak()
		}
	}()
}

func pause(ctx context.Context, closing <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-closing:
	}
}

// admit turns deliveries into leased messages. A delivery that may not be the message's
// first is checked against its status record: a finished message is acked away, a retried
// one takes its attempts and history from the record. One that is not due yet goes back.
func (q *Queue) admit(jms []jetstream.Msg) []*canonical.Message {
	now := time.Now().UTC()
	out := make([]*canonical.Message, 0, len(jms))
	for _, jm := range jms {
		m := new(canonical.Message)
		if err := m.UnmarshalBinary(jm.Data()); err != nil {
			q.log.Error("cannot decode a queued message; dropping it", "subject", jm.Subject(), "err", err)
			jm.Term()
			continue
		}
		l := &lease{jm: jm, at: now, touched: now}
		var due time.Time
		meta, err := jm.Metadata()
		if err == nil {
			l.seq = meta.Sequence.Stream
		}
		h := jm.Headers()
		if err != nil || meta.NumDelivered > 1 || h.Get(hdrScheduler) != "" || h.Get(hdrRecord) != "" {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			rec, rev, err := q.getRecord(ctx, m.ID)
			cancel()
			if err != nil {
				q.log.Warn("cannot read a message's status record; it waits", "id", m.ID, "err", err)
				jm.NakWithDelay(time.Second)
				continue
			}
			if rec != nil && rec.final() {
				// Its last change may have missed the feed (a crash between the two
				// writes); the entry's message id makes this a no-op if it did not.
				if n := len(rec.hist) - 1; n >= 0 {
					q.publishFeed(rec.msg.Tenant, rec.msg.ID, rec.hist[n], n)
				}
				jm.Ack()
				staleTotal.Inc()
				continue
			}
			if rec != nil {
				l.base, l.rev = rec.hist, rev
				m = rec.msg
				if rec.due.After(due) {
					due = rec.due
				}
			}
		}
		if l.base == nil {
			l.base = []canonical.Change{initial(m)}
		}
		if m.NotBefore.After(due) {
			due = m.NotBefore
		}
		if wait := due.Sub(now); wait > dueSlack {
			q.wait(jm, m.ID, due, wait)
			continue
		}
		if added, redelivered := q.leases.put(m.ID, l); !added {
			if !redelivered {
				// A second copy (a schedule racing its own redelivery): the copy in
				// flight here settles the message.
				jm.Ack()
			}
			staleTotal.Inc()
			continue
		}
		m.Status = canonical.StatusSending
		out = append(out, m)
	}
	leasedTotal.Add(len(out))
	return out
}

// wait hands a delivery back to be delivered again at due: a nak with that delay when it
// is near, else a schedule (see the package comment).
func (q *Queue) wait(jm jetstream.Msg, id string, due time.Time, d time.Duration) error {
	if d < minScheduleDelay {
		return jm.NakWithDelay(max(d, 0))
	}
	if d <= maxNakDelay {
		return jm.NakWithDelay(d)
	}
	return q.reschedule(jm, id, due)
}

// reschedule re-publishes a delivery as a schedule due at at, in the stream it came from,
// and acks it. A crash between
// the two leaves the delivery to come back after AckWait, and the schedule to be replaced
// by the next one or turned away by the status record.
func (q *Queue) reschedule(jm jetstream.Msg, id string, at time.Time) error {
	tok, sh := token(id), q.shardOfDelivery(jm)
	msg := &nats.Msg{Subject: sh.schedPre + tok, Data: jm.Data(), Header: scheduleHeader(at, sh.msgPre+tok)}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		// Let JetStream bring it back instead, a little early at worst.
		q.log.Warn("cannot reschedule a message; it is redelivered sooner", "id", id, "err", err)
		return jm.NakWithDelay(maxNakDelay)
	}
	rescheduledTotal.Inc()
	return jm.Ack()
}

// Finish ends a leased message with a final status: its final record is written (and a
// dead letter published), then the delivery is acked. m.Status becomes ch.Status, or the
// status of a receipt that came meanwhile and is further along.
func (q *Queue) Finish(m *canonical.Message, ch canonical.Change) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	if !ch.Status.Final() {
		return canonical.Errorf(canonical.ErrInternal, "cannot finish message %s with status %q: not final", m.ID, ch.Status)
	}
	if ch.At.IsZero() {
		ch.At = time.Now().UTC()
	}
	l := q.leases.take(m.ID)
	if l == nil {
		return errNotLeased
	}
	m.Status = ch.Status
	kind := byte(kindFinal)
	if ch.Status == canonical.StatusDead {
		kind = kindDead
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := q.settle(ctx, m, l, ch, kind, time.Time{}); err != nil {
		return err // the lease is dropped: JetStream redelivers the message after AckWait
	}
	l.jm.Ack() // if lost, the redelivery meets the final record and is acked away
	finishedTotal.Inc()
	return nil
}

// Retry writes the message's attempt into its status record and hands the delivery back,
// due at at: a nak with delay, or a schedule when at is further than maxNakDelay.
func (q *Queue) Retry(m *canonical.Message, at time.Time, ch canonical.Change) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	now := time.Now().UTC()
	at, ch = queue.PrepareRetry(m, at, now, ch)
	l := q.leases.take(m.ID)
	if l == nil {
		return errNotLeased
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := q.settle(ctx, m, l, ch, kindLive, at); err != nil {
		if err == errSettled {
			return l.jm.Ack()
		}
		return err // the lease is dropped: JetStream redelivers the message after AckWait
	}
	retriedTotal.Inc()
	return q.wait(l.jm, m.ID, at, at.Sub(now))
}

// Release hands a leased message back without an attempt: nothing is written, the
// delivery is naked (soon) or rescheduled (later).
func (q *Queue) Release(m *canonical.Message, at time.Time) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	now := time.Now().UTC()
	at, status := queue.DueAt(at, now)
	l := q.leases.take(m.ID)
	if l == nil {
		return errNotLeased
	}
	m.Status = status
	d := at.Sub(now)
	if d < minScheduleDelay {
		return l.jm.NakWithDelay(d)
	}
	// Not a nak with delay: that would count a delivery against MaxDeliver.
	return q.reschedule(l.jm, m.ID, at)
}

// settle writes the status record that ends a lease, and the feed entry (and the dead
// letter, the template mark) that go with it. The record is written only over the one read
// at lease time; when a receipt changed it meanwhile, the receipt is merged in and the
// write tried again.
func (q *Queue) settle(ctx context.Context, m *canonical.Message, l *lease, ch canonical.Change, kind byte, due time.Time) error {
	base := l.history()
	hist := append(append([]canonical.Change(nil), base...), ch)
	rev := l.rev
	var side []jetstream.PubAckFuture
	if kind == kindFinal && queue.SentTemplate(m) {
		for _, name := range queue.TemplateNames(m) {
			side = append(side, q.publishKV(templateKey(m.Tenant, m.To, name), timeValue(ch.At)))
		}
	}
	for attempt := 0; ; attempt++ {
		rec := &record{kind: kind, due: due, msg: m, hist: hist}
		if kind == kindDead {
			// The dead letter first: if the record were written and the dead letter lost,
			// the message would be gone.
			if _, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.deadPre + token(m.ID), Data: rec.encode()}); err != nil {
				return q.unavailable("dead-letter", err)
			}
		}
		newRev, err := q.putRecord(ctx, m.ID, rec, rev)
		if err == nil {
			l.rev = newRev
			break
		}
		if !wrongLastSeq(err) || attempt == 5 {
			return q.unavailable("write status record", err)
		}
		cur, curRev, err := q.getRecord(ctx, m.ID)
		if err != nil {
			return q.unavailable("read status record", err)
		}
		rev = curRev
		if cur == nil {
			continue
		}
		if cur.final() && kind == kindLive {
			return errSettled // another copy of the message finished it
		}
		extra := newChanges(cur.hist, l.base)
		hist = append(append(append([]canonical.Change(nil), base...), extra...), ch)
		if kind == kindFinal {
			for _, c := range extra {
				if m.Status.Advances(c.Status) && c.Status != canonical.StatusSending {
					m.Status = c.Status
				}
			}
		}
	}
	// The feed entry only once its change is in the record: a callback must not announce a
	// change that was not made. A crash here loses the entry only until the message's
	// redelivery, which finds the record final and publishes it again (admit).
	side = append(side, q.publishFeed(m.Tenant, m.ID, ch, len(hist)-1))
	if kind == kindFinal && m.UpstreamID != "" && m.Upstream != "" {
		side = append(side, q.publishKV(upstreamKey(m.Upstream, m.UpstreamID), []byte(m.ID)))
	}
	for _, f := range side {
		if f == nil {
			continue
		}
		if _, err := waitAck(ctx, f); err != nil {
			q.log.Warn("cannot record a status change in the feed or an index", "id", m.ID, "err", err)
		}
	}
	return nil
}

// keepLeases tells JetStream, before AckWait runs out, that the messages leased here are
// still being worked on: a slow send must not be handed to another gateway.
func (q *Queue) keepLeases() {
	defer q.wg.Done()
	every := max(q.opts.AckWait/4, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-q.closing:
			return
		case <-t.C:
			q.abandonPulls(every)
			now := time.Now()
			q.leases.mu.Lock()
			for _, l := range q.leases.m {
				if now.Sub(l.touched) >= every {
					l.jm.InProgress()
					l.touched = now
				}
			}
			q.leases.mu.Unlock()
		}
	}
}
