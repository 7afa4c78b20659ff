package queue

// The Badger backend. Badger is the write-ahead log and the source of truth; memory holds only
// the schedule (due time and Seq of each live message, 16 bytes each), the leases and, up to
// freshMax bytes, the stored values of messages just enqueued (see schedule.fresh).
//
// Key layout. seq8 is a uint64 big-endian, so keys of one prefix sort by Seq; lp(s) is s
// prefixed with its length (uvarint), so that a tenant or ref never matches a longer one.
//
//	m/<seq8>                  live message: due time (8 bytes) + record. Deleted at Finish.
//	                          User-meta metaLater when it was not yet due when written.
//	s/<id>                    where a message stands: 'L'+seq (live), 'D'+seq (dead letter),
//	                          'F'+record (finished, TTL retention) or 'W'+record (finished as
//	                          sent and watched for its receipt, see watch.go). Written at enqueue.
//	                          A finished record is slim: no text, media, buttons ... (see slim).
//	d/<seq8>                  dead letter: record. Kept until replayed.
//	i/<idemkey>               idempotency: content hash, seq, created at, status, id. TTL retention.
//	r/<lp tenant><lp ref><id> client-ref index, empty value. TTL retention.
//	t/<lp tenant><to>         when a template message was last sent to that recipient, and its id.
//	                          TTL retention.
//	u/<lp upstream><uid>      upstream-id index: our id of the message the upstream calls uid.
//	                          Written at Finish. TTL retention.
//	w/<seq8>                  receipt watch: deadline (8 bytes) + the message's full record head,
//	                          until its delivery receipt or deadline (watch.go).
//	f/<lp tenant><fseq8>      change feed: 0x01, the id of a message whose status changed (length-
//	                          prefixed) and the change. TTL retention. (Older entries: the bare id.)
//	                          Or a run: the tenant's changes fseq8-n+1 .. fseq8 of one group in
//	                          one entry (feedrun.go).
//	                          Or feedReply and a recipient's reply (replies_badger.go).
//	y/<lp tenant><fseq8>      a recipient's reply, by its feed Seq. TTL retention.
//	c/<tenant>                the tenant's feed cursor for Changes: the last fseq returned.
//	k/<key>                   the feed consumers' own state (Feed.PutState): cursors, dead letters.
//	z/seq, z/feed             high-water marks of Seq and fseq, written with every group.
//
// Message bodies and finished records live in Badger's value log; the LSM tree holds keys,
// value pointers and small values. At startup only the m/ keys are read, and the values of
// those marked metaLater (for their due time): everything else is due; and the w/ values
// (watches, few: those sent within one receipt timeout).
//
// A record is the message in its codec, prefixed with its length (4 bytes), followed by its
// status changes (see records.go). The "sending" change of a lease is kept in memory and
// written only with the Retry or Finish that ends the lease: after a crash every live message
// is due again anyway, so a lease costs no write.

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"switchboard/gateway/queue/internal/badgerfs"
	"switchboard/gateway/queue/internal/journal"
)

// Durability says when a commit is synced to disk.
type Durability string

const (
	// DurabilityAlways returns from Enqueue (and Replay, Finish, Retry ...) once the writes
	// are fsync'd, one sync serving every caller of a group commit (the default). See
	// committer.go and powercut.go.
	DurabilityAlways Durability = "always"
	// DurabilityInterval syncs every SyncInterval: faster, may lose the last interval's
	// acknowledged messages on power loss (not on a crash of the process).
	DurabilityInterval Durability = "interval"
)

// Badger sizing: its defaults take several hundred MB (five 64 MB memtables, a 256 MB block
// cache, and compaction table builders that each allocate twice a table's size up front,
// tables growing with each level). Measured with a million queued messages, see long_test.go.
const (
	// numMemtables is the mutable memtable plus one being flushed: writes stall only while
	// both are full.
	numMemtables = 2
	// tableSize is the size of every table below L0 (no growth per level): up to 13 builders
	// run in one compaction, each holding 2*tableSize.
	tableSize = 1 << 20
	// valueThreshold sends message bodies and finished records to the value log and keeps
	// the small values (status pointers, idempotency keys, feed entries) in the LSM tree.
	// The tree stays small, so the startup scan and compactions touch little.
	valueThreshold = 128
	// valueLogFileSize is small so that value-log GC can reclaim space in small steps.
	valueLogFileSize = 64 << 20
	// gcDiscardRatio is the share of a value-log file that must be garbage to rewrite it.
	gcDiscardRatio = 0.5
)

// Options configures Open.
type Options struct {
	// Dir is the Badger directory; it is created if missing.
	Dir string
	// The settings below take config's defaults when zero (see Defaults).

	// Durability is DurabilityAlways or DurabilityInterval.
	Durability Durability
	// SyncInterval is how often DurabilityInterval syncs.
	SyncInterval time.Duration
	// MaxDepth is the most live messages; Enqueue beyond it fails with ErrUnavailable.
	MaxDepth int64
	// Retention is how long finished records, idempotency keys, client refs and the change
	// feed are kept.
	Retention time.Duration
	// GCInterval is how often the value log is garbage-collected.
	GCInterval time.Duration
	// MemoryMB roughly bounds Badger's memtables and caches.
	MemoryMB int
	// DiskReserveBytes and DiskReservePercent (of the filesystem's size) are the free space
	// below which Enqueue refuses new messages with ErrDiskLow; the larger applies. Zero takes
	// the default, a negative value is none. See diskspace.go.
	DiskReserveBytes   int64
	DiskReservePercent float64
	// Logger receives Badger's warnings and errors and the queue's own (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for due times and status changes (default time.Now); tests set it.
	Now func() time.Time

	valueLogFileSize   int64 // tests shrink it to see files rotate
	journalSegmentSize int64 // tests shrink it to see segments rotate
	// badgerOptions, set by tests only, edits Badger's options (to have GC find garbage).
	badgerOptions func(badger.Options) badger.Options
}

// Badger is the embedded Queue backend. It is safe for concurrent use.
type Badger struct {
	db   *badger.DB
	logs *badgerfs.Syncer
	// journal is the redo journal with DurabilityAlways, nil otherwise (redo.go); redo is
	// the record being built, under writeMu.
	journal *journal.Journal
	redo    []byte
	disk    *diskGuard // free space of Dir; Enqueue refuses below its reserve
	opts    Options
	log     *slog.Logger
	now     func() time.Time

	sched schedule

	// depth is the number of live messages, for admission without the schedule's lock;
	// pending is what callers have reserved and not yet committed.
	depth   atomic.Int64
	pending atomic.Int64
	dead    atomic.Int64
	// seq hands out message Seqs; the committer persists its high-water mark (z/seq).
	seq atomic.Uint64

	// Committer state, owned by the committer goroutine.
	reqs      chan *request
	seqSaved  uint64 // z/seq as last written
	feedSeq   uint64 // last fseq handed out
	feedSaved uint64 // z/feed as last written
	arena     []byte // keys and small values of the group being committed
	scratch   []byte // the key of a lookup (a read does not keep it)

	run feedRun // the change-feed entries gathered for one Badger entry (feedrun.go)
	// gathered, set by tests only, counts the requests the committer has taken into groups.
	gathered *atomic.Int64
	// committed, set by tests only, runs on the committer after each group's commit.
	committed func()
	// journaled, set by tests only, runs after each journal record is synced, before Badger
	// commits its transaction.
	journaled func()
	// gcMoved, set by tests only, runs after value-log GC's rewrite (moved: it rewrote a
	// file), before the logs' sync. repaired counts the keys repairMoved wrote again.
	gcMoved  func(moved bool)
	repaired int

	changesMu sync.Mutex // one Changes call at a time moves the cursors

	// feedCommitted is the last fseq committed, for Feed readers; feedNotify wakes one.
	feedCommitted atomic.Uint64
	feedNotify    chan struct{}
	// watches are the receipt watches by deadline (watch.go).
	watches watchHeap

	writeMu   sync.Mutex   // held while writing to Badger's logs or the journal; see syncAll
	gcMu      sync.Mutex   // held by value-log GC and by a checkpoint (see collectGarbage)
	closeMu   sync.RWMutex // held for reading to submit to reqs or read storage (enter); Close takes it
	closed    atomic.Bool
	closing   chan struct{} // closed by Close: wakes Lease waiters and housekeeping
	stopped   chan struct{} // closed when the committer has drained and returned
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Queue           = (*Badger)(nil)
	_ Lookups         = (*Badger)(nil) // records.go
	_ RecipientLookup = (*Badger)(nil) // recipient.go
)

// Open opens (or creates) the queue in opts.Dir and rebuilds the schedule with one scan of the
// live messages. Messages that were leased when the process stopped are due again.
func Open(opts Options) (*Badger, error) {
	if opts.Dir == "" {
		return nil, errors.New("cannot open queue: no directory")
	}
	opts.Durability = cmp.Or(opts.Durability, Durability(Defaults.Durability))
	switch opts.Durability {
	case DurabilityAlways, DurabilityInterval:
	default:
		return nil, fmt.Errorf("cannot open queue: unknown durability %q (want always or interval)", opts.Durability)
	}
	opts.SyncInterval = OrDefault(opts.SyncInterval, time.Duration(Defaults.SyncInterval))
	opts.MaxDepth = OrDefault(opts.MaxDepth, Defaults.MaxDepth)
	opts.Retention = OrDefault(opts.Retention, time.Duration(Defaults.Retention))
	opts.GCInterval = OrDefault(opts.GCInterval, time.Duration(Defaults.GCInterval))
	opts.MemoryMB = OrDefault(opts.MemoryMB, Defaults.MemoryMB)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	opts.DiskReserveBytes = reserveSetting(opts.DiskReserveBytes, Defaults.DiskReserveBytes)
	opts.DiskReservePercent = reserveSetting(opts.DiskReservePercent, Defaults.DiskReservePercent)

	bo := badgerOptions(opts)
	if opts.badgerOptions != nil {
		bo = opts.badgerOptions(bo)
	}
	if err := os.MkdirAll(opts.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	disk := newDiskGuard(opts.Dir, opts.DiskReserveBytes, opts.DiskReservePercent, opts.Logger)
	if err := disk.checkOpenSpace(bo.MemTableSize); err != nil {
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	if left := leftMemtableSize(opts.Dir); left > bo.MemTableSize {
		// Badger replays a memtable's WAL into a memtable of today's size, and exits the
		// process when it does not fit (a crash with a larger memory_mb before).
		opts.Logger.Warn("queue memtables sized as in the last run, whose write-ahead log must fit",
			"memtable_mb", left>>20, "configured_mb", bo.MemTableSize>>20)
		bo = bo.WithMemTableSize(left)
	}
	j, gcCut, err := openJournal(opts, disk)
	if err != nil {
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	if gcCut {
		// A value-log GC was cut short: no file number it may have used goes to a new file.
		if err := badgerfs.ReserveValueLogNumbers(opts.Dir, gcFileNumbers); err != nil {
			j.Close()
			return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
		}
	}
	db, err := badger.Open(bo)
	if err != nil {
		if j != nil {
			j.Close()
		}
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	q := &Badger{
		db:         db,
		disk:       disk,
		opts:       opts,
		log:        opts.Logger,
		now:        opts.Now,
		reqs:       make(chan *request, maxGroupItems),
		closing:    make(chan struct{}),
		stopped:    make(chan struct{}),
		feedNotify: make(chan struct{}, 1),
	}
	if q.logs, err = badgerfs.NewSyncer(opts.Dir, opts.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	if q.journal, err = q.replayJournal(j, gcCut); err != nil {
		q.logs.Close()
		db.Close()
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	q.sched.init()
	start := time.Now()
	if err := q.rebuild(); err != nil {
		q.closeJournal()
		q.logs.Close()
		db.Close()
		return nil, fmt.Errorf("cannot open queue in %s: %w", opts.Dir, err)
	}
	st := q.Stats()
	q.log.Info("queue opened", "dir", opts.Dir, "depth", st.Depth, "scheduled", st.Scheduled,
		"dead", st.Dead, "took", time.Since(start).Round(time.Millisecond))

	go q.commitLoop()
	q.wg.Add(1)
	go q.housekeeping()
	current.Store(q)
	return q, nil
}

// badgerOptions sizes Badger from opts.MemoryMB: an eighth for each memtable (three may be
// in memory: the mutable one, one being flushed and the L0 table built from it), a quarter
// each for the block and index caches.
func badgerOptions(opts Options) badger.Options {
	mem := int64(opts.MemoryMB) << 20
	o := badger.DefaultOptions(opts.Dir)
	o.TableSizeMultiplier = 1 // no With method for it
	return o.
		WithSyncWrites(false). // the journal, or the timer, syncs: see powercut.go
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false). // one writer: the committer
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{opts.Logger}).
		WithMemTableSize(max(mem/8, 4<<20)).
		WithNumMemtables(numMemtables).
		WithBaseTableSize(tableSize).
		WithBlockCacheSize(max(mem/4, 1<<20)).
		WithIndexCacheSize(max(mem/4, 1<<20)).
		WithNumCompactors(2).
		// Messages live briefly and compress little; compression costs CPU and a buffer per
		// block in every table builder.
		WithCompression(options.None).
		WithValueThreshold(valueThreshold).
		// A value read is checked against the checksum Badger wrote with it (CRC-32C, cheap
		// beside the read): a value a power cut left unwritten fails instead of reading as
		// zeros (see repairMoved).
		WithVerifyValueChecksum(true).
		WithValueLogFileSize(cmp.Or(opts.valueLogFileSize, valueLogFileSize))
}

// leftMemtableSize is the memtable size of the last run if it left memtable WALs behind
// (Badger creates them at twice the memtable size), or 0.
func leftMemtableSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var size int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mem") {
			if fi, err := e.Info(); err == nil {
				size = max(size, fi.Size()/2)
			}
		}
	}
	return size
}

// rebuild scans the live messages and dead letters once and restores the counters.
func (q *Badger) rebuild() error {
	now := q.now().UnixNano()
	var ready []uint64
	var later []entry
	var maxSeq, dead uint64
	err := q.db.View(func(txn *badger.Txn) error {
		for _, k := range [...]struct {
			key string
			dst *uint64
		}{{metaSeq, &maxSeq}, {metaFeed, &q.feedSeq}} {
			item, err := txn.Get([]byte(k.key))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := item.Value(func(v []byte) error {
				if len(v) != 8 {
					return fmt.Errorf("corrupt %s", k.key)
				}
				*k.dst = binary.BigEndian.Uint64(v)
				return nil
			}); err != nil {
				return err
			}
		}

		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pLive, '/'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			seq, ok := seqOfKey(item.Key())
			if !ok {
				return fmt.Errorf("corrupt key %q", item.Key())
			}
			if item.UserMeta()&metaLater == 0 {
				ready = append(ready, seq)
				maxSeq = max(maxSeq, seq)
				continue
			}
			var due int64
			if err := item.Value(func(v []byte) error {
				if len(v) < 8 {
					return fmt.Errorf("corrupt live message %d", seq)
				}
				due = int64(binary.BigEndian.Uint64(v))
				return nil
			}); err != nil {
				return err
			}
			if due <= now {
				ready = append(ready, seq)
			} else {
				later = append(later, entry{due: due, seq: seq})
			}
			maxSeq = max(maxSeq, seq)
		}

		dit := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pDead, '/'}})
		defer dit.Close()
		for dit.Rewind(); dit.Valid(); dit.Next() {
			if seq, ok := seqOfKey(dit.Item().Key()); ok {
				maxSeq = max(maxSeq, seq)
			}
			dead++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := q.rebuildWatches(); err != nil {
		return err
	}
	q.seq.Store(maxSeq)
	q.seqSaved = maxSeq
	q.feedSaved = q.feedSeq
	q.feedCommitted.Store(q.feedSeq)
	q.dead.Store(int64(dead))
	q.depth.Store(int64(len(ready) + len(later)))
	q.sched.restore(ready, later, q.now().UnixNano())
	return nil
}

// enter holds Close off while a method reads storage; it fails once Close has begun.
// Every successful enter is followed by exit.
func (q *Badger) enter() error {
	q.closeMu.RLock()
	if q.closed.Load() {
		q.closeMu.RUnlock()
		return ErrClosing
	}
	return nil
}

func (q *Badger) exit() { q.closeMu.RUnlock() }

// Close stops accepting work, lets the committer drain what was submitted, returns leased
// messages to the schedule and closes Badger. It is safe to call more than once.
func (q *Badger) Close() error {
	q.closeOnce.Do(func() {
		q.closeMu.Lock()
		q.closed.Store(true)
		close(q.reqs)
		q.closeMu.Unlock()
		close(q.closing)
		<-q.stopped
		q.wg.Wait()
		q.sched.returnLeases(q.now().UnixNano())
		current.CompareAndSwap(q, nil)
		if err := q.syncAll(); err != nil {
			q.closeErr = fmt.Errorf("cannot sync queue: %w", err)
		}
		if err := q.closeJournal(); err != nil && q.closeErr == nil {
			q.closeErr = fmt.Errorf("cannot close queue journal: %w", err)
		}
		q.logs.Close()
		if err := q.db.Close(); err != nil && q.closeErr == nil {
			q.closeErr = fmt.Errorf("cannot close queue: %w", err)
		}
	})
	return q.closeErr
}

// housekeeping syncs on a timer with DurabilityInterval and runs value-log GC.
func (q *Badger) housekeeping() {
	defer q.wg.Done()
	gc := time.NewTicker(q.opts.GCInterval)
	defer gc.Stop()
	disk := time.NewTicker(diskSampleInterval)
	defer disk.Stop()
	var syncC <-chan time.Time
	var rotated <-chan struct{}
	if q.journal != nil {
		rotated = q.journal.Rotated()
	}
	if q.opts.Durability == DurabilityInterval {
		t := time.NewTicker(q.opts.SyncInterval)
		defer t.Stop()
		syncC = t.C
	}
	for {
		select {
		case <-q.closing:
			return
		case <-disk.C:
			q.disk.sample()
		case <-syncC:
			if err := q.syncAll(); err != nil {
				q.log.Error("cannot sync queue", "err", err)
			}
		case <-rotated:
			if err := q.checkpoint(); err != nil {
				q.log.Error("cannot checkpoint queue journal", "err", err)
			}
		case <-gc.C:
			// Each call rewrites at most one value-log file; go on while there is garbage.
			for q.collectGarbage() {
				gcRewrites.Inc()
				select {
				case <-q.closing:
					return
				default:
				}
			}
		}
	}
}

// collectGarbage rewrites one value-log file if enough of it is garbage, and reports whether
// it did. GC moves the values it keeps to the current value-log file and their pointers to
// the memtable WAL through Badger's own writes, then removes the old file; it runs outside
// writeMu, since a rewrite can take most of a second and commits would wait for all of it.
//
// With the journal, GC's writes are the only ones not in it, and Badger no longer syncs a
// value before its pointer: until the logs are synced, a moved pointer can reach the disk
// (the kernel's writeback, a memtable flush) before its value. So the old file stays until
// then: an iterator held open across the rewrite has Badger defer its removal until it is
// closed (badgerfs.HoldFiles), after a sync of the logs; a second sync makes the removal
// durable. And a journal record marks the GC's start, another its end: a restart that finds
// a start without its end repairs what a power cut in between left unreadable, from the old
// file (repairMoved). gcMu keeps a checkpoint (which syncs outside writeMu) from running
// meanwhile and releasing the segment that holds the start.
func (q *Badger) collectGarbage() bool {
	q.gcMu.Lock()
	defer q.gcMu.Unlock()
	sync := q.syncLogs
	if q.journal == nil {
		sync = q.syncAll // without the journal, commits must not land between the logs' syncs
	} else if err := q.markGC(gcBegin); err != nil {
		q.log.Error("cannot journal the queue's value-log GC", "err", err)
		return false
	}
	release := badgerfs.HoldFiles(q.db)
	err := q.db.RunValueLogGC(gcDiscardRatio)
	moved := err == nil
	if err != nil && !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
		q.log.Warn("queue value-log GC failed", "err", err)
	}
	if q.gcMoved != nil {
		q.gcMoved(moved)
	}
	// A failed rewrite may have moved part of a file: synced all the same.
	err = sync()
	release()
	if err == nil {
		err = sync()
	}
	if err == nil && q.journal != nil {
		err = q.markGC(gcEnd)
	}
	if err != nil {
		q.log.Error("cannot sync queue", "err", err)
		return false
	}
	return moved
}

// syncAll makes everything written to Badger so far durable: the value log, then the memtable
// WAL, and the directory when Badger created or removed a file (badgerfs).
//
// It holds writeMu, which every write to Badger's logs also holds (the committer's commits,
// the consumers' state; not value-log GC, see collectGarbage), so the two files are synced
// with nothing written between or during: the WAL on disk then never holds a pointer into
// value-log bytes that are not on disk too, which a write landing between the two syncs could
// leave after a power loss. (A checkpoint needs no writeMu: what is written meanwhile is in
// the journal.)
func (q *Badger) syncAll() error {
	q.writeMu.Lock()
	defer q.writeMu.Unlock()
	return q.syncLogs()
}

// syncLogs syncs Badger's logs (see syncAll for what the caller must hold).
func (q *Badger) syncLogs() error {
	start := time.Now()
	rotated, err := q.logs.Sync()
	syncSeconds.UpdateDuration(start)
	rotatedSyncs.Add(rotated)
	return err
}

// closeJournal closes the journal once Close has synced Badger: every segment is released,
// so that the next Open replays nothing.
func (q *Badger) closeJournal() error {
	if q.journal == nil {
		return nil
	}
	err := q.journal.Close()
	if err == nil && q.closeErr == nil {
		err = q.journal.Release(^uint64(0))
	}
	return err
}

// badgerLogger passes Badger's warnings and errors to slog and drops the rest.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// Key prefixes; see the layout at the top of this file.
const (
	pLive     = 'm'
	pStatus   = 's'
	pDead     = 'd'
	pIdem     = 'i'
	pRef      = 'r'
	pTmpl     = 't'
	pFeed     = 'f'
	pCursor   = 'c'
	pUpstream = 'u'
	pWatch    = 'w'
	pState    = 'k'

	// metaLater is the user-meta of a live message that was not due when written.
	metaLater = 1

	metaSeq  = "z/seq"
	metaFeed = "z/feed"
)

func appendSeqKey(dst []byte, prefix byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, prefix, '/'), seq)
}

func seqOfKey(k []byte) (uint64, bool) {
	if len(k) != 10 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

func appendKey(dst []byte, prefix byte, s string) []byte {
	return append(append(dst, prefix, '/'), s...)
}

// appendLP appends s prefixed with its length.
func appendLP(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}
