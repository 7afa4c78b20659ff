package queue

import (
	"encoding/binary"

	"switchboard/canonical"
)

// Feed runs. A finish used to cost three Badger entries besides the message's own: the status
// record, the delete of the live message and a change-feed entry. The feed entries of one
// commit group that belong to one tenant and follow each other now share one entry, a run:
// its key is f/<lp tenant><fseq8> of its last change, its value feedRunMark, the number of
// changes n (uvarint) and each change as a single entry holds it (the id length-prefixed,
// then the change), for the fseqs fseq8-n+1 .. fseq8. Seeking the feed to an fseq therefore
// lands on the run that holds it: every run covers a contiguous range of fseqs (they are
// handed out while the run gathers, and a run ends when another tenant's change comes or an
// fseq is handed out past it), and ranges never overlap. A feed value of another kind must
// not start with feedRunMark.
//
// A run is written in the group's transaction that holds its changes: at the group's end,
// or before the writer commits a transaction to start another (writer.beforeNext), so a
// crash between the transactions of a split group loses no feed entry of the first.

// feedRunMark starts a run's value. Single entries start with feedV1 (or, older, with the
// id's first character), so a byte below any printable one marks a run.
const feedRunMark = 0x1e

// maxFeedRun bounds the changes in one run, keeping a run's value to a few kilobytes.
const maxFeedRun = 64

// feedRun is the run being gathered by the committer.
type feedRun struct {
	tenant string
	last   uint64 // fseq of the last change
	n      int
	items  []byte // each change: lp(id), then the change
}

func (r *feedRun) add(tenant string, fseq uint64, id string, ch canonical.Change) {
	r.tenant, r.last = tenant, fseq
	r.n++
	r.items = canonical.AppendChange(appendLP(r.items, id), ch)
}

// flushFeed writes the run gathered so far, if any, as one entry and starts a new one. A run
// of one change is written as a single entry.
func (q *Badger) flushFeed(w *writer) {
	r := q.run
	if r.n == 0 {
		return
	}
	q.run = feedRun{items: r.items[:0]} // cleared first: w.set may start a transaction, which flushes
	k := q.key(binary.BigEndian.AppendUint64(appendLP(append(q.arena, pFeed, '/'), r.tenant), r.last))
	var v []byte
	if r.n == 1 {
		v = q.key(append(append(q.arena, feedV1), r.items...))
	} else {
		v = q.key(append(binary.AppendUvarint(append(q.arena, feedRunMark), uint64(r.n)), r.items...))
	}
	w.set(k, v, true)
	if cap(q.run.items) > maxGroupBytes {
		q.run.items = nil
	}
}

// feedItems calls fn for each change of the feed entry with value v whose key ends in fseq
// last: the run's changes in order, or the single entry's one change (ch nil for a bare id).
// It stops when fn returns false.
func feedItems(v []byte, last uint64, fn func(fseq uint64, id string, ch *canonical.Change) bool) error {
	if len(v) == 0 || v[0] != feedRunMark {
		id, ch, err := parseFeedValue(v)
		if err != nil {
			return err
		}
		fn(last, id, ch)
		return nil
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n == 0 || n > last {
		return errCorruptRecord
	}
	rest := v[1+k:]
	for fseq := last - n + 1; fseq <= last; fseq++ {
		id, after, ok := readLP(rest)
		if !ok {
			return errCorruptRecord
		}
		enc, after, ok := canonical.NextChange(after)
		if !ok {
			return errCorruptRecord
		}
		chs, err := canonical.DecodeChanges(enc)
		if err != nil || len(chs) != 1 {
			return errCorruptRecord
		}
		if !fn(fseq, id, &chs[0]) {
			return nil
		}
		rest = after
	}
	if len(rest) != 0 {
		return errCorruptRecord
	}
	return nil
}
