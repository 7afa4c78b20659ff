package compare

import "sync"

// trackerCapacity bounds the sends remembered for their receipts (about 200 bytes each).
// Past it the oldest is forgotten: its receipts still reach the message, but a mirror copy's
// are then counted as unknown and a primary's timing is read from the message's record.
const trackerCapacity = 1 << 16

// entry is one accepted send awaiting its receipts.
type entry struct {
	series     *Series
	id         string // ours, as sent to the vendor
	upstreamID string // the vendor's
	accepted   int64  // unix nanoseconds, when the vendor took it
	minute     int64  // the ring minute it was accepted in
	// seen marks the outcomes counted, so a repeated receipt counts once.
	seen uint8
}

const (
	seenDelivered uint8 = 1 << iota
	seenRead
	seenFailed
)

// tracker finds sends by our id or by (upstream, vendor id); a FIFO ring bounds it.
type tracker struct {
	mu     sync.Mutex
	byID   map[string]*entry
	byUp   map[upKey]*entry
	ring   []*entry
	next   int
	filled bool
}

type upKey struct{ upstream, id string }

func newTracker(capacity int) *tracker {
	return &tracker{byID: map[string]*entry{}, byUp: map[upKey]*entry{}, ring: make([]*entry, capacity)}
}

func (t *tracker) put(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.ring[t.next]; old != nil {
		t.forget(old)
	}
	t.ring[t.next] = e
	t.next = (t.next + 1) % len(t.ring)
	if e.id != "" {
		t.byID[e.id] = e
	}
	if e.upstreamID != "" {
		t.byUp[upKey{e.series.key.Upstream, e.upstreamID}] = e
	}
}

func (t *tracker) forget(e *entry) {
	if t.byID[e.id] == e {
		delete(t.byID, e.id)
	}
	k := upKey{e.series.key.Upstream, e.upstreamID}
	if t.byUp[k] == e {
		delete(t.byUp, k)
	}
}

// find returns the send upstream made under our id or its own, or nil. A send found by our
// id must have gone to that upstream: a message and its mirror copy never share an id.
func (t *tracker) find(upstream, id, upstreamID string) *entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byID[id]; id != "" && e != nil && e.series.key.Upstream == upstream {
		return e
	}
	if upstreamID != "" {
		return t.byUp[upKey{upstream, upstreamID}]
	}
	return nil
}
