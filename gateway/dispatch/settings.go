package dispatch

import (
	"time"

	"switchboard/config"
)

const (
	// leaseBatch is the most messages taken from the queue at once: enough to amortise the
	// queue's locking, few enough that a stop has little to hand back.
	leaseBatch = 256
	// maxWorkers caps the sender goroutines; otherwise there is one per upstream connection.
	maxWorkers = 1024
	// leaseErrorWait is the pause after a failed Lease, so a broken queue is not spun on.
	leaseErrorWait = 100 * time.Millisecond
	// maxRateWait is the longest a sender sleeps for an upstream's rate limit; a message that
	// would wait longer goes back to the queue, holding its place in the limiter.
	maxRateWait = 250 * time.Millisecond
	// rateBurstWindow sizes an upstream's burst: this long's worth of its rate (at least 1).
	rateBurstWindow = 100 * time.Millisecond
	// minOpenWait is the shortest a message waits in the queue when every upstream of its route
	// is open, so a breaker about to probe is not spun on.
	minOpenWait = 10 * time.Millisecond
	// maxHalfOpenWait bounds the wait when a breaker is half-open and its probes are out:
	// the probes finish within the upstream's timeout, this or less.
	maxHalfOpenWait = time.Second
	// breakerBuckets splits a breaker's window, so it rolls instead of resetting at once.
	breakerBuckets = 10
	// maxResponseBody bounds what is read of an upstream's answer.
	maxResponseBody = 1 << 20
	// mirrorWorkers send shadow copies; mirrorQueue copies may wait for them, beyond which
	// copies are dropped (and counted): a mirror must never slow the primary.
	mirrorWorkers = 32
	mirrorQueue   = 1024
	// pausedWait is how long a message waits in the queue when the upstreams of its route
	// are paused: a resume takes effect within it.
	pausedWait = 500 * time.Millisecond
)

// defaultAgent is the User-Agent without WithUserAgent.
const defaultAgent = "switchboard"

// Zero values in a Config that did not come through config.Load (which fills every key)
// take config's own defaults, so that a hand-built Config cannot, say, trip a breaker on
// its first failure.

func retrySettings(r config.Retry) config.Retry {
	def := config.Defaults().Retry
	or(&r.MaxAttempts, def.MaxAttempts)
	or(&r.InitialBackoff, def.InitialBackoff)
	or(&r.MaxBackoff, def.MaxBackoff)
	r.MaxBackoff = max(r.MaxBackoff, r.InitialBackoff)
	return r
}

// breakerSettings is an upstream's override, its zero fields taken from the global
// settings, theirs from the defaults.
func breakerSettings(global config.Breaker, over *config.Breaker) config.Breaker {
	b := global
	if over != nil {
		b = *over
		mergeBreaker(&b, global)
	}
	mergeBreaker(&b, config.Defaults().Breaker)
	return b
}

func mergeBreaker(b *config.Breaker, from config.Breaker) {
	or(&b.Window, from.Window)
	or(&b.ConsecutiveFailures, from.ConsecutiveFailures)
	or(&b.FailureRatio, from.FailureRatio)
	or(&b.MinRequests, from.MinRequests)
	or(&b.OpenFor, from.OpenFor)
	or(&b.HalfOpenProbes, from.HalfOpenProbes)
}

func or[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
