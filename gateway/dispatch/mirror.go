package dispatch

import (
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/gateway/compare"
)

// mirrorJob is a shadow copy waiting to be sent. It holds the message by value: the primary
// goes on changing its own.
type mirrorJob struct {
	m canonical.Message
	r *route
	// origID is the message's own id: the copy goes out under an id of its own, so that
	// its receipts are matched to the mirror and never to the message.
	origID string
	// queued is when the copy was queued for the mirror: its time to acceptance starts there.
	queued time.Time
}

// shadow queues a copy of m for its route's mirror, or drops it when the mirror senders
// are saturated: a mirror never slows the primary.
func (d *Dispatcher) shadow(r *route, m *canonical.Message) {
	select {
	case d.mirrorJobs <- d.mirrorCopy(r, m):
	default:
		r.mirror.shadow.dropped.inc()
	}
}

// mirrorCopy is m as the mirror gets it: with an id of its own.
func (d *Dispatcher) mirrorCopy(r *route, m *canonical.Message) mirrorJob {
	j := mirrorJob{m: *m, r: r, origID: m.ID, queued: time.Now()}
	j.m.ID = canonical.NewID()
	return j
}

func (d *Dispatcher) mirrorSender() {
	for {
		select {
		case <-d.stop:
			return
		case j := <-d.mirrorJobs:
			d.sendMirror(&j)
		}
	}
}

// sendMirror makes one attempt with a shadow copy; its result is counted and logged, never
// retried.
func (d *Dispatcher) sendMirror(j *mirrorJob) {
	u := j.r.mirror
	msg, why := fit(&j.m, u, j.r.degrade, j.r.splitText, &d.cur().templates)
	if why != "" {
		u.shadow.dropped.inc()
		d.log.Debug("mirror copy not sent", "id", j.origID, "upstream", u.name, "reason", why)
		return
	}
	res, _, err := u.send(msg, d.stop, true)
	switch {
	case err == errOpen || err == errPaused:
		u.shadow.open.inc()
	case err != nil:
		u.shadow.dropped.inc()
	default:
		u.shadow.outcome(res.Outcome)
		d.observe(d.series(j.r, u, compare.ArmMirror), u, &j.m, j.queued, &res, true)
		if res.Outcome != adapters.Sent {
			d.log.Debug("mirror copy not taken", "id", j.origID, "mirror_id", j.m.ID, "upstream", u.name, "code", res.Code, "reason", res.Reason)
		}
	}
}
