package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// The receipt watchdog's storage (Watchdog). A message finished by FinishWatch is stored as
// usual (slim, s/<id> = 'W' + record, read as a finished record) and, in the same commit,
// w/<seq8> = deadline + its full record head: what a resend needs. A receipt that moves its
// status past sent turns 'W' into 'F' and deletes w/ in its own commit; so does Unwatch, and
// Resend makes the message live again from w/. Memory holds a heap of (deadline, seq),
// rebuilt at startup from w/; an entry whose w/ is gone is skipped when it comes up.

// watchHeap is a min-heap of watches by deadline.
type watchHeap struct {
	mu sync.Mutex
	h  []entry
}

func (w *watchHeap) push(e entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.h = append(w.h, e)
	for i := len(w.h) - 1; i > 0; {
		p := (i - 1) / 2
		if w.h[p].due <= w.h[i].due {
			break
		}
		w.h[i], w.h[p] = w.h[p], w.h[i]
		i = p
	}
}

// popDue removes and returns up to max entries due at or before now.
func (w *watchHeap) popDue(now int64, max int) []entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []entry
	for len(w.h) > 0 && w.h[0].due <= now && len(out) < max {
		out = append(out, w.h[0])
		n := len(w.h) - 1
		w.h[0] = w.h[n]
		w.h = w.h[:n]
		for i := 0; ; {
			l, m := 2*i+1, i
			if l < n && w.h[l].due < w.h[m].due {
				m = l
			}
			if r := l + 1; r < n && w.h[r].due < w.h[m].due {
				m = r
			}
			if m == i {
				break
			}
			w.h[i], w.h[m] = w.h[m], w.h[i]
			i = m
		}
	}
	return out
}

func (w *watchHeap) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.h)
}

// rebuildWatches reads the watches at startup.
func (q *Badger) rebuildWatches() error {
	return q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pWatch, '/'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, ok := seqOfKey(it.Item().Key())
			if !ok {
				return fmt.Errorf("corrupt key %q", it.Item().Key())
			}
			if err := it.Item().Value(func(v []byte) error {
				if len(v) < 8 {
					return fmt.Errorf("corrupt watch %d", seq)
				}
				q.watches.h = append(q.watches.h, entry{due: int64(binary.BigEndian.Uint64(v)), seq: seq})
				return nil
			}); err != nil {
				return err
			}
		}
		// Every entry is popped in deadline order; build the heap from the unordered scan.
		h := q.watches.h
		q.watches.h = nil
		for _, e := range h {
			q.watches.push(e)
		}
		return nil
	})
}

// Overdue returns the watched messages whose deadline has passed and that are still sent;
// see Watchdog.Overdue. Each comes with the whole message and the finished record's history.
func (q *Badger) Overdue(now time.Time, max int) ([]*Record, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	due := q.watches.popDue(now.UnixNano(), max)
	if len(due) == 0 {
		return nil, nil
	}
	var out []*Record
	err := q.db.View(func(txn *badger.Txn) error {
		for _, e := range due {
			v, err := getValue(txn, appendSeqKey(nil, pWatch, e.seq))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // a receipt ended the watch
			}
			if err != nil {
				return err
			}
			full := new(canonical.Message)
			var msg []byte
			if len(v) >= 8 {
				msg, _, err = splitRecord(v[8:])
			}
			if len(v) < 8 || err != nil || full.UnmarshalBinary(msg) != nil {
				q.log.Error("corrupt receipt watch; skipped", "seq", e.seq)
				continue
			}
			b, kind, _, err := readRecord(txn, full.ID)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if kind != stWatched {
				continue
			}
			rec, err := decodeRecord(b)
			if err != nil {
				return err
			}
			if rec.Msg.Status != canonical.StatusSent {
				continue
			}
			full.Status, full.Attempts = rec.Msg.Status, rec.Msg.Attempts
			out = append(out, &Record{Msg: full, History: rec.History})
		}
		return nil
	})
	if err != nil {
		for _, e := range due { // try again on the next call
			q.watches.push(e)
		}
		return nil, q.storageError("overdue", err)
	}
	return out, nil
}

// Resend makes a watched message live again, due now; see Watchdog.Resend.
func (q *Badger) Resend(m *canonical.Message, ch canonical.Change) error {
	if ch.At.IsZero() {
		ch.At = q.now().UTC()
	}
	if ch.Status == "" {
		ch.Status = canonical.StatusQueued
	}
	r := getRequest(opResend)
	defer putRequest(r)
	m.Status = canonical.StatusQueued
	r.id, r.msg, r.ch, r.seq = m.ID, m, ch, m.Seq
	r.head = appendHead(r.buf, m)
	r.buf, r.size = r.head, len(r.head)+64
	return q.submit(context.Background(), r)
}

// Unwatch ends a watch without a resend; see Watchdog.Unwatch.
func (q *Badger) Unwatch(id string, ch canonical.Change) error {
	if ch.Status != "" && ch.At.IsZero() {
		ch.At = q.now().UTC()
	}
	r := getRequest(opUnwatch)
	defer putRequest(r)
	r.id, r.ch, r.size = id, ch, len(id)+len(ch.Reason)+64
	return q.submit(context.Background(), r)
}

// watchedRecord reads s/<id> in the group's transaction when it is a watched record: the
// record's history and the w/ key. Otherwise r.err is ErrNotFound.
func (q *Badger) watchedRecord(w *writer, r *request) (rec []byte, hist []byte, m *canonical.Message, ok bool) {
	sv := q.statusOf(w, r.id)
	if sv == nil || sv[0] != stWatched {
		if w.err == nil {
			r.err = ErrNotFound
		}
		return nil, nil, nil, false
	}
	msg, hist, err := splitRecord(sv[1:])
	m = new(canonical.Message)
	if err == nil {
		err = m.UnmarshalBinary(msg)
	}
	if err != nil {
		r.err = q.storageError("watch", err)
		return nil, nil, nil, false
	}
	return sv[1:], hist, m, true
}

func (q *Badger) applyResend(w *writer, r *request, now time.Time) {
	_, hist, m, ok := q.watchedRecord(w, r)
	if !ok {
		return
	}
	seq := m.Seq
	v := binary.BigEndian.AppendUint64(q.arena, uint64(now.UnixNano()))
	v = q.key(canonical.AppendChange(append(append(v, r.head...), hist...), r.ch))
	w.setLive(q.key(appendSeqKey(q.arena, pLive, seq)), v, now.UnixNano(), now.UnixNano())
	k := q.key(appendKey(q.arena, pStatus, r.id))
	w.set(k, q.key(binary.AppendUvarint(append(q.arena, stLive), seq)), false)
	w.del(q.key(appendSeqKey(q.arena, pWatch, seq)))
	q.feed(w, m.Tenant, r.id, r.ch)
	r.seq, r.due = seq, now.UnixNano()
}

func (q *Badger) applyUnwatch(w *writer, r *request) {
	rec, _, m, ok := q.watchedRecord(w, r)
	if !ok {
		return
	}
	v := append(append(q.arena, stFinished), rec...)
	if r.ch.Status != "" {
		v = canonical.AppendChange(v, r.ch)
	}
	v = q.key(v) // before the key is appended to the arena
	w.set(q.key(appendKey(q.arena, pStatus, r.id)), v, true)
	w.del(q.key(appendSeqKey(q.arena, pWatch, m.Seq)))
	if r.ch.Status != "" {
		q.feed(w, m.Tenant, r.id, r.ch)
	}
}
