package compare

import (
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
)

// ringMinutes is how far back the page can look: one day of per-minute buckets.
const ringMinutes = 24 * 60

// maxReasons bounds the distinct failure reasons kept per minute; the rest count as "other".
const maxReasons = 16

// maxReasonLen cuts a vendor's reason, which is free text.
const maxReasonLen = 120

// The counts kept per minute.
const (
	cAccepted = iota
	cRefused
	cRetries
	cFailovers
	cDead
	cDelivered
	cRead
	cFailed // after acceptance, by a receipt
	nCounts
)

// The times kept per minute, each as a histogram.
const (
	tAcceptance = iota // enqueue to the vendor's acceptance
	tDelivery          // acceptance to the delivery receipt
	tRead              // acceptance to the read receipt
	nTimes
)

// minute is one bucket of the ring. Receipts count in the minute their send was accepted
// in, so that a window's delivered, failed and "no receipt yet" add up to its accepted.
type minute struct {
	at      int64 // unix minute
	n       [nCounts]uint64
	times   [nTimes]*hist
	reasons map[string]uint64
}

func (m *minute) reset(at int64) {
	m.at, m.n = at, [nCounts]uint64{}
	for _, h := range m.times {
		if h != nil {
			*h = hist{}
		}
	}
	clear(m.reasons)
}

func (m *minute) time(t int, d time.Duration) {
	if m.times[t] == nil {
		m.times[t] = &hist{}
	}
	m.times[t].add(d)
}

func (m *minute) reason(kind, code, reason string) {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen] + "…"
	}
	k := kind + " " + code + ": " + reason
	if m.reasons == nil {
		m.reasons = map[string]uint64{}
	}
	if _, ok := m.reasons[k]; !ok && len(m.reasons) >= maxReasons {
		k = kind + " (other reasons)"
	}
	m.reasons[k]++
}

// Series is one route, upstream and arm: its ring and its metrics.
type Series struct {
	r   *Recorder
	key Key

	mu   sync.Mutex
	ring [ringMinutes]*minute

	accepted, retries, failovers, dead, delivered, read, failed *metrics.Counter
	acceptance, delivery, readTime                              *metrics.PrometheusHistogram
}

// labels is the series' labels in metric syntax.
func (k Key) labels() string {
	return fmt.Sprintf(`route=%q,upstream=%q,arm=%q`, k.Route, k.Upstream, k.Arm)
}

func newSeries(r *Recorder, k Key) *Series {
	l := k.labels()
	c := func(name string) *metrics.Counter { return metrics.GetOrCreateCounter(name + "{" + l + "}") }
	h := func(name string) *metrics.PrometheusHistogram {
		return metrics.GetOrCreatePrometheusHistogramExt(name+"{"+l+"}", TimeBuckets)
	}
	return &Series{r: r, key: k,
		accepted:   c(MetricAccepted),
		retries:    c(MetricRetries),
		failovers:  c(MetricFailovers),
		dead:       c(MetricDeadLetters),
		delivered:  metrics.GetOrCreateCounter(MetricReceipts + "{" + l + `,status="delivered"}`),
		read:       metrics.GetOrCreateCounter(MetricReceipts + "{" + l + `,status="read"}`),
		failed:     metrics.GetOrCreateCounter(MetricReceipts + "{" + l + `,status="failed"}`),
		acceptance: h(MetricAcceptanceSeconds),
		delivery:   h(MetricDeliverySeconds),
		readTime:   h(MetricReadSeconds),
	}
}

// at returns the bucket of the given unix minute, reset if it held an older minute; nil if
// that minute has left the ring. Call with s.mu held.
func (s *Series) at(unixMinute, now int64) *minute {
	if unixMinute <= now-ringMinutes || unixMinute > now {
		return nil
	}
	i := unixMinute % ringMinutes
	m := s.ring[i]
	switch {
	case m == nil:
		m = &minute{at: unixMinute}
		s.ring[i] = m
	case m.at != unixMinute:
		if m.at > unixMinute {
			return nil // a newer minute already took the slot
		}
		m.reset(unixMinute)
	}
	return m
}

// Accepted counts a send the vendor took, enqueued at enqueued, and remembers it for its
// receipts under our id and the vendor's.
func (s *Series) Accepted(enqueued time.Time, id, upstreamID string) {
	now := s.r.now()
	d := max(now.Sub(enqueued), 0)
	s.accepted.Inc()
	s.acceptance.Update(d.Seconds())
	e := &entry{series: s, id: id, upstreamID: upstreamID, accepted: now.UnixNano(), minute: now.Unix() / 60}
	s.mu.Lock()
	if m := s.at(e.minute, e.minute); m != nil {
		m.n[cAccepted]++
		m.time(tAcceptance, d)
	}
	s.mu.Unlock()
	s.r.sent.put(e)
}

// Refused counts a send the vendor refused for good, with its code and reason.
func (s *Series) Refused(code, reason string) {
	refusedCounter(s.key, code).Inc()
	s.count(cRefused, "refused", code, reason)
}

// Retried counts a send to be tried again: the vendor asked for it, or did not answer.
func (s *Series) Retried(code, reason string) {
	s.retries.Inc()
	s.count(cRetries, "retry", code, reason)
}

// FailedOver counts a message this upstream passed on to the next one of the route.
func (s *Series) FailedOver() {
	s.failovers.Inc()
	s.count(cFailovers, "", "", "")
}

// Dead counts a message dead-lettered after this upstream's last answer.
func (s *Series) Dead(code, reason string) {
	s.dead.Inc()
	s.count(cDead, "dead", code, reason)
}

func (s *Series) count(c int, kind, code, reason string) {
	now := s.r.now().Unix() / 60
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.at(now, now); m != nil {
		m.n[c]++
		if kind != "" {
			m.reason(kind, code, reason)
		}
	}
}

// receipt counts a receipt of e once per outcome: read implies delivered.
func (s *Series) receipt(e *entry, status canonical.Status, code, reason string, now time.Time) {
	var outcome uint8
	switch status {
	case canonical.StatusDelivered:
		outcome = seenDelivered
	case canonical.StatusRead:
		outcome = seenRead | seenDelivered
	case canonical.StatusFailed, canonical.StatusRejected, canonical.StatusExpired, canonical.StatusDead:
		outcome = seenFailed
	default:
		return // sent, queued...: nothing the vendor's acceptance did not already say
	}
	since := max(now.Sub(time.Unix(0, e.accepted)), 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	outcome &^= e.seen
	if outcome == 0 {
		return
	}
	e.seen |= outcome
	m := s.at(e.minute, now.Unix()/60)
	if outcome&seenDelivered != 0 {
		s.delivered.Inc()
		s.delivery.Update(since.Seconds())
		if m != nil {
			m.n[cDelivered]++
			m.time(tDelivery, since)
		}
	}
	if outcome&seenRead != 0 {
		s.read.Inc()
		s.readTime.Update(since.Seconds())
		if m != nil {
			m.n[cRead]++
			m.time(tRead, since)
		}
	}
	if outcome&seenFailed != 0 {
		s.failed.Inc()
		failedCounter(s.key, code).Inc()
		if m != nil {
			m.n[cFailed]++
			m.reason("undelivered", code, reason)
		}
	}
}
