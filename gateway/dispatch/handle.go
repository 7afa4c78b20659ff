package dispatch

import (
	"math/rand/v2"
	"strconv"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/gateway/compare"

	"github.com/sony/gobreaker/v2"
)

// handle decides what happens to one leased message and tells the queue.
//
// Along the route's order, an upstream that cannot carry the message is passed over (under
// policy "fail" the search ends there), an open breaker is passed over, and an answer that
// says "retry" moves on to the next upstream. The first answer that is not "retry" ends
// the message; if every upstream tried said "retry", that was one attempt and the message
// is retried with backoff. If no request went out at all (breakers open, upstream busy,
// stopping), the message goes back to the queue without an attempt.
func (d *Dispatcher) handle(m *canonical.Message) {
	now := time.Now()
	if d.expired(m, now) || d.refuseOptedOut(m, now) {
		return
	}
	if at := d.openAt(m, now); at.After(now) {
		d.release(m, at)
		return
	}
	m.InferKind()
	p := d.cur()
	// The pick is kept with the message, so a retry sends the same template.
	m.Template = p.templates.pick(m.Template, m.Tenant)
	r := p.route(m)
	if r == nil {
		m.LastError = "no route matches the message"
		d.finish(m, canonical.Change{Status: canonical.StatusFailed, At: now, Reason: m.LastError})
		return
	}
	var (
		res      adapters.Result
		last     *upstream
		lastS    *compare.Series
		openWait time.Duration // until the first open breaker may let a probe through
		why      string        // why an upstream could not carry the message
		lost     need          // what last could not carry: rendered as text, or dropped
	)
	// A message the receipt watchdog resent skips the upstreams it was sent through.
	tried := resentFrom(m)
	for i, u := range r.remaining(m, tried) {
		msg, reason := fit(m, u, r.degrade, r.splitText, &p.templates)
		if reason != "" {
			why = reason
			if r.degrade == policyFail {
				break // fails the message, unless an upstream before this one may yet take it
			}
			continue
		}
		rs, wait, err := u.send(withoutMarker(msg), d.stop, false)
		if err == errOpen || err == errPaused {
			if err == errOpen {
				u.primary.open.inc()
			}
			if openWait == 0 || wait < openWait {
				openWait = wait
			}
			continue
		}
		if err != nil { // busy or stopping: the upstream is fine, the message waits its turn
			if last == nil {
				d.release(m, time.Now().Add(wait))
				return
			}
			break // an earlier upstream was tried: that attempt counts
		}
		u.primary.outcome(rs.Outcome)
		if msg.FlowID == "" && m.FlowID != "" {
			flowsLeftOut.Inc()
		}
		if lastS != nil { // the upstream before said "retry": the message failed over
			lastS.FailedOver()
		}
		s := d.series(r, u, r.armOf(i))
		d.observe(s, u, m, m.CreatedAt, &rs, false)
		res, last, lastS = rs, u, s
		lost = 0
		if msg != m {
			lost = needsOf(m) &^ u.caps
		}
		if rs.Outcome != adapters.Retry {
			break
		}
	}
	switch {
	case last != nil:
		if r.mirror != nil && m.Attempts == 0 {
			d.shadow(r, m)
		}
		m.Attempts++
		d.conclude(m, r, last, lastS, res, lost)
	case openWait > 0:
		jitter := rand.N(openWait/10 + 1)
		d.release(m, time.Now().Add(openWait+jitter))
	default:
		m.LastError = why
		notCarried.Inc()
		d.log.Warn("no upstream of the route can carry the message", "id", m.ID, "route", r.name, "reason", why)
		d.finish(m, canonical.Change{Status: canonical.StatusFailed, At: now, Reason: why})
	}
}

// conclude records the answer of the message's last upstream, and what it was sent without.
func (d *Dispatcher) conclude(m *canonical.Message, r *route, u *upstream, s *compare.Series, res adapters.Result, lost need) {
	now := time.Now()
	m.Upstream = u.name
	switch res.Outcome {
	case adapters.Sent:
		m.UpstreamID = res.UpstreamID
		st := res.Status
		if st == "" {
			st = canonical.StatusSent
		}
		ch := canonical.Change{Status: st, At: now, Upstream: u.name, Reason: sentWithout(u.name, lost)}
		if d.watch(m, r, ch) {
			return
		}
		d.finish(m, ch)
	case adapters.Permanent:
		m.LastError = res.Reason
		d.finish(m, canonical.Change{Status: canonical.StatusFailed, At: now, Upstream: u.name, Code: res.Code, Reason: res.Reason})
	default:
		m.LastError = res.Reason
		retry := d.cur().retry
		if m.Attempts >= retry.MaxAttempts {
			s.Dead(res.Code, res.Reason)
			d.log.Warn("dead-lettered", "id", m.ID, "tenant", m.Tenant, "upstream", u.name, "attempts", m.Attempts, "code", res.Code, "reason", res.Reason)
			d.finish(m, canonical.Change{Status: canonical.StatusDead, At: now, Upstream: u.name, Code: res.Code,
				Reason: "gave up after " + strconv.Itoa(m.Attempts) + " attempts: " + res.Reason})
			return
		}
		at := now.Add(backoff(time.Duration(retry.InitialBackoff), time.Duration(retry.MaxBackoff), m.Attempts, res.RetryAfter))
		if u.breaker.State() == gobreaker.StateOpen {
			// Not before the breaker may probe again, with jitter: otherwise this message,
			// due first, would be every probe of a long outage and die of it alone.
			if w := u.openWait(gobreaker.ErrOpenState); now.Add(w).After(at) {
				at = now.Add(w + rand.N(w/10+1))
			}
		}
		if !m.ExpiresAt.IsZero() && !at.Before(m.ExpiresAt) {
			d.finish(m, canonical.Change{Status: canonical.StatusExpired, At: now, Upstream: u.name, Code: res.Code,
				Reason: "expires before the next attempt: " + res.Reason})
			return
		}
		retriedMessages.Inc()
		d.queueErr(m, "retry", d.q.Retry(m, at, canonical.Change{Status: canonical.StatusScheduled, At: now,
			Upstream: u.name, Code: res.Code, Reason: res.Reason}))
	}
}

// backoff is the wait before the attempt after the given number: exponential with full
// jitter, capped, but never shorter than the upstream's Retry-After (itself capped).
func backoff(initial, maxWait time.Duration, attempts int, retryAfter time.Duration) time.Duration {
	ceil := maxWait
	if shift := max(attempts-1, 0); shift < 63 && initial <= maxWait>>shift { // no overflow
		ceil = initial << shift
	}
	return max(rand.N(ceil)+1, min(retryAfter, maxWait))
}

// expired finishes m as expired if its time has passed.
func (d *Dispatcher) expired(m *canonical.Message, now time.Time) bool {
	if m.ExpiresAt.IsZero() || now.Before(m.ExpiresAt) {
		return false
	}
	d.finish(m, canonical.Change{Status: canonical.StatusExpired, At: now, Reason: "expired before it could be sent"})
	return true
}

// release hands m back without an attempt, due at at, unless it expires first.
func (d *Dispatcher) release(m *canonical.Message, at time.Time) {
	if !m.ExpiresAt.IsZero() && !at.Before(m.ExpiresAt) {
		d.finish(m, canonical.Change{Status: canonical.StatusExpired, At: time.Now(), Reason: "expires before it could be sent"})
		return
	}
	releasedMessages.Inc()
	d.queueErr(m, "release", d.q.Release(m, at))
}

func (d *Dispatcher) finish(m *canonical.Message, ch canonical.Change) {
	switch ch.Status {
	case canonical.StatusFailed:
		finishedFailed.Inc()
	case canonical.StatusExpired:
		finishedExpired.Inc()
	case canonical.StatusDead:
		finishedDead.Inc()
	default:
		finishedSent.Inc()
	}
	d.queueErr(m, "finish", d.q.Finish(m, ch))
}

// queueErr logs a queue call that failed: the message stays leased, and is due again
// when the queue next starts.
func (d *Dispatcher) queueErr(m *canonical.Message, op string, err error) {
	if err != nil {
		queueErrorsTotal.Inc()
		d.log.Error("cannot "+op+" message", "id", m.ID, "err", err)
	}
}
