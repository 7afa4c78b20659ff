package queue

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// blockedPoll is how often waitBlocked reads the goroutines' stacks, and blockedWait how
// long it waits at most.
const (
	blockedPoll = time.Millisecond
	blockedWait = 10 * time.Second
)

// waitBlocked waits until a goroutine is parked for reason (the wait reason its stack shows:
// "select", "sync.Mutex.Lock", "chan receive") inside fn (a function as stacks name it, such
// as "queue.(*Badger).Lease"). It fails the test when none is within blockedWait. A test calls
// it to know that another goroutine waits where the test means it to, rather than guessing
// with a sleep.
func waitBlocked(t testing.TB, reason, fn string) {
	t.Helper()
	if found, _ := blockedUnless(reason, fn, nil); !found {
		t.Fatalf("no goroutine blocked (%s) in %s within %v", reason, fn, blockedWait)
	}
}

// blockedUnless is waitBlocked for any goroutine (it does not fail the test), which also
// stops waiting when stop is closed: found tells whether such a goroutine was seen, stopped
// whether stop was closed first.
func blockedUnless(reason, fn string, stop <-chan struct{}) (found, stopped bool) {
	tick := time.NewTicker(blockedPoll)
	defer tick.Stop()
	deadline := time.NewTimer(blockedWait)
	defer deadline.Stop()
	frame := "/gateway/queue." + strings.TrimPrefix(fn, "queue.") + "("
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			header, frames, _ := strings.Cut(string(g), "\n")
			if (strings.Contains(header, "["+reason+"]") || strings.Contains(header, "["+reason+",")) &&
				strings.Contains(frames, frame) {
				return true, false
			}
		}
		select {
		case <-stop:
			return false, true
		case <-deadline.C:
			return false, false
		case <-tick.C:
		}
	}
}
