package queue

import (
	"bytes"
	"sync"
	"time"

	"switchboard/canonical"
)

// The schedule holds every live message as 16 bytes without pointers (a million cost 16 MB
// and nothing to the garbage collector): a ready FIFO of Seqs that are due, a min-heap of
// (due, Seq) for those that are not, and the leases. Messages themselves stay in Badger and
// are read when leased, but for those just enqueued, whose values it keeps a while (fresh).

// ringKeep is the largest ready ring kept when it empties; a bigger one is released so that a
// burst does not pin its memory.
const ringKeep = 1 << 16

// freshMax bounds the bytes of the fresh values kept (see schedule.fresh).
const freshMax = 4 << 20

// entry is a message that is not due yet.
type entry struct {
	due int64 // Unix nanoseconds
	seq uint64
}

// lease is a message in flight. Fields other than busy and at are written by Lease before
// it returns the message and read by the committer when the lease ends.
type lease struct {
	id   string
	hist []byte // the message's history as read, plus the "sending" change
	at   int64  // when leased
	busy bool   // a Finish or Retry is being committed
}

type schedule struct {
	mu       sync.Mutex
	ready    ring
	later    []entry // min-heap by due, then seq
	inflight map[uint64]*lease
	// receipts are changes recorded (Record) for live messages, merged into the history
	// when the lease ends; see Badger.applyRecord.
	receipts map[uint64][]byte
	// fresh holds the stored m/ values of messages enqueued due and not yet leased, up to
	// freshMax bytes, so that a Lease soon after the Enqueue (the usual case) does not read
	// them back from Badger. A value is dropped when its message is leased or gets a receipt.
	fresh      map[uint64][]byte
	freshBytes int
	// notify wakes one waiting Lease; a Lease that leaves work behind wakes the next.
	notify chan struct{}
}

func (s *schedule) init() {
	s.inflight = make(map[uint64]*lease)
	s.receipts = make(map[uint64][]byte)
	s.fresh = make(map[uint64][]byte)
	s.notify = make(chan struct{}, 1)
}

// restore installs the startup scan at now: ready in Seq order, later in any order. The ready
// count as ready since now: when they became ready before the restart is not kept.
func (s *schedule) restore(ready []uint64, later []entry, now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range ready {
		s.ready.push(seq, now)
	}
	s.later = later
	for i := len(s.later)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

func (s *schedule) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// pushFresh is push for a message just enqueued, keeping a copy of its stored value v for
// the Lease that takes it when it is due now.
func (s *schedule) pushFresh(seq uint64, due, now int64, v []byte) {
	if due <= now && s.freshBytes+len(v) <= freshMax && s.receipts[seq] == nil {
		s.fresh[seq] = bytes.Clone(v)
		s.freshBytes += len(v)
	}
	s.push(seq, due, now)
}

// push schedules seq at due. The caller holds mu and calls wake after unlocking.
func (s *schedule) push(seq uint64, due, now int64) {
	if due <= now {
		s.ready.push(seq, now)
		return
	}
	s.later = append(s.later, entry{due: due, seq: seq})
	s.up(len(s.later) - 1)
}

// promote moves what has become due to the ready FIFO.
func (s *schedule) promote(now int64) {
	for len(s.later) > 0 && s.later[0].due <= now {
		s.ready.push(s.later[0].seq, min(s.later[0].due, now))
		s.popLater()
	}
}

// take leases up to max due Seqs at now, with their fresh values (nil where there is none).
// When none is due it returns how long until the next one is (or -1 when nothing is
// scheduled).
func (s *schedule) take(max int, now int64) ([]uint64, [][]byte, []*lease, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promote(now)
	if s.ready.n == 0 {
		if len(s.later) == 0 {
			return nil, nil, nil, -1
		}
		return nil, nil, nil, time.Duration(s.later[0].due - now)
	}
	n := min(max, s.ready.n)
	seqs := make([]uint64, n)
	vals := make([][]byte, n)
	ls := make([]lease, n) // one allocation for the batch
	leases := make([]*lease, n)
	for i := range seqs {
		seq := s.ready.pop()
		seqs[i] = seq
		vals[i] = s.dropFresh(seq)
		ls[i].at = now
		leases[i] = &ls[i]
		s.inflight[seq] = leases[i]
	}
	if s.ready.n > 0 {
		s.wake()
	}
	return seqs, vals, leases, 0
}

// drop forgets a lease whose message could not be read.
func (s *schedule) drop(seq uint64) {
	s.mu.Lock()
	delete(s.inflight, seq)
	delete(s.receipts, seq)
	s.mu.Unlock()
}

// claim marks the lease of seq busy for a Finish or Retry. It fails when the message is not
// leased under that id, or already being finished.
func (s *schedule) claim(seq uint64, id string) (*lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.inflight[seq]
	if l == nil || l.busy || l.id != id {
		return nil, canonical.Errorf(canonical.ErrConflict, "message %s is not leased", id)
	}
	l.busy = true
	return l, nil
}

func (s *schedule) unclaim(seq uint64) {
	s.mu.Lock()
	if l := s.inflight[seq]; l != nil {
		l.busy = false
	}
	s.mu.Unlock()
}

// end removes the lease of seq and, when due >= 0, schedules the message again at due.
func (s *schedule) end(seq uint64, due, now int64) {
	s.mu.Lock()
	delete(s.inflight, seq)
	delete(s.receipts, seq)
	if due >= 0 {
		s.push(seq, due, now)
	}
	s.mu.Unlock()
	if due >= 0 {
		s.wake()
	}
}

// release returns a leased message to the schedule without any write.
func (s *schedule) release(seq uint64, id string, due, now int64) error {
	s.mu.Lock()
	l := s.inflight[seq]
	if l == nil || l.busy || l.id != id {
		s.mu.Unlock()
		return canonical.Errorf(canonical.ErrConflict, "message %s is not leased", id)
	}
	delete(s.inflight, seq)
	s.push(seq, due, now)
	s.mu.Unlock()
	s.wake()
	return nil
}

// returnLeases puts every leased message back in the ready FIFO at now (Close).
func (s *schedule) returnLeases(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := range s.inflight {
		s.ready.push(seq, now)
	}
	clear(s.inflight)
}

// addReceipt keeps a change recorded for a live message until its lease ends. The message's
// fresh value, which lacks the change, is dropped.
func (s *schedule) addReceipt(seq uint64, change []byte) {
	s.mu.Lock()
	s.receipts[seq] = append(s.receipts[seq], change...)
	s.dropFresh(seq)
	s.mu.Unlock()
}

// dropFresh forgets seq's fresh value and returns it (nil when there is none). The caller
// holds mu.
func (s *schedule) dropFresh(seq uint64) []byte {
	v, ok := s.fresh[seq]
	if ok {
		delete(s.fresh, seq)
		s.freshBytes -= len(v)
	}
	return v
}

func (s *schedule) takeReceipts(seq uint64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receipts[seq]
	delete(s.receipts, seq)
	return r
}

// leasedAt reports when seq was leased, if it is in flight.
func (s *schedule) leasedAt(seq uint64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.inflight[seq]
	if l == nil {
		return 0, false
	}
	return l.at, true
}

// oldestReady is how long the message at the head of the ready FIFO has been ready at now,
// to within markEvery; 0 when none is ready.
func (s *schedule) oldestReady(now int64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promote(now)
	at, ok := s.ready.oldest()
	if !ok {
		return 0
	}
	return time.Duration(max(now-at, 0))
}

func (s *schedule) stats(now int64) (ready, scheduled, inflight int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promote(now)
	return int64(s.ready.n), int64(len(s.later)), int64(len(s.inflight))
}

func (s *schedule) less(i, j int) bool {
	a, b := s.later[i], s.later[j]
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

func (s *schedule) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			return
		}
		s.later[i], s.later[p] = s.later[p], s.later[i]
		i = p
	}
}

func (s *schedule) down(i int) {
	n := len(s.later)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			return
		}
		s.later[i], s.later[m] = s.later[m], s.later[i]
		i = m
	}
}

func (s *schedule) popLater() {
	n := len(s.later) - 1
	s.later[0] = s.later[n]
	s.later = s.later[:n]
	s.down(0)
	if c := cap(s.later); c > ringKeep && n < c/4 {
		s.later = append(make([]entry, 0, c/2), s.later...)
	}
}

// ring is a FIFO of Seqs; its capacity is a power of two. Consecutive Seqs, which is what
// enqueues push and what the startup scan restores, take one slot: a slot with runBit set
// after a Seq's slot says that the next k Seqs follow it (k its other bits). A backlog of a
// million messages enqueued in order is a few slots, not 8 MB; Seqs out of order (retries)
// take 8 bytes each, as a plain ring would.
//
// It knows when its entries were pushed to within markEvery, for the age of the oldest, from
// one mark per markEvery of pushes rather than a time per entry (which would add 8 bytes to
// every queued message).
type ring struct {
	buf   []uint64
	head  int
	slots int // slots in use
	n     int // Seqs held
	// marks[mhead:] are the first push of each markEvery, oldest first; the first covers the
	// head. pushed numbers the pushes, so that a mark knows the entry it starts at.
	marks  []mark
	mhead  int
	pushed uint64
}

// runBit marks a slot that counts the Seqs following the one before it. Seqs stay below it.
const runBit = 1 << 63

// mark says that entries from the from-th push on were pushed at or after at.
type mark struct {
	from uint64
	at   int64 // Unix nanoseconds
}

// markEvery is the resolution of the age of the oldest entry: 100 ms is finer than any
// alert on a queue's age needs, and keeps a day of a stalled queue to under a million marks.
const markEvery = int64(100 * time.Millisecond)

// slot returns the i-th slot in use.
func (r *ring) slot(i int) *uint64 { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring) push(v uint64, at int64) {
	if k := len(r.marks); k == r.mhead || at > r.marks[k-1].at+markEvery {
		r.marks = append(r.marks, mark{from: r.pushed, at: at})
	}
	r.pushed++
	r.n++
	if r.slots > 0 {
		last := r.slot(r.slots - 1)
		if *last&runBit != 0 {
			if *r.slot(r.slots - 2)+*last&^runBit+1 == v {
				*last++ // one more in the run
				return
			}
		} else if *last+1 == v {
			r.append(runBit | 1)
			return
		}
	}
	r.append(v)
}

// append adds a slot, growing the ring when it is full.
func (r *ring) append(v uint64) {
	if r.slots == len(r.buf) {
		nb := make([]uint64, max(1024, 2*len(r.buf)))
		for i := range r.slots {
			nb[i] = *r.slot(i)
		}
		r.buf, r.head = nb, 0
	}
	*r.slot(r.slots) = v
	r.slots++
}

func (r *ring) pop() uint64 {
	v := *r.slot(0)
	if r.slots > 1 && *r.slot(1)&runBit != 0 {
		// The run's next Seq becomes the head: in the run's slot when it was the last.
		if run := r.slot(1); *run&^runBit == 1 {
			*run = v + 1
			r.head, r.slots = (r.head+1)&(len(r.buf)-1), r.slots-1
		} else {
			*run--
			*r.slot(0) = v + 1
		}
	} else {
		r.head, r.slots = (r.head+1)&(len(r.buf)-1), r.slots-1
	}
	r.n--
	if r.n == 0 {
		r.marks, r.mhead = r.marks[:0], 0
		if len(r.buf) > ringKeep {
			r.buf, r.head = nil, 0
		}
		return v
	}
	first := r.pushed - uint64(r.n) // the number of the entry now at the head
	for r.mhead+1 < len(r.marks) && r.marks[r.mhead+1].from <= first {
		r.mhead++
	}
	if r.mhead > len(r.marks)/2 && r.mhead > 64 {
		r.marks = append(r.marks[:0], r.marks[r.mhead:]...)
		r.mhead = 0
	}
	return v
}

// oldest is when the entry at the head was pushed, to within markEvery (never later); false
// when the ring is empty.
func (r *ring) oldest() (int64, bool) {
	if r.n == 0 {
		return 0, false
	}
	return r.marks[r.mhead].at, true
}
