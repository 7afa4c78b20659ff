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

	"switchboard/gateway/queue/internal/badgerfs"
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
	// gcFileNumbers is how many value-log file numbers after the highest on disk are kept
	// from new files after a cut GC (badgerfs.ReserveValueLogNumbers): more than a GC and the
	// commits beside it create before the logs' sync that ends it (GC moves at most one
	// file's live values).
	gcFileNumbers = 16
)

// A record's operations: an operation byte, the entry's user-meta, its expiry (uvarint, Unix
// seconds, 0 none), the key and the value (each uvarint length-prefixed; a delete has none).
// Or redoGC and gcBegin or gcEnd: a record of its own that marks value-log GC (collectGarbage).
const (
	redoSet = 1
	redoDel = 2
	redoGC  = 3

	gcBegin = 1
	gcEnd   = 2
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

// openJournal opens the journal in the queue's directory, if there is one or durability is
// "always", and reads it once before Badger opens: gcCut says whether it ends inside a
// value-log GC (a start without an end), which needs repairMoved.
func openJournal(opts Options, disk *diskGuard) (j *journal.Journal, gcCut bool, err error) {
	dir := filepath.Join(opts.Dir, journalDir)
	if opts.Durability != DurabilityAlways {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			return nil, false, nil
		}
	}
	if j, err = journal.Open(dir, cmp.Or(opts.journalSegmentSize, segmentSize), disk.room, opts.Logger); err != nil {
		return nil, false, err
	}
	var r replayer // no db: markers only
	if _, err := j.Replay(r.apply); err != nil {
		j.Close()
		return nil, false, fmt.Errorf("cannot read journal: %w", err)
	}
	// A cut GC whose start was written since the machine last booted needs no repair: the
	// process stopped, the kernel did not, and what GC wrote is in the page cache.
	if r.gc && len(r.gcBoot) > 0 && bytes.Equal(r.gcBoot, bootID()) {
		return j, false, nil
	}
	return j, r.gc, nil
}

// replayJournal writes what the journal j holds into Badger (repairing what a GC cut short
// left, gcCut), then syncs Badger and releases the segments replayed. With
// DurabilityInterval the journal is then removed (a run with DurabilityAlways may have left
// one); otherwise it is returned, ready for writing.
func (q *Badger) replayJournal(j *journal.Journal, gcCut bool) (*journal.Journal, error) {
	if j == nil {
		return nil, nil
	}
	r := replayer{db: q.db, txn: q.db.NewTransaction(true)}
	n, err := j.Replay(r.apply)
	if err == nil {
		err = r.txn.Commit()
	} else {
		r.txn.Discard()
	}
	if err == nil && gcCut {
		err = q.repairMoved()
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
	if q.opts.Durability != DurabilityAlways {
		j.Close()
		return nil, os.RemoveAll(filepath.Join(q.opts.Dir, journalDir))
	}
	return j, nil
}

// replayer writes journal records into Badger, many records a transaction: replaying them in
// order is all that matters, and a later write of a key in the same transaction replaces the
// earlier one.
type replayer struct {
	db  *badger.DB
	txn *badger.Txn
	gc  bool // the last GC marker was a start: the process stopped during a GC
	// gcBoot is the start's boot id (bootID), empty where there is none.
	gcBoot []byte
}

func (r *replayer) apply(rec []byte) error {
	if len(rec) > 0 && rec[0] == redoGC { // a marker is a record of its own
		if len(rec) < 2 {
			return errCorruptRedo
		}
		r.gc, r.gcBoot = rec[1] == gcBegin, bytes.Clone(rec[2:])
		return nil
	}
	if r.db == nil {
		return nil // reading the markers only
	}
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
		e := badger.NewEntry(bytes.Clone(key), bytes.Clone(val)).WithMeta(meta)
		e.ExpiresAt = exp
		if err := r.put(e, op == redoDel); err != nil {
			return err
		}
	}
	return nil
}

// put adds e (or the deletion of its key) to the transaction, committing it and starting
// another when Badger says it is too big.
func (r *replayer) put(e *badger.Entry, del bool) error {
	op := func() error {
		if del {
			return r.txn.Delete(e.Key)
		}
		return r.txn.SetEntry(e)
	}
	err := op()
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err = r.txn.Commit(); err != nil {
			return err
		}
		r.txn = r.db.NewTransaction(true)
		err = op()
	}
	return err
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

// markGC writes and syncs a GC marker (gcBegin or gcEnd) as a record of its own.
func (q *Badger) markGC(mark byte) error {
	q.writeMu.Lock()
	defer q.writeMu.Unlock()
	rec := append(make([]byte, journal.HeaderSize), redoGC, mark)
	if mark == gcBegin {
		rec = append(rec, bootID()...)
	}
	if err := q.journal.Write(rec); err != nil {
		return err
	}
	return q.journal.Sync()
}

// repairMoved runs at Open when the journal says the process stopped during a value-log GC,
// after the journal's replay. A power cut then may have left keys whose newest version is a
// pointer GC wrote to a value that never reached the disk: reading it fails its checksum
// (VerifyValueChecksum) or finds no such offset, and Badger then logs the failure and yields
// an empty value, where the pointer says there is one. GC gives a moved value the version it had,
// and the file it was moved from is still on disk (its removal waits for the sync that ends
// the GC, collectGarbage), so each such key is written again with the value found there
// under the same key and version (badgerfs.ScanValueLogs). Keys written since the GC are in
// the journal and were replayed: their newest version reads.
func (q *Badger) repairMoved() error {
	broken := map[string]uint64{} // key -> version
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			// Badger logs a value it cannot read and yields none: a value stored in the value
			// log (which a pointer's size says) that reads empty could not be read.
			item := it.Item()
			var n int
			err := item.Value(func(v []byte) error { n = len(v); return nil })
			if err != nil || (n == 0 && item.ValueSize() > 0) {
				broken[string(item.KeyCopy(nil))] = item.Version()
			}
		}
		return nil
	})
	if err != nil || len(broken) == 0 {
		return err
	}
	found := 0
	w := replayer{db: q.db, txn: q.db.NewTransaction(true)}
	defer func() { w.txn.Discard() }()
	err = badgerfs.ScanValueLogs(q.opts.Dir, func(e badgerfs.ValueLogEntry) error {
		v, ok := broken[string(e.Key)]
		if !ok || v != e.Version {
			return nil
		}
		delete(broken, string(e.Key))
		ne := badger.NewEntry(bytes.Clone(e.Key), bytes.Clone(e.Value)).WithMeta(e.UserMeta)
		ne.ExpiresAt = e.ExpiresAt
		found++
		return w.put(ne, false)
	})
	if err == nil {
		err = w.txn.Commit()
	}
	if err != nil {
		return fmt.Errorf("cannot repair values moved by an interrupted value-log GC: %w", err)
	}
	q.repaired = found
	q.log.Warn("queue repaired values an interrupted value-log GC had moved", "repaired", found)
	if len(broken) > 0 {
		// Not expected (the old file is kept until the moves are synced); said, not hidden:
		// reading these keys fails.
		q.log.Error("queue keys unreadable after an interrupted value-log GC, and not found in the value log", "keys", len(broken))
	}
	return nil
}

// bootID identifies the machine's current boot (Linux; empty elsewhere, or unreadable). It is a
// variable for tests.
var bootID = func() []byte {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return nil
	}
	return bytes.TrimSpace(b)
}
