package gateway

import (
	"testing"
	"time"
)

// Requests within enqueueRenew share one deadline; every request's wait stays bounded by
// enqueueTimeout and is never cut below enqueueTimeout-enqueueRenew.
func TestEnqueueContextIsSharedAndBounded(t *testing.T) {
	enqueueDeadline.Store(nil)
	now := time.Now()
	first := enqueueContext(now)
	for _, after := range []time.Duration{0, enqueueRenew / 2, enqueueRenew - time.Millisecond} {
		ctx := enqueueContext(now.Add(after))
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatal("no deadline")
		}
		if left := dl.Sub(now.Add(after)); left > enqueueTimeout || left < enqueueTimeout-enqueueRenew {
			t.Errorf("a request %s in waits %s, want between %s and %s", after, left, enqueueTimeout-enqueueRenew, enqueueTimeout)
		}
		if ctx != first {
			t.Errorf("a request %s in got a new context; want the shared one", after)
		}
	}
	later := now.Add(enqueueRenew)
	ctx := enqueueContext(later)
	if ctx == first {
		t.Fatal("the deadline was not renewed after enqueueRenew")
	}
	if dl, _ := ctx.Deadline(); !dl.Equal(later.Add(enqueueTimeout)) {
		t.Errorf("renewed deadline %s, want %s", dl, later.Add(enqueueTimeout))
	}
	if first.Err() != nil {
		t.Error("the old context was cancelled while requests may hold it")
	}
}
