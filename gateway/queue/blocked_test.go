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
// as "queue.(*Badger).Lease"), and reports true; or until stop is closed, and reports false.
// It fails the test when neither happens within blockedWait. A test calls it to know that
// another goroutine is waiting where the test means it to, rather than guessing with a sleep.
func waitBlocked(t testing.TB, reason, fn string, stop <-chan struct{}) bool {
	t.Helper()
	tick := time.NewTicker(blockedPoll)
	defer tick.Stop()
	deadline := time.After(blockedWait)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			header, frames, _ := strings.Cut(string(g), "\n")
			if strings.Contains(header, "["+reason+"]") || strings.Contains(header, "["+reason+",") {
				if strings.Contains(frames, "/gateway/queue."+strings.TrimPrefix(fn, "queue.")+"(") {
					return true
				}
			}
		}
		select {
		case <-stop:
			return false
		case <-deadline:
			t.Fatalf("no goroutine blocked (%s) in %s within %v", reason, fn, blockedWait)
		case <-tick.C:
		}
	}
}
