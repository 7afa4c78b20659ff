package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// Lease takes up to max due messages, marks them in flight (status sending) and returns them,
// waiting until one is due, ctx is done (ctx.Err()) or the queue closes. A lease is kept in
// memory only: after a crash every live message is due again.
func (q *Badger) Lease(ctx context.Context, limit int) ([]*canonical.Message, error) {
	limit = min(max(limit, 1), maxGroupItems)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if q.disk.paused() {
			// Below the disk's floor: finishing a send writes too (diskspace.go).
			select {
			case <-time.After(diskSampleInterval):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-q.closing:
				return nil, ErrClosing
			}
		}
		if err := q.enter(); err != nil {
			return nil, err
		}
		now := q.now().UTC()
		seqs, vals, leases, wait := q.sched.take(limit, now.UnixNano())
		if len(seqs) > 0 {
			msgs, err := q.load(seqs, vals, leases, now)
			q.exit()
			if err != nil || len(msgs) > 0 {
				return msgs, err
			}
			continue
		}
		q.exit()
		var timerC <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			timerC = timer.C
		}
		select {
		case <-q.sched.notify:
		case <-timerC:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.closing:
			return nil, ErrClosing
		}
	}
}

// load reads the leased messages: from vals where the schedule kept the value, the others in
// one read transaction.
func (q *Badger) load(seqs []uint64, vals [][]byte, leases []*lease, now time.Time) ([]*canonical.Message, error) {
	sending := canonical.AppendChange(nil, canonical.Change{Status: canonical.StatusSending, At: now})
	msgs := make([]*canonical.Message, len(seqs))
	hists := make([][]byte, len(seqs))
	var hbuf []byte // the histories, sharing their allocations
	var bad []int
	// stale are messages read from Badger whose status no longer points at them (stillLive).
	var stale []int
	// decode reads the m/ value of message i.
	decode := func(i int, v []byte) error {
		if len(v) < 8 {
			return errCorruptRecord
		}
		msg, hist, err := splitRecord(v[8:])
		if err != nil {
			return err
		}
		m := new(canonical.Message)
		if err := m.UnmarshalBinary(msg); err != nil {
			return err
		}
		m.Status = canonical.StatusSending
		msgs[i] = m
		start := len(hbuf)
		hbuf = append(append(hbuf, hist...), sending...)
		hists[i] = hbuf[start:len(hbuf):len(hbuf)]
		return nil
	}
	logBad := func(i int, err error) {
		q.log.Error("cannot read queued message; it stays on disk and is skipped until restart",
			"seq", seqs[i], "err", err)
		bad = append(bad, i)
	}
	missed := false
	for i, v := range vals {
		if v == nil {
			missed = true
		} else if err := decode(i, v); err != nil {
			logBad(i, err)
		}
	}
	var err error
	if missed {
		key := make([]byte, 0, 10)
		err = q.db.View(func(txn *badger.Txn) error {
			for i, seq := range seqs {
				if vals[i] != nil {
					continue
				}
				item, err := txn.Get(appendSeqKey(key[:0], pLive, seq))
				if errors.Is(err, badger.ErrKeyNotFound) {
					bad = append(bad, i)
					continue
				}
				if err != nil {
					return err
				}
				if err := item.Value(func(v []byte) error { return decode(i, v) }); err != nil {
					logBad(i, err)
					continue
				}
				live, err := stillLive(txn, msgs[i].ID, seq)
				if err != nil {
					return err
				}
				if !live {
					stale = append(stale, i)
				}
			}
			return nil
		})
	}
	if len(stale) > 0 && err == nil {
		// Delete them again; a failure leaves them to be found at the next restart.
		q.update(func(w *writer) {
			for _, i := range stale {
				w.del(appendSeqKey(nil, pLive, seqs[i]))
			}
		})
		staleTotal.Add(len(stale))
		q.log.Warn("queue dropped messages the startup scan found live and their status says are not (brought back by value-log GC)", "count", len(stale))
		bad = append(bad, stale...)
	}
	if err != nil {
		q.sched.mu.Lock()
		now := q.now().UnixNano()
		for _, seq := range seqs {
			delete(q.sched.inflight, seq)
			q.sched.ready.push(seq, now)
		}
		q.sched.mu.Unlock()
		return nil, q.storageError("lease", err)
	}
	for _, i := range bad {
		q.sched.drop(seqs[i])
		q.depth.Add(-1)
		msgs[i] = nil
	}
	out := msgs[:0]
	q.sched.mu.Lock()
	for i, m := range msgs {
		if m != nil {
			leases[i].id = m.ID
			leases[i].hist = hists[i][:len(hists[i]):len(hists[i])]
			out = append(out, m)
		}
	}
	q.sched.mu.Unlock()
	leasedTotal.Add(len(out))
	return out, nil
}

// Finish ends a leased message with a final status; see Queue.Finish. m.Status becomes
// ch.Status, or a receipt's status that came while the message was in flight and is further
// along. It returns when the change is committed. The finished record is slim (see slim);
// m itself is left whole.
func (q *Badger) Finish(m *canonical.Message, ch canonical.Change) error {
	return q.finish(m, ch, time.Time{})
}

// FinishWatch is Finish, for a message sent, that also keeps the message until a receipt
// moves it past sent or until deadline; see Watchdog and watch.go.
func (q *Badger) FinishWatch(m *canonical.Message, ch canonical.Change, deadline time.Time) error {
	if deadline.IsZero() {
		return canonical.Errorf(canonical.ErrInternal, "cannot watch message %s without a deadline", m.ID)
	}
	return q.finish(m, ch, deadline)
}

func (q *Badger) finish(m *canonical.Message, ch canonical.Change, watch time.Time) error {
	if q.closed.Load() {
		return ErrClosing
	}
	if !ch.Status.Final() {
		return canonical.Errorf(canonical.ErrInternal, "cannot finish message %s with status %q: not final", m.ID, ch.Status)
	}
	if ch.At.IsZero() {
		ch.At = q.now().UTC()
	}
	l, err := q.sched.claim(m.Seq, m.ID)
	if err != nil {
		return err
	}
	m.Status = ch.Status
	r := getRequest(opFinish)
	defer putRequest(r)
	r.seq, r.lease, r.msg, r.ch = m.Seq, l, m, ch
	if m.Status == canonical.StatusDead {
		r.head = appendHead(r.buf, m) // a dead letter keeps everything, for replay
	} else {
		r.head = appendHead(r.buf, slim(m))
	}
	r.buf, r.size = r.head, len(r.head)+len(l.hist)
	if !watch.IsZero() && m.Status == canonical.StatusSent {
		r.watch = watch.UnixNano()
		r.full = appendHead(nil, m)
		r.size += len(r.full)
	}
	if err := q.submit(context.Background(), r); err != nil {
		q.sched.unclaim(m.Seq)
		return err
	}
	finishedTotal.Inc()
	if m.Status == canonical.StatusDead {
		deadTotal.Inc()
	}
	return nil
}

// Retry returns a leased message to the schedule, due at at; see Queue.Retry. m.Status
// becomes queued (or scheduled when at is ahead); ch is recorded as given, its Status
// defaulting to that.
func (q *Badger) Retry(m *canonical.Message, at time.Time, ch canonical.Change) error {
	if q.closed.Load() {
		return ErrClosing
	}
	at, ch = PrepareRetry(m, at, q.now(), ch)
	l, err := q.sched.claim(m.Seq, m.ID)
	if err != nil {
		return err
	}
	r := getRequest(opRetry)
	defer putRequest(r)
	r.seq, r.lease, r.msg, r.ch, r.due = m.Seq, l, m, ch, at.UnixNano()
	r.head = appendHead(r.buf, m)
	r.buf, r.size = r.head, len(r.head)+len(l.hist)
	if err := q.submit(context.Background(), r); err != nil {
		q.sched.unclaim(m.Seq)
		return err
	}
	retriedTotal.Inc()
	return nil
}

// Release returns a leased message to the schedule, due at at, without writing anything:
// the stored message is unchanged and its lease is forgotten (after a restart it is due at
// its stored time, not at). m.Status becomes queued (or scheduled).
func (q *Badger) Release(m *canonical.Message, at time.Time) error {
	if q.closed.Load() {
		return ErrClosing
	}
	now := q.now().UTC()
	at, status := DueAt(at, now)
	if err := q.sched.release(m.Seq, m.ID, at.UnixNano(), now.UnixNano()); err != nil {
		return err
	}
	m.Status = status
	return nil
}

// stillLive reports whether message id's status still points at the live message seq. After
// a restart it may not: Badger's value-log GC writes back the value of a key as it read it
// (the version the key had when written to the file), and a compaction that dropped the key's
// deletion meanwhile, as the bottom level does, leaves that write-back as the key's newest
// version. So a live message deleted by its Finish can come back in the startup scan (the
// running schedule never takes it back). Badger v4.9.6 keeps deletions made after a GC began
// (its #2286), not those made before. Its status, never deleted, says what it is.
func stillLive(txn *badger.Txn, id string, seq uint64) (bool, error) {
	kind, s, err := statusOf(txn, id)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	case errors.Is(err, errCorruptRecord):
		return true, nil // says nothing of this message: sent as before
	}
	return err == nil && kind == stLive && s == seq, err
}

// statusOf returns the kind of message id's status and, for a live or dead message, its Seq.
func statusOf(txn *badger.Txn, id string) (kind byte, seq uint64, err error) {
	sv, err := getValue(txn, appendKey(nil, pStatus, id))
	if err != nil {
		return 0, 0, err
	}
	if len(sv) == 0 {
		return 0, 0, errCorruptRecord
	}
	if sv[0] == stLive || sv[0] == stDead {
		var n int
		if seq, n = binary.Uvarint(sv[1:]); n <= 0 {
			return 0, 0, errCorruptRecord
		}
	}
	return sv[0], seq, nil
}
