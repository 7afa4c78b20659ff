package dispatch

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// heldSweepEvery is how many holds pass between sweeps of holds whose message never came
// back (it expired, or went to another upstream); heldGrace is how late one may come back.
const (
	heldSweepEvery = 1024
	heldGrace      = time.Minute
)

// limiter spaces the requests to one upstream. A message that would wait longer than
// maxRateWait goes back to the queue due at its reserved time and keeps the reservation,
// so a backlog is scheduled once, in order, rather than churned through the queue.
type limiter struct {
	lim   *rate.Limiter
	nHeld atomic.Int64
	mu    sync.Mutex
	held  map[string]time.Time // message id -> reserved time
	holds int
}

func newLimiter(perSecond float64) *limiter {
	burst := max(1, int(perSecond*rateBurstWindow.Seconds()))
	return &limiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst), held: map[string]time.Time{}}
}

// wait returns once the message may be sent, or errBusy with how long until it may.
func (l *limiter) wait(id string, stop <-chan struct{}, shadow bool) (time.Duration, error) {
	if l.nHeld.Load() > 0 && l.take(id) {
		return 0, nil
	}
	if l.lim.Allow() {
		return 0, nil
	}
	r := l.lim.Reserve()
	d := r.Delay()
	if d > maxRateWait {
		if shadow {
			r.Cancel()
		} else {
			l.hold(id, time.Now().Add(d))
		}
		return d, errBusy
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return 0, nil
	case <-stop:
		r.Cancel()
		return 0, errStopping
	}
}

func (l *limiter) take(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[id]; !ok {
		return false
	}
	delete(l.held, id)
	l.nHeld.Add(-1)
	return true
}

func (l *limiter) hold(id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[id]; !ok {
		l.nHeld.Add(1)
	}
	l.held[id] = at
	if l.holds++; l.holds%heldSweepEvery == 0 {
		stale := time.Now().Add(-heldGrace)
		for id, at := range l.held {
			if at.Before(stale) {
				delete(l.held, id)
				l.nHeld.Add(-1)
			}
		}
	}
}
