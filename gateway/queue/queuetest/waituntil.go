package queuetest

import "time"

// pollEvery is how often WaitUntil checks its condition.
const pollEvery = 10 * time.Millisecond

// WaitUntil waits until ok holds, checking it every pollEvery, and reports whether it did
// within limit.
func WaitUntil(limit time.Duration, ok func() bool) bool {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return ok()
		}
	}
	return true
}
