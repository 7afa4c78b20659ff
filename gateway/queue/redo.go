package queue

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"switchboard/gateway/queue/internal/journal"
)

// The redo journal (internal/journal): with DurabilityAlways every Badger transaction the
// queue commits is first written to the journal as one record, its sets and deletes in order,
// and synced; then Badger commits it without syncing. Badger's files are synced at a
// checkpoint, after the journal moves to a new segment, and the segments before are released.
// At Open whatever the journal holds is replayed into Badger before anything reads it. See
// powercut.go for why this keeps every acknowledged write through a power cut.
const (
	journalDir = "journal"
	// segmentSize is a journal segment's size: a restart replays at most about two of them
	// (the current one and one whose checkpoint had not finished), a checkpoint follows every
	// segmentSize written, and the journal takes up to three of them on disk (those two and
	// a spare).
	segmentSize = 8 << 20
)

// A record's operations: an operation byte, the entry's user-meta, its expiry (uvarint, Unix
// seconds, 0 none), the key and the value (each uvarint length-prefixed; a delete has none).
const (
	redoSet = 1
	redoDel = 2
)

func appendRedo(b []byte, e *badger.Entry, del bool) []byte {
	if del {
		b = append(b, redoDel)
		b = binary.AppendUvarint(b, uint64(len(e.Key)))
		return append(b, e.Key...)
	}
	b = append(b, redoSet, e.UserMeta)
	b = binary.AppendUvarint(b, e.ExpiresAt)
	b = binary.AppendUvarint(b, uint64(len(e.Key)))
	b = append(b, e.Key...)
	b = binary.AppendUvarint(b, uint64(len(e.Value)))
	return append(b, e.Value...)
}

var errCorruptRedo = errors.New("corrupt journal record")

// replayJournal opens the journal in the queue's directory and writes what it holds into
// Badger, then syncs Badger and releases the segments replayed. With DurabilityInterval the
// journal is then removed (a run with DurabilityAlways may have left one); otherwise it is
// returned, ready for writing.
func (q *Badger) replayJournal() (*journal.Journal, error) {
	dir := filepath.Join(q.opts.Dir, journalDir)
	always := q.opts.Durability == DurabilityAlways
	if !always {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			return nil, nil
		}
	}
	j, err := journal.Open(dir, cmp.Or(q.opts.journalSegmentSize, segmentSize), q.disk.room, q.log)
	if err != nil {
		return nil, err
	}
	r := replayer{db: q.db, txn: q.db.NewTransaction(true)}
	n, err := j.Replay(r.apply)
	if err == nil {
		err = r.txn.Commit()
	} else {
		r.txn.Discard()
	}
	if err == nil {
		// Badger's files now hold everything the journal did; once synced the segments go.
		if err = q.syncLogs(); err == nil {
			err = j.Release(^uint64(0))
		}
	}
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("cannot replay journal: %w", err)
	}
	if n > 0 {
		q.log.Info("queue journal replayed", "records", n)
	}
	if !always {
		j.Close()
		return nil, os.RemoveAll(dir)
	}
	return j, nil
}

// replayer writes journal records into Badger, many records a transaction: replaying them in
// order is all that matters, and a later write of a key in the same transaction replaces the
// earlier one.
type replayer struct {
	db  *badger.DB
	txn *badger.Txn
}

func (r *replayer) apply(rec []byte) error {
	for len(rec) > 0 {
		op := rec[0]
		rec = rec[1:]
		var meta byte
		var exp uint64
		if op == redoSet {
			if len(rec) == 0 {
				return errCorruptRedo
			}
			meta, rec = rec[0], rec[1:]
			var n int
			if exp, n = binary.Uvarint(rec); n <= 0 {
				return errCorruptRedo
			}
			rec = rec[n:]
		} else if op != redoDel {
			return errCorruptRedo
		}
		key, rest, ok := cutLP(rec)
		if !ok {
			return errCorruptRedo
		}
		rec = rest
		var val []byte
		if op == redoSet {
			if val, rec, ok = cutLP(rec); !ok {
				return errCorruptRedo
			}
		}
		// The transaction keeps the entry until it commits; the record's buffer is reused.
		key, val = bytes.Clone(key), bytes.Clone(val)
		set := func(txn *badger.Txn) error {
			if op == redoDel {
				return txn.Delete(key)
			}
			e := badger.NewEntry(key, val).WithMeta(meta)
			e.ExpiresAt = exp
			return txn.SetEntry(e)
		}
		err := set(r.txn)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = r.txn.Commit(); err != nil {
				return err
			}
			r.txn = r.db.NewTransaction(true)
			err = set(r.txn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func cutLP(b []byte) (s, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

// checkpoint syncs Badger's logs and releases the journal's segments before the current one,
// whose every record Badger has applied (the writers apply a record before writing the next).
// It holds gcMu: a value-log GC's writes are not in the journal and must not land between the
// value log's sync and the WAL's (see collectGarbage).
func (q *Badger) checkpoint() error {
	q.gcMu.Lock()
	seg := q.journal.Segment()
	err := q.syncLogs()
	q.gcMu.Unlock()
	if err != nil {
		return err
	}
	checkpoints.Inc()
	return q.journal.Release(seg)
}
