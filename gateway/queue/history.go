package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"switchboard/canonical"
)

// Record adds a status change to a message, live or not (a delivery receipt); see
// Queue.Record. For a finished message the status moves when the change advances it
// (canonical.Status.Advances). For a live message the change joins its history, and is
// weighed against the final status when the message finishes. It returns when committed.
func (q *Badger) Record(id string, ch canonical.Change) error {
	if ch.At.IsZero() {
		ch.At = q.now().UTC()
	}
	r := getRequest(opRecord)
	defer putRequest(r)
	r.id, r.ch, r.size = id, ch, len(id)+len(ch.Reason)+64
	return q.submit(context.Background(), r)
}

// Replay moves a dead message back to the schedule, due now, with attempts and last error
// reset; see Queue.Replay.
func (q *Badger) Replay(id string) error {
	r := getRequest(opReplay)
	defer putRequest(r)
	r.id, r.size = id, 256
	return q.submit(context.Background(), r)
}

// statusOf reads s/<id> in the group's transaction: a copy of its value, or nil.
func (q *Badger) statusOf(w *writer, id string) []byte {
	var sv []byte
	q.scratch = appendKey(q.scratch[:0], pStatus, id)
	found, err := w.get(q.scratch, func(v []byte) error {
		sv = bytes.Clone(v)
		return nil
	})
	if err != nil {
		w.fail(err)
		return nil
	}
	if !found || len(sv) == 0 {
		return nil
	}
	return sv
}

// valueOf reads key in the group's transaction: a copy of its value, or nil.
func (q *Badger) valueOf(w *writer, key []byte) []byte {
	var v []byte
	found, err := w.get(key, func(b []byte) error {
		v = bytes.Clone(b)
		return nil
	})
	if err != nil {
		w.fail(err)
	}
	if !found {
		return nil
	}
	return v
}

func (q *Badger) applyRecord(w *writer, r *request, now int64) {
	sv := q.statusOf(w, r.id)
	if sv == nil {
		if w.err == nil {
			r.err = ErrNotFound
		}
		return
	}
	change := canonical.AppendChange(nil, r.ch)
	var m canonical.Message
	switch sv[0] {
	case stFinished, stWatched:
		msg, hist, err := splitRecord(sv[1:])
		if err == nil {
			err = m.UnmarshalBinary(msg)
		}
		if err != nil {
			r.err = q.storageError("record", err)
			return
		}
		kind, head := sv[0], sv[1:1+4+len(msg)]
		if m.Status.Advances(r.ch.Status) {
			m.Status = r.ch.Status
			head = appendHead(nil, &m)
			if kind == stWatched {
				// The receipt the watch waited for (any status past sent ends it).
				kind = stFinished
				w.del(q.key(appendSeqKey(q.arena, pWatch, m.Seq)))
			}
			if m.Template != nil && failure(r.ch.Status) {
				q.untemplate(w, &m)
			}
		}
		v := q.key(append(append(append(append(q.arena, kind), head...), hist...), change...))
		k := q.key(appendKey(q.arena, pStatus, r.id))
		w.set(k, v, true)
	case stLive, stDead:
		seq, n := binary.Uvarint(sv[1:])
		prefix, skip := byte(pLive), 8 // a live value starts with its due time
		if sv[0] == stDead {
			prefix, skip = pDead, 0
		}
		k := q.key(appendSeqKey(q.arena, prefix, seq))
		v := q.valueOf(w, k)
		if w.err != nil {
			return
		}
		var err error = errCorruptRecord
		if n > 0 && len(v) >= skip {
			var msg []byte
			if msg, _, err = splitRecord(v[skip:]); err == nil {
				err = m.UnmarshalBinary(msg)
			}
		}
		if err != nil {
			r.err = q.storageError("record", err)
			return
		}
		if sv[0] == stLive {
			w.setLive(k, append(v, change...), int64(binary.BigEndian.Uint64(v)), now)
			q.sched.addReceipt(seq, change)
		} else {
			w.set(k, append(v, change...), false)
		}
	default:
		r.err = q.storageError("record", errCorruptRecord)
		return
	}
	if r.op == opRecord { // a reply's history entry (opReply) posts no status callback
		q.feed(w, m.Tenant, r.id, r.ch)
	}
}

func failure(s canonical.Status) bool {
	switch s {
	case canonical.StatusFailed, canonical.StatusExpired, canonical.StatusRejected, canonical.StatusDead:
		return true
	}
	return false
}

// untemplate forgets that a template was sent to m's recipient when m was the last one
// sent there and a receipt says it failed: check-sent then no longer reports it. (An
// earlier template to the same recipient is not restored.)
func (q *Badger) untemplate(w *writer, m *canonical.Message) {
	for _, name := range TemplateNames(m) {
		k := q.key(appendTemplateKey(q.arena, m.Tenant, m.To, name))
		if v := q.valueOf(w, k); len(v) > 8 && string(v[8:]) == m.ID {
			w.del(k)
		}
	}
}

// appendTemplateKey is t/<tenant><to>, or t/<tenant><to>\x00<name> for one template: the
// recipient is digits, so the two never collide.
func appendTemplateKey(dst []byte, tenant, to, name string) []byte {
	dst = append(appendLP(append(dst, pTmpl, '/'), tenant), to...)
	if name != "" {
		dst = append(append(dst, 0), name...)
	}
	return dst
}

func (q *Badger) applyReplay(w *writer, r *request, now time.Time) {
	sv := q.statusOf(w, r.id)
	if sv == nil || sv[0] != stDead {
		if w.err == nil {
			r.err = ErrNotFound
		}
		return
	}
	seq, n := binary.Uvarint(sv[1:])
	dk := q.key(appendSeqKey(q.arena, pDead, seq))
	dv := q.valueOf(w, dk)
	if w.err != nil {
		return
	}
	var m canonical.Message
	err := errCorruptRecord
	var msg, hist []byte
	if n > 0 && dv != nil {
		if msg, hist, err = splitRecord(dv); err == nil {
			err = m.UnmarshalBinary(msg)
		}
	}
	if err != nil {
		r.err = q.storageError("replay", err)
		return
	}
	m.Attempts, m.LastError, m.Status = 0, "", canonical.StatusQueued
	v := binary.BigEndian.AppendUint64(q.arena, uint64(now.UnixNano()))
	v = append(appendHead(v, &m), hist...)
	replayed := canonical.Change{Status: canonical.StatusQueued, At: now, Reason: "replayed"}
	v = q.key(canonical.AppendChange(v, replayed))
	k := q.key(appendSeqKey(q.arena, pLive, seq))
	w.setLive(k, v, now.UnixNano(), now.UnixNano())
	v = q.key(binary.AppendUvarint(append(q.arena, stLive), seq))
	k = q.key(appendKey(q.arena, pStatus, r.id))
	w.set(k, v, false)
	w.del(dk)
	q.feed(w, m.Tenant, r.id, replayed)
	r.seq, r.due = seq, now.UnixNano()
}
