// Package compare keeps what a migration needs to compare upstreams: per route, upstream and
// arm (primary, split, failover, mirror), what each vendor accepted, refused, delivered and
// read, how long it took, and what failure cost (retries, failovers, dead letters). The same
// events feed Prometheus metrics (process-wide) and a bounded in-memory ring of per-minute
// buckets (per Recorder) from which the migration page reads its windows.
//
// Receipts are matched here to the send they answer, by our id or the vendor's, so that a
// mirror copy's receipts are counted for the mirror and never reach the message's status.
// It does no I/O and never sees message text.
package compare

import (
	"sort"
	"sync"
	"time"

	"switchboard/canonical"
)

// Arm is how an upstream came to carry a message on a route.
type Arm string

const (
	// ArmPrimary is the first upstream of a route without a split.
	ArmPrimary Arm = "primary"
	// ArmSplit is the upstream a route's split picked.
	ArmSplit Arm = "split"
	// ArmFailover is an upstream that took a message an earlier one passed on.
	ArmFailover Arm = "failover"
	// ArmMirror is a route's mirror, sent shadow copies.
	ArmMirror Arm = "mirror"
)

// Arms lists every arm, in the order the page shows them.
var Arms = []Arm{ArmPrimary, ArmSplit, ArmFailover, ArmMirror}

// Key names one series.
type Key struct {
	Route, Upstream string
	Arm             Arm
}

// Recorder holds every series and the sends awaiting receipts.
type Recorder struct {
	mu     sync.RWMutex
	series map[Key]*Series
	sent   *tracker
	// now is time.Now but in tests.
	now func() time.Time
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{series: map[Key]*Series{}, sent: newTracker(trackerCapacity), now: time.Now}
}

// Series returns the series of k, created (with its metrics, at zero) on first use.
func (r *Recorder) Series(k Key) *Series {
	r.mu.RLock()
	s := r.series[k]
	r.mu.RUnlock()
	if s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.series[k]; s == nil {
		s = newSeries(r, k)
		r.series[k] = s
	}
	return s
}

// all returns every series, sorted by upstream, route and arm.
func (r *Recorder) all() []*Series {
	r.mu.RLock()
	out := make([]*Series, 0, len(r.series))
	for _, s := range r.series {
		out = append(out, s)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if a.Upstream != b.Upstream {
			return a.Upstream < b.Upstream
		}
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		return armOrder(a.Arm) < armOrder(b.Arm)
	})
	return out
}

func armOrder(a Arm) int {
	for i, x := range Arms {
		if x == a {
			return i
		}
	}
	return len(Arms)
}

// SentThrough reports whether upstream accepted a send under our id id, among the sends
// remembered: the quick answer, before the message's record is read, to "may this upstream
// post a receipt for this message".
func (r *Recorder) SentThrough(upstream, id string) bool {
	return id != "" && r.sent.find(upstream, id, "") != nil
}

// Receipt counts a receipt that upstream posted, naming our id or its own (either may be
// empty). It reports whether the receipt answers a send this Recorder remembers, and whether
// that send was a mirror copy: a mirror's receipt must not be recorded on the message.
func (r *Recorder) Receipt(upstream, id, upstreamID string, status canonical.Status, code, reason string) (found, mirror bool) {
	e := r.sent.find(upstream, id, upstreamID)
	if e == nil {
		return false, false
	}
	e.series.receipt(e, status, code, reason, r.now())
	return true, e.series.key.Arm == ArmMirror
}
