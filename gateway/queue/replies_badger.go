package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/dgraph-io/badger/v4"
	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// The Badger backend's replies (queue.Replies). One AddReplies is one committer request
// (opReply), so replies are group-committed with everything else and their callers wait for
// the sync like Enqueue's. Each reply is written twice in the commit, as JSON:
//
//	f/<lp tenant><fseq8>   feedReply + the reply: the tenant's change feed, for callbacks.
//	y/<lp tenant><fseq8>   the reply, for pulls (ReadReplies). TTL retention.
//
// and, when it answers a message, as a StatusReplied change on that message's record.

var _ Replies = (*Badger)(nil)

// pReply is the replies' key prefix (see the layout above and in badger.go).
const pReply = 'y'

// feedReply starts a feed value that holds a reply (feedV1 a status change).
const feedReply = 2

// AddReplies makes the replies durable and adds them to their tenants' feeds; see Replies.
func (q *Badger) AddReplies(ctx context.Context, rs []*canonical.Reply) error {
	if err := CheckReplies(rs); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	r := getRequest(opReply)
	defer putRequest(r)
	r.replies = rs
	for _, rp := range rs {
		if rp.ID == "" {
			rp.ID = canonical.NewID()
		}
		b, err := json.Marshal(rp)
		if err != nil {
			return canonical.Errorf(canonical.ErrInternal, "cannot encode a reply: %v", err)
		}
		r.vals = append(r.vals, b)
		r.size += 2*len(b) + 64
	}
	return q.submit(ctx, r)
}

// applyReplies writes a reply request's replies, feed entries and history entries.
func (q *Badger) applyReplies(w *writer, r *request, now int64) {
	for i, rp := range r.replies {
		q.feedSeq++
		rp.Seq = q.feedSeq
		// The Seq is known only now: it is patched into the encoded reply, whose
		// "seq" key json.Marshal omitted while it was 0.
		v := withSeq(r.vals[i], rp.Seq)
		k := q.key(binary.BigEndian.AppendUint64(appendLP(append(q.arena, pFeed, '/'), rp.Tenant), rp.Seq))
		w.set(k, q.key(append(append(q.arena, feedReply), v...)), true)
		k = q.key(binary.BigEndian.AppendUint64(appendLP(append(q.arena, pReply, '/'), rp.Tenant), rp.Seq))
		w.set(k, v, true)
		if rp.MessageID != "" {
			// The message may be past retention: the reply is kept all the same.
			sub := request{op: opReply, id: rp.MessageID, ch: ReplyChange(rp)}
			q.applyRecord(w, &sub, now)
		}
	}
}

// withSeq returns the JSON object b with "seq":seq added first.
func withSeq(b []byte, seq uint64) []byte {
	out := strconv.AppendUint(append(make([]byte, 0, len(b)+32), `{"seq":`...), seq, 10)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...)
}

// parseReplyValue reads a feed value that holds a reply; ok is false for any other.
func parseReplyValue(v []byte) (r *canonical.Reply, ok bool, err error) {
	if len(v) == 0 || v[0] != feedReply {
		return nil, false, nil
	}
	r = new(canonical.Reply)
	if err := json.Unmarshal(v[1:], r); err != nil {
		return nil, true, errCorruptRecord
	}
	return r, true, nil
}

// ReadReplies returns up to max of the tenant's replies after Seq after; see Replies.
func (q *Badger) ReadReplies(tenant string, after uint64, max int) ([]canonical.Reply, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	if max <= 0 {
		return nil, nil
	}
	prefix := appendLP([]byte{pReply, '/'}, tenant)
	var out []canonical.Reply
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: min(max, 100)})
		defer it.Close()
		for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), after+1)); it.Valid() && len(out) < max; it.Next() {
			var rp canonical.Reply
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rp) }); err != nil {
				return errors.Join(errCorruptRecord, err)
			}
			out = append(out, rp)
		}
		return nil
	})
	if err != nil {
		return nil, q.storageError("read replies", err)
	}
	return out, nil
}
