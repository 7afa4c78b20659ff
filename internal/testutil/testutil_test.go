package testutil

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestUntilHoldsAndTimesOut(t *testing.T) {
	var n atomic.Int32
	if !Until(time.Second, func() bool { return n.Add(1) >= 3 }) || n.Load() != 3 {
		t.Fatalf("Until returned before its condition held, or did not poll again: %d calls", n.Load())
	}
	start := time.Now()
	if Until(50*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a condition that never held")
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Until gave up after %v, want its 50ms timeout", took)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records that it was called instead of ending
// the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (r *fatalRecorder) Helper()               {}
func (r *fatalRecorder) Fatalf(string, ...any) { r.failed = true }

func TestWaitForFails(t *testing.T) {
	r := &fatalRecorder{TB: t}
	WaitFor(r, 20*time.Millisecond, "never", func() bool { return false })
	if !r.failed {
		t.Fatal("WaitFor did not fail on a condition that never held")
	}
	r.failed = false
	WaitFor(r, time.Second, "at once", func() bool { return true })
	if r.failed {
		t.Fatal("WaitFor failed on a condition that held")
	}
}

// An address from Addr refuses connections until a server listens on it.
func TestAddrRefusesUntilListened(t *testing.T) {
	addr := Addr(t)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial %s before any listener: %v, want connection refused", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s: %v", addr, err)
	}
	defer ln.Close()
}
