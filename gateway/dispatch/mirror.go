package dispatch

import (
	"switchboard/adapters"
	"switchboard/canonical"
)

// mirrorJob is a shadow copy waiting to be sent. It holds the message by value: the primary
// goes on changing its own.
type mirrorJob struct {
	m canonical.Message
	r *route
}

// shadow queues a copy of m for its route's mirror, or drops it when the mirror senders
// are saturated: a mirror never slows the primary.
func (d *Dispatcher) shadow(r *route, m *canonical.Message) {
	select {
	case d.mirrorJobs <- mirrorJob{m: *m, r: r}:
	default:
		r.mirror.shadow.dropped.inc()
	}
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
	msg, why := fit(&j.m, u, j.r.degrade, &d.cur().templates)
	if why != "" {
		u.shadow.dropped.inc()
		d.log.Debug("mirror copy not sent", "id", j.m.ID, "upstream", u.name, "reason", why)
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
		if res.Outcome != adapters.Sent {
			d.log.Debug("mirror copy not taken", "id", j.m.ID, "upstream", u.name, "code", res.Code, "reason", res.Reason)
		}
	}
}
