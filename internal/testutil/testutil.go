// Package testutil holds the helpers that the tests of several packages share: waiting on
// a condition with a deadline instead of sleeping and hoping, and loopback addresses and
// listeners that no other test can be given meanwhile. Only tests import it; it imports
// nothing of the gateway's.
package testutil

import (
	"net"
	"testing"
	"time"

	"switchboard/internal/loopback"
)

// pollEvery is how often WaitFor and Until look at their condition: short beside every
// deadline the tests set, long enough not to spin on the two cores the suite may share.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond until it holds, and fails the test when it does not within timeout,
// saying what it waited for.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	WaitForEvery(t, pollEvery, timeout, what, cond)
}

// WaitForEvery is WaitFor polling every every: a benchmark that times how long until cond
// holds polls finer than the tests do.
func WaitForEvery(t testing.TB, every, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !until(every, timeout, cond) {
		t.Fatalf("not within %v: %s", timeout, what)
	}
}

// Until polls cond until it holds or timeout passes, and reports whether it held: for a
// caller that fails in its own words, or that may not call t.Fatal (another goroutine).
func Until(timeout time.Duration, cond func() bool) bool { return until(pollEvery, timeout, cond) }

func until(every, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
	return true
}

// Addr reserves a loopback address for a server the test starts without binding it itself
// (a process, or a library that takes an address) until the test ends; see loopback.Reserve.
// Nothing listens on it until that server does: a connection to it is refused.
func Addr(t testing.TB) string {
	t.Helper()
	addr, release, err := loopback.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return addr
}

// Listen is a listener on a free loopback port, closed when the test ends, for a server the
// test runs itself: the server gets the port that was bound, with no moment between.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
