package queue

import (
	"context"
	"encoding/binary"
	"time"

	"switchboard/canonical"
)

var errIdemConflict = &canonical.Error{Code: canonical.ErrConflict, Field: "client_ref",
	Reason: "was already used for a different message"}

// Enqueue makes the items durable and schedules them; see Queue.Enqueue. The encoding is done
// here, on the caller's goroutine; the committer only checks idempotency keys and writes.
// ctx bounds the wait for the committer; a call it has taken is completed.
func (q *Badger) Enqueue(ctx context.Context, items []Item) ([]bool, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if err := CheckItems(items); err != nil {
		return nil, err
	}
	if q.closed.Load() {
		return nil, ErrClosing
	}
	if q.disk.low.Load() {
		rejectedDiskTotal.Inc()
		return nil, ErrDiskLow
	}
	n := int64(len(items))
	if q.depth.Load()+q.pending.Add(n) > q.opts.MaxDepth {
		q.pending.Add(-n)
		rejectedTotal.Inc()
		return nil, ErrFull
	}
	defer q.pending.Add(-n)

	now := q.now().UTC()
	r := getRequest(opEnqueue)
	defer putRequest(r)
	r.items = items
	r.dup = make([]bool, len(items))
	buf := r.buf
	for _, it := range items {
		m := it.Msg
		if m.ID == "" {
			m.ID = canonical.NewID()
		}
		m.Seq = q.seq.Add(1)
		m.CreatedAt = now
		due := now
		m.Status = canonical.StatusQueued
		if m.NotBefore.After(now) {
			due = m.NotBefore
			m.Status = canonical.StatusScheduled
		}
		start := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, uint64(due.UnixNano()))
		buf = appendHead(buf, m)
		buf = canonical.AppendChange(buf, canonical.Change{Status: m.Status, At: now})
		r.vals = append(r.vals, buf[start:len(buf):len(buf)]) // re-sliced below if buf moved
		r.dues = append(r.dues, due.UnixNano())
	}
	// buf may have moved while growing: point every value at the final array.
	off := 0
	for i, v := range r.vals {
		r.vals[i] = buf[off : off+len(v) : off+len(v)]
		off += len(v)
	}
	r.buf, r.size = buf, len(buf)

	if err := q.submit(ctx, r); err != nil {
		return nil, err
	}
	var dups uint64
	for _, d := range r.dup {
		if d {
			dups++
		}
	}
	enqueuedTotal.Add(len(items) - int(dups))
	duplicatesTotal.Add(int(dups))
	return r.dup, nil
}

// An idempotency value: content hash (8 bytes), seq, created at, status, id.

func appendIdem(dst []byte, it Item) []byte {
	m := it.Msg
	dst = binary.BigEndian.AppendUint64(dst, it.IdemHash)
	dst = binary.AppendUvarint(dst, m.Seq)
	dst = binary.AppendVarint(dst, m.CreatedAt.UnixNano())
	dst = appendLP(dst, string(m.Status))
	return append(dst, m.ID...)
}

// checkIdem compares a stored idempotency value with it: the same hash makes it a repeat
// (its message gets the original's identity), another is a conflict.
func checkIdem(v []byte, it Item) error {
	if len(v) < 8 {
		return errCorruptRecord
	}
	if binary.BigEndian.Uint64(v) != it.IdemHash {
		return errIdemConflict
	}
	v = v[8:]
	seq, n := binary.Uvarint(v)
	if n <= 0 {
		return errCorruptRecord
	}
	v = v[n:]
	created, n := binary.Varint(v)
	if n <= 0 {
		return errCorruptRecord
	}
	status, id, ok := readLP(v[n:])
	if !ok {
		return errCorruptRecord
	}
	setOriginal(it.Msg, string(id), seq, time.Unix(0, created).UTC(), canonical.Status(status))
	return nil
}

func setOriginal(m *canonical.Message, id string, seq uint64, created time.Time, status canonical.Status) {
	m.ID, m.Seq, m.CreatedAt, m.Status = id, seq, created, status
}
