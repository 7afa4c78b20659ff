package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// A record is the message (4-byte length + canonical codec) followed by its status changes,
// each: status, at (Unix nanoseconds, varint), upstream, reason, code; strings uvarint-length
// prefixed. Changes run to the end of the value, so adding one is an append.

var errCorruptRecord = errors.New("corrupt queue record")

// appendHead appends the message part of a record.
func appendHead(dst []byte, m *canonical.Message) []byte {
	at := len(dst)
	dst = m.AppendBinary(append(dst, 0, 0, 0, 0))
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// splitRecord returns the message codec and the history of a record.
func splitRecord(b []byte) (msg, hist []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errCorruptRecord
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, errCorruptRecord
	}
	return b[4 : 4+n], b[4+n:], nil
}

func decodeRecord(b []byte) (*Record, error) {
	msg, hist, err := splitRecord(b)
	if err != nil {
		return nil, err
	}
	r := &Record{Msg: new(canonical.Message)}
	if err := r.Msg.UnmarshalBinary(msg); err != nil {
		return nil, err
	}
	if r.History, err = canonical.DecodeChanges(hist); err != nil {
		return nil, err
	}
	return r, nil
}

// mergeChanges appends to hist those encoded changes of extra it does not already hold.
// A receipt recorded while a message was leased may or may not be in the history read at
// lease time, so it is merged by content.
func mergeChanges(hist, extra []byte) []byte {
	for len(extra) > 0 {
		ch, rest, ok := canonical.NextChange(extra)
		if !ok {
			break
		}
		if !bytes.Contains(hist, ch) {
			hist = append(hist, ch...)
		}
		extra = rest
	}
	return hist
}

func readLP(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || n > math.MaxInt32 {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// Status values (s/<id>): where a message stands.
const (
	stLive     = 'L' // + seq (uvarint): the message is m/<seq>
	stDead     = 'D' // + seq: the message is d/<seq>
	stFinished = 'F' // + record
	stWatched  = 'W' // + record, read as stFinished; the message is also w/<seq> (watch.go)
)

// readRecord finds a message by id in txn. It returns the record's bytes (a copy), the
// status kind and, for live and dead messages, the Seq.
func readRecord(txn *badger.Txn, id string) (rec []byte, kind byte, seq uint64, err error) {
	sv, err := getValue(txn, appendKey(nil, pStatus, id))
	if err != nil {
		return nil, 0, 0, err
	}
	return resolveStatus(txn, id, sv)
}

// resolveStatus returns the record that the status value sv of message id stands for: in sv
// itself when finished, else in the live or dead message it points to.
func resolveStatus(txn *badger.Txn, id string, sv []byte) (rec []byte, kind byte, seq uint64, err error) {
	if len(sv) == 0 {
		return nil, 0, 0, errCorruptRecord
	}
	kind = sv[0]
	switch kind {
	case stFinished, stWatched:
		return sv[1:], kind, 0, nil
	case stLive, stDead:
		var n int
		if seq, n = binary.Uvarint(sv[1:]); n <= 0 {
			return nil, 0, 0, errCorruptRecord
		}
		prefix := byte(pLive)
		if kind == stDead {
			prefix = pDead
		}
		v, err := getValue(txn, appendSeqKey(nil, prefix, seq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, 0, 0, fmt.Errorf("message %s: %w", id, errCorruptRecord)
		}
		if err != nil {
			return nil, 0, 0, err
		}
		if kind == stLive {
			if len(v) < 8 {
				return nil, 0, 0, errCorruptRecord
			}
			v = v[8:]
		}
		return v, kind, seq, nil
	}
	return nil, 0, 0, errCorruptRecord
}

// getValue returns a copy of key's value, or badger.ErrKeyNotFound.
func getValue(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// storageError logs a Badger failure and returns what callers see.
func (q *Badger) storageError(op string, err error) error {
	q.log.Error("queue storage failed", "op", op, "err", err)
	return canonical.Errorf(canonical.ErrInternal, "queue storage failed")
}

// Get returns a message and its history while it is live, dead or within retention.
// A leased message shows status sending.
func (q *Badger) Get(id string) (*Record, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	var rec *Record
	var kind byte
	var seq uint64
	err := q.db.View(func(txn *badger.Txn) error {
		b, k, s, err := readRecord(txn, id)
		if err != nil {
			return err
		}
		kind, seq = k, s
		rec, err = decodeRecord(b)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, q.storageError("get", err)
	}
	q.showLease(rec, kind, seq)
	return rec, nil
}

// ByRef returns the ids of a tenant's messages with that client ref, oldest first.
func (q *Badger) ByRef(tenant, ref string) ([]string, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	prefix := appendLP(appendLP([]byte{pRef, '/'}, tenant), ref)
	var ids []string
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, string(it.Item().Key()[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, q.storageError("by ref", err)
	}
	return ids, nil
}

// TemplateSentSince returns, of the given recipients, those a template message was sent to
// (finished as sent, delivered or read) since the time given, with the latest such time.
func (q *Badger) TemplateSentSince(tenant string, to []string, template string, since time.Time) (map[string]time.Time, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	out := make(map[string]time.Time)
	var key []byte
	err := q.db.View(func(txn *badger.Txn) error {
		for _, t := range to {
			key = appendTemplateKey(key[:0], tenant, t, template)
			item, err := txn.Get(key)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := item.Value(func(v []byte) error {
				if len(v) < 8 { // the time, then (since receipts) the message id
					return errCorruptRecord
				}
				if at := time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(); !at.Before(since) {
					out[t] = at
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, q.storageError("template sent", err)
	}
	return out, nil
}

// Changes returns up to max of the tenant's messages whose status changed since the last
// call, each once, and moves the tenant's cursor past them. The cursor is written without a
// sync: after a crash a few changes may be returned again.
func (q *Badger) Changes(tenant string, max int) ([]*Record, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	if max <= 0 {
		return nil, nil
	}
	q.changesMu.Lock()
	defer q.changesMu.Unlock()
	cursorKey := appendKey(nil, pCursor, tenant)
	prefix := appendLP([]byte{pFeed, '/'}, tenant)
	var out []*Record
	var last uint64
	err := q.db.View(func(txn *badger.Txn) error {
		cursor, err := getValue(txn, cursorKey)
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if len(cursor) == 8 {
			last = binary.BigEndian.Uint64(cursor)
		}
		var ids []string
		seen := make(map[string]bool)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		// Seek skips what earlier calls returned without reading it.
		full := false
		for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), last+1)); it.Valid() && !full; it.Next() {
			item := it.Item()
			k := item.Key()
			if err := item.Value(func(v []byte) error {
				return feedItems(v, binary.BigEndian.Uint64(k[len(k)-8:]), func(fseq uint64, id string, _ *canonical.Change) bool {
					if fseq <= last { // the first run read may begin before the cursor
						return true
					}
					if id == "" { // a reply: no status changed
						last = fseq
						return true
					}
					if !seen[id] {
						if len(ids) == max {
							full = true
							return false
						}
						seen[id] = true
						ids = append(ids, id)
					}
					last = fseq
					return true
				})
			}); err != nil {
				return err
			}
		}
		for _, id := range ids {
			b, _, _, err := readRecord(txn, id)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // expired
			}
			if err != nil {
				return err
			}
			r, err := decodeRecord(b)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err == nil && last > 0 {
		err = q.update(func(w *writer) {
			w.set(cursorKey, binary.BigEndian.AppendUint64(nil, last), false)
		})
	}
	if err != nil {
		return nil, q.storageError("changes", err)
	}
	return out, nil
}

// DeadLetters lists up to max dead messages, oldest (lowest Seq) first.
func (q *Badger) DeadLetters(max int) ([]*Record, error) { return q.DeadLettersAfter("", max) }

// DeadLettersAfter lists up to max dead messages after the dead message after (by Seq, the
// order they died in), oldest first.
func (q *Badger) DeadLettersAfter(after string, max int) ([]*Record, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	var out []*Record
	err := q.db.View(func(txn *badger.Txn) error {
		prefix := []byte{pDead, '/'}
		start := prefix
		if after != "" {
			_, kind, seq, err := readRecord(txn, after)
			if errors.Is(err, badger.ErrKeyNotFound) || (err == nil && kind != stDead) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			start = appendSeqKey(nil, pDead, seq+1)
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(start); it.Valid() && len(out) < max; it.Next() {
			var r *Record
			if err := it.Item().Value(func(v []byte) (err error) {
				r, err = decodeRecord(v)
				return err
			}); err != nil {
				return err
			}
			// A dead letter replayed since can be back (value-log GC, see stillLive).
			seq, _ := seqOfKey(it.Item().Key())
			if kind, s, err := statusOf(txn, r.Msg.ID); err != nil || kind != stDead || s != seq {
				if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, q.storageError("dead letters", err)
	}
	return out, nil
}

// OldestReadyAge is how long the oldest message due and not yet leased has waited, to within
// 100 ms (a message that was ready before a restart counts from the restart); 0 when none is.
func (q *Badger) OldestReadyAge() time.Duration {
	return q.sched.oldestReady(q.now().UnixNano())
}

// Stats counts the live messages from memory.
func (q *Badger) Stats() Stats {
	r, s, f := q.sched.stats(q.now().UnixNano())
	return Stats{Depth: r + s + f, Ready: r, Scheduled: s, InFlight: f, Dead: q.dead.Load()}
}

// slim returns a copy of m without what only sending needs: text, media, variables,
// template parameters and the sending window. A finished record keeps what status queries,
// callbacks and check-sent read, and the buttons and list options (a few short labels) that
// a reply's pick is matched against, so that disk use under retention follows the number of
// statuses, not the size of messages.
func slim(m *canonical.Message) *canonical.Message {
	s := *m
	s.Text, s.Media, s.Vars, s.Window = "", nil, nil, nil
	if m.Template != nil {
		t := *m.Template
		t.Params = nil
		s.Template = &t
	}
	return &s
}

// feedV1 starts a feed value that holds the change; older values are the bare id.
const feedV1 = 1

func appendFeedValue(dst []byte, id string, ch canonical.Change) []byte {
	return canonical.AppendChange(appendLP(append(dst, feedV1), id), ch)
}

// parseFeedValue reads a feed value: the id and, for a value that holds it, the change; a
// reply's value gives no id.
func parseFeedValue(v []byte) (id string, ch *canonical.Change, err error) {
	if len(v) > 0 && v[0] == feedReply {
		return "", nil, nil // a reply (replies_badger.go)
	}
	if len(v) == 0 || v[0] != feedV1 {
		return string(v), nil, nil
	}
	id, rest, ok := readLP(v[1:])
	if !ok {
		return "", nil, errCorruptRecord
	}
	chs, err := canonical.DecodeChanges(rest)
	if err != nil || len(chs) != 1 {
		return "", nil, errCorruptRecord
	}
	return id, &chs[0], nil
}
