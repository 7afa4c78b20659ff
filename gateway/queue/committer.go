package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
	"switchboard/gateway/queue/internal/journal"
)

// Group commit: every write goes through one committer goroutine, which takes whatever
// requests are waiting and writes them in one Badger transaction (split only when Badger
// says it is too big, or at maxTxnValues). With DurabilityAlways the transaction's writes are
// first written to the journal as one record and fdatasync'd, then committed to Badger, which
// syncs nothing itself (redo.go, powercut.go): one sync serves every request of the group.
// The committer then releases the callers. Requests that arrive meanwhile wait in the channel
// and make the next group.
//
// Every group is durable when its callers return, Finish, Retry and Record as well as
// Enqueue and Replay: a group whose value pointers reached Badger's memtable without its
// record in the journal could reach the disk through a memtable flush or the kernel's
// writeback of the WAL before the values, and a power cut would leave the message unreadable
// (powercut.go).
const (
	// maxGroupItems bounds the messages and changes one group gathers; more wait for the
	// next group. It is also the request channel's capacity.
	maxGroupItems = 4096
	// maxGroupBytes bounds the encoded bytes one group gathers, keeping a group within a
	// couple of Badger transactions.
	maxGroupBytes = 4 << 20
	// maxPooledBytes is the largest request buffer kept for reuse.
	maxPooledBytes = 256 << 10
	// maxTxnValues bounds the bytes of the values of one Badger transaction, which Badger's
	// own bound leaves out when they go to the value log. Badger writes a transaction's
	// values into one value-log file and moves on to the next only after it, so the bound
	// keeps each file near valueLogFileSize, the step in which value-log GC reclaims space.
	maxTxnValues = 16 << 20
)

type opKind uint8

const (
	opEnqueue opKind = iota
	opFinish
	opRetry
	opRecord
	opReplay
	opResend
	opUnwatch
	opReply // replies.go
)

// request is one call handed to the committer. The caller fills it, submits it and waits on
// done; the committer sets err (and dup) and sends on done.
type request struct {
	op opKind

	// Enqueue.
	items []Item
	vals  [][]byte // m/ value of each item: due, record head, first change
	dues  []int64
	dup   []bool

	// Finish, Retry, Resend.
	seq   uint64
	lease *lease
	msg   *canonical.Message
	head  []byte // record head of msg (slim for a finished record)
	due   int64  // Retry, Replay, Resend: when due again
	// FinishWatch: the deadline of the watch (0: none) and msg's full record head.
	watch int64
	full  []byte

	// AddReplies (vals holds each encoded).
	replies []*canonical.Reply

	// Finish, Retry, Record, Replay.
	ch canonical.Change
	id string

	buf    []byte    // backing store of vals and head, reused through the pool
	size   int       // bytes, for the group bound
	queued time.Time // when it was handed to the committer, for enqueueQueued
	err    error
	done   chan struct{}
}

func (r *request) count() int {
	if r.op == opEnqueue {
		return len(r.items)
	}
	return 1
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest(op opKind) *request {
	r := requestPool.Get().(*request)
	r.op = op
	return r
}

func putRequest(r *request) {
	buf, vals, dues, done := r.buf, r.vals, r.dues, r.done
	if cap(buf) > maxPooledBytes {
		buf, vals, dues = nil, nil, nil
	}
	clear(vals)
	*r = request{buf: buf[:0], vals: vals[:0], dues: dues[:0], done: done}
	requestPool.Put(r)
}

// submit hands r to the committer and waits for its commit. ctx only bounds the wait for a
// place in the committer's channel: once submitted, the request is written.
func (q *Badger) submit(ctx context.Context, r *request) error {
	q.closeMu.RLock()
	if q.closed.Load() {
		q.closeMu.RUnlock()
		return ErrClosing
	}
	if r.op == opEnqueue { // only an Enqueue's wait is measured (enqueueQueued)
		r.queued = time.Now()
	}
	select {
	case q.reqs <- r:
	case <-ctx.Done():
		q.closeMu.RUnlock()
		return &canonical.Error{Code: canonical.ErrUnavailable, Reason: "request cancelled before it was queued", RetryAfter: time.Second}
	}
	q.closeMu.RUnlock()
	<-r.done
	return r.err
}

// commitLoop is the committer goroutine. It returns when Close has closed reqs and every
// request submitted before has been committed.
func (q *Badger) commitLoop() {
	defer close(q.stopped)
	for r := range q.reqs {
		group := []*request{r}
		n, size := r.count(), r.size
	gather:
		for n < maxGroupItems && size < maxGroupBytes {
			select {
			case r, ok := <-q.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
				n, size = n+r.count(), size+r.size
			default:
				break gather
			}
		}
		if q.gathered != nil {
			q.gathered.Add(int64(len(group)))
		}
		q.commitGroup(group, n)
	}
}

func (q *Badger) commitGroup(group []*request, n int) {
	q.writeMu.Lock()
	start := time.Now()
	now := q.now().UTC()
	w := q.newWriter(q.opts.Retention)
	w.beforeNext = func() { q.flushFeed(&w) }
	q.arena = q.arena[:0]
	feedSeq := q.feedSeq
	for _, r := range group {
		switch r.op {
		case opEnqueue:
			q.applyEnqueue(&w, r, now.UnixNano())
		case opFinish:
			q.applyFinish(&w, r, now)
		case opRetry:
			q.applyRetry(&w, r, now.UnixNano())
		case opRecord:
			q.applyRecord(&w, r, now.UnixNano())
		case opReplay:
			q.applyReplay(&w, r, now)
		case opResend:
			q.applyResend(&w, r, now)
		case opUnwatch:
			q.applyUnwatch(&w, r)
		case opReply:
			q.applyReplies(&w, r, now.UnixNano())
		}
	}
	q.flushFeed(&w)
	seq := q.seq.Load()
	if seq > q.seqSaved {
		w.set([]byte(metaSeq), binary.BigEndian.AppendUint64(nil, seq), false)
	}
	if q.feedSeq > q.feedSaved {
		w.set([]byte(metaFeed), binary.BigEndian.AppendUint64(nil, q.feedSeq), false)
	}
	err := w.commit()
	if q.committed != nil {
		q.committed()
	}
	q.writeMu.Unlock()
	q.disk.wrote(w.written)
	entriesTotal.Add(w.entries)
	if err != nil {
		err = q.storageError("commit", err)
		q.feedSeq = feedSeq
	} else {
		q.seqSaved = max(q.seqSaved, seq)
		if q.feedSeq > q.feedSaved {
			q.feedSaved = q.feedSeq
			q.feedCommitted.Store(q.feedSeq)
			select {
			case q.feedNotify <- struct{}{}:
			default:
			}
		}
	}
	if cap(q.arena) > 2*maxGroupBytes {
		q.arena = nil
	}
	if cap(q.redo) > 2*maxGroupBytes {
		q.redo = nil
	}
	commitBatchSize.Update(float64(n))
	commitSeconds.UpdateDuration(start)

	nowNs, end := q.now().UnixNano(), time.Now()
	for _, r := range group {
		if err == nil && r.op == opEnqueue {
			enqueueQueued.Update(start.Sub(r.queued).Seconds())
			enqueueCommit.Update(end.Sub(start).Seconds())
		}
		q.release(r, err, nowNs)
	}
}

// release finishes a request: on success memory follows what was written, then the caller
// is woken.
func (q *Badger) release(r *request, err error, now int64) {
	if r.err == nil {
		r.err = err
	}
	if r.err == nil {
		q.applied(r, now)
	}
	r.done <- struct{}{}
}

// applied updates memory once r's writes are durable.
func (q *Badger) applied(r *request, now int64) {
	switch r.op {
	case opEnqueue:
		var stored int64
		q.sched.mu.Lock()
		for i, it := range r.items {
			if !r.dup[i] {
				q.sched.pushFresh(it.Msg.Seq, r.dues[i], now, r.vals[i])
				stored++
			}
		}
		q.depth.Add(stored)
		q.sched.mu.Unlock()
		if stored > 0 {
			q.sched.wake()
		}
	case opFinish:
		q.sched.end(r.seq, -1, now)
		q.depth.Add(-1)
		if r.msg.Status == canonical.StatusDead {
			q.dead.Add(1)
		}
		if r.watch > 0 {
			q.watches.push(entry{due: r.watch, seq: r.seq})
		}
	case opRetry:
		q.sched.end(r.seq, r.due, now)
	case opReplay, opResend:
		q.sched.mu.Lock()
		q.sched.push(r.seq, r.due, now)
		q.depth.Add(1)
		q.sched.mu.Unlock()
		q.sched.wake()
		if r.op == opReplay {
			q.dead.Add(-1)
		}
	}
}

func (q *Badger) applyEnqueue(w *writer, r *request, now int64) {
	// Check every idempotency key first: a conflict fails the whole call with nothing stored.
	var first map[string]int // key -> index of its first new item in this call
	for i, it := range r.items {
		if it.IdemKey == "" {
			continue
		}
		if j, ok := first[it.IdemKey]; ok {
			if r.items[j].IdemHash != it.IdemHash {
				r.err = errIdemConflict
				return
			}
			o := r.items[j].Msg
			setOriginal(it.Msg, o.ID, o.Seq, o.CreatedAt, o.Status)
			r.dup[i] = true
			continue
		}
		q.scratch = appendKey(q.scratch[:0], pIdem, it.IdemKey)
		found, err := w.get(q.scratch, func(v []byte) error {
			return checkIdem(v, it)
		})
		if err != nil {
			if errors.Is(err, errIdemConflict) {
				r.err = errIdemConflict
			} else {
				w.fail(err)
			}
			return
		}
		if found {
			r.dup[i] = true
			continue
		}
		if first == nil {
			first = make(map[string]int)
		}
		first[it.IdemKey] = i
	}
	for i, it := range r.items {
		if r.dup[i] {
			continue
		}
		m := it.Msg
		k := q.key(appendSeqKey(q.arena, pLive, m.Seq))
		w.setLive(k, r.vals[i], r.dues[i], now)
		k = q.key(appendKey(q.arena, pStatus, m.ID))
		v := q.key(binary.AppendUvarint(append(q.arena, stLive), m.Seq))
		w.set(k, v, false)
		if it.IdemKey != "" {
			k = q.key(appendKey(q.arena, pIdem, it.IdemKey))
			v = q.key(appendIdem(q.arena, it))
			w.set(k, v, true)
		}
		if m.ClientRef != "" {
			k = q.key(append(appendLP(appendLP(append(q.arena, pRef, '/'), m.Tenant), m.ClientRef), m.ID...))
			w.set(k, nil, true)
		}
	}
}

// applyFinish writes the final record (or the dead letter) and removes the live message.
// A finished record is slim (see slim); a dead letter keeps the whole message for replay,
// and a watched one keeps it in w/ until its receipt or deadline.
func (q *Badger) applyFinish(w *writer, r *request, now time.Time) {
	m, l := r.msg, r.lease
	hist, head := l.hist, r.head
	if extra := q.sched.takeReceipts(r.seq); len(extra) > 0 {
		// Receipts that came while the message was live: one further along than the final
		// status wins (a "delivered" that overtook our own "sent").
		hist = mergeChanges(bytes.Clone(hist), extra)
		if chs, err := canonical.DecodeChanges(extra); err == nil && m.Status != canonical.StatusDead {
			for _, c := range chs {
				if m.Status.Advances(c.Status) {
					m.Status = c.Status
				}
			}
			head = appendHead(nil, slim(m))
		}
	}
	watched := r.watch > 0 && m.Status == canonical.StatusSent
	if !watched {
		r.watch = 0
	}
	// The final record is written before the live message is deleted: if a crash cuts a
	// group that Badger split, the message is sent again rather than lost.
	if m.Status == canonical.StatusDead {
		v := q.key(canonical.AppendChange(append(append(q.arena, head...), hist...), r.ch))
		k := q.key(appendSeqKey(q.arena, pDead, r.seq))
		w.set(k, v, false)
		v = q.key(binary.AppendUvarint(append(q.arena, stDead), r.seq))
		k = q.key(appendKey(q.arena, pStatus, m.ID))
		w.set(k, v, false)
	} else {
		kind := byte(stFinished)
		if watched {
			kind = stWatched
			v := q.key(append(binary.BigEndian.AppendUint64(q.arena, uint64(r.watch)), r.full...))
			k := q.key(appendSeqKey(q.arena, pWatch, r.seq))
			w.set(k, v, false)
		}
		v := q.key(canonical.AppendChange(append(append(append(q.arena, kind), head...), hist...), r.ch))
		k := q.key(appendKey(q.arena, pStatus, m.ID))
		w.set(k, v, true)
		if m.UpstreamID != "" && m.Upstream != "" {
			k := q.key(append(appendLP(append(q.arena, pUpstream, '/'), m.Upstream), m.UpstreamID...))
			v := q.key(append(q.arena, m.ID...))
			w.set(k, v, true)
		}
	}
	w.del(q.key(appendSeqKey(q.arena, pLive, r.seq)))
	if SentTemplate(m) {
		// Indexed by recipient (any template) and by recipient and template name.
		v := q.key(append(binary.BigEndian.AppendUint64(q.arena, uint64(now.UnixNano())), m.ID...))
		for _, name := range TemplateNames(m) {
			w.set(q.key(appendTemplateKey(q.arena, m.Tenant, m.To, name)), v, true)
		}
	}
	q.feed(w, m.Tenant, m.ID, r.ch)
}

// applyRetry rewrites the live message with its attempt recorded and its new due time.
func (q *Badger) applyRetry(w *writer, r *request, now int64) {
	hist := r.lease.hist
	if extra := q.sched.takeReceipts(r.seq); len(extra) > 0 {
		hist = mergeChanges(bytes.Clone(hist), extra)
	}
	v := q.key(canonical.AppendChange(append(append(binary.BigEndian.AppendUint64(q.arena, uint64(r.due)), r.head...), hist...), r.ch))
	k := q.key(appendSeqKey(q.arena, pLive, r.seq))
	w.setLive(k, v, r.due, now)
	q.feed(w, r.msg.Tenant, r.msg.ID, r.ch)
}

// feed adds a change of message id to the tenant's change feed. The changes of one tenant
// that follow each other in a group share one Badger entry (see feedrun.go); a run ends when
// an fseq was handed out past it, so that its fseqs stay contiguous.
func (q *Badger) feed(w *writer, tenant, id string, ch canonical.Change) {
	if q.run.n > 0 && (q.run.tenant != tenant || q.run.n == maxFeedRun || q.run.last != q.feedSeq) {
		q.flushFeed(w)
	}
	q.feedSeq++
	q.run.add(tenant, q.feedSeq, id, ch)
}

// update runs fn on a writer of its own, for the few writes that do not go through the
// committer; it holds writeMu like every write to Badger and the journal.
func (q *Badger) update(fn func(w *writer)) error {
	q.writeMu.Lock()
	defer q.writeMu.Unlock()
	w := q.newWriter(0)
	fn(&w)
	return w.commit()
}

// key returns what was appended to the arena since its end as a slice of its own, and moves
// the arena's end past it. Arena bytes are never overwritten while the group's transaction
// holds them: a reallocation leaves earlier slices on the old array.
func (q *Badger) key(b []byte) []byte {
	start := len(q.arena)
	q.arena = b
	return b[start:len(b):len(b)]
}

// writer is the group's transaction. It starts a new one when Badger says the current one
// is too big or its values reach maxTxnValues, and remembers the first failure. With the
// journal (DurabilityAlways) it records every set and delete, and writes and syncs the record
// of a transaction before Badger commits it (redo.go).
type writer struct {
	db     *badger.DB
	txn    *badger.Txn
	ttl    time.Duration
	values int // bytes of values in txn
	// j, when not nil, is the journal, and redo the record of txn being built in it: the
	// journal's header, then txn's operations.
	j    *journal.Journal
	redo *[]byte
	// journaled, set by tests only, runs after a record is synced, before Badger commits.
	journaled func()
	// written estimates the bytes the group adds to Badger's logs, for the disk guard.
	written int64
	// entries counts the Badger entries written (sets and deletes), for entriesTotal.
	entries int
	// beforeNext runs before a transaction is committed to start another: it writes the
	// change-feed run gathered so far into the transaction that holds its changes.
	beforeNext func()
	err        error
}

// newWriter begins a writer on a new transaction; the caller holds writeMu.
func (q *Badger) newWriter(ttl time.Duration) writer {
	w := writer{txn: q.db.NewTransaction(true), db: q.db, ttl: ttl}
	if q.journal != nil {
		q.redo = append(q.redo[:0], make([]byte, journal.HeaderSize)...)
		w.j, w.redo, w.journaled = q.journal, &q.redo, q.journaled
	}
	return w
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// do adds e (or the deletion of its key) to the transaction, committing it and adding e to
// a new one when Badger says the transaction is too big or its values would pass
// maxTxnValues.
func (w *writer) do(e *badger.Entry, del bool) {
	if w.err != nil {
		return
	}
	n := len(e.Value)
	op := func() error {
		if del {
			return w.txn.Delete(e.Key)
		}
		return w.txn.SetEntry(e)
	}
	var err error
	if w.values > 0 && w.values+n > maxTxnValues {
		err = w.next()
	}
	if err == nil {
		if err = op(); errors.Is(err, badger.ErrTxnTooBig) {
			if err = w.next(); err == nil {
				err = op()
			}
		}
	}
	if err == nil && w.redo != nil {
		*w.redo = appendRedo(*w.redo, e, del)
	}
	w.values += n
	w.written += int64(n) + entryOverhead
	w.entries++
	w.fail(err)
}

// next commits the transaction and starts another.
func (w *writer) next() error {
	if w.beforeNext != nil {
		w.beforeNext()
	}
	if err := w.commitTxn(); err != nil {
		return err
	}
	w.txn, w.values = w.db.NewTransaction(true), 0
	return nil
}

// commitTxn commits the transaction: with the journal, once its record is durable.
func (w *writer) commitTxn() error {
	if w.redo != nil && len(*w.redo) > journal.HeaderSize {
		err := w.j.Write(*w.redo)
		if err == nil {
			err = w.j.Sync()
		}
		w.written += int64(len(*w.redo))
		*w.redo = (*w.redo)[:journal.HeaderSize]
		if err != nil {
			w.txn.Discard()
			return err
		}
		if w.journaled != nil {
			w.journaled()
		}
	}
	return w.txn.Commit()
}

func (w *writer) set(k, v []byte, ttl bool) {
	e := badger.NewEntry(k, v)
	if ttl {
		e = e.WithTTL(w.ttl)
	}
	w.do(e, false)
}

// setLive writes a live message, marked metaLater when it is not due yet: the startup scan
// reads the due time of those only.
func (w *writer) setLive(k, v []byte, due, now int64) {
	e := badger.NewEntry(k, v)
	if due > now {
		e.UserMeta = metaLater
	}
	w.do(e, false)
}

func (w *writer) del(k []byte) {
	w.do(&badger.Entry{Key: k}, true)
}

// get reads key, including what this transaction has written, and passes its value to fn.
func (w *writer) get(key []byte, fn func(v []byte) error) (bool, error) {
	if w.err != nil {
		return false, w.err
	}
	item, err := w.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(fn)
}

func (w *writer) commit() error {
	if w.err != nil {
		w.txn.Discard()
		return w.err
	}
	return w.commitTxn()
}
