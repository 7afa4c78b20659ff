package queue

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

// leaseWait is how long TestBelowFloorPausesSending waits for a lease that must not come:
// over a free-space reading (diskSampleInterval).
const leaseWait = 1500 * time.Millisecond

// TestBelowFloorPausesSending: on a disk below half its reserve (a reserve larger than any
// disk) the queue opens, refuses new messages with ErrDiskLow, keeps answering for those it
// holds and leases none (finishing them would write); with no reserve it leases them all.
func TestBelowFloorPausesSending(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("free space is read on Linux only (statfs_other.go)")
	}
	dir := t.TempDir()
	q := openQueue(t, dir, nil, func(o *Options) { o.DiskReserveBytes, o.DiskReservePercent = -1, -1 })
	msgs := []*canonical.Message{newMsg("+5511900000001"), newMsg("+5511900000002")}
	enqueue(t, q, msgs...)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, dir, nil, func(o *Options) { o.DiskReserveBytes = 1 << 62 })
	if _, err := q.Enqueue(context.Background(), []Item{{Msg: newMsg("+5511900000003")}}); !errors.Is(err, ErrDiskLow) {
		t.Fatalf("enqueue below the reserve: %v, want ErrDiskLow", err)
	}
	if why := q.Degraded(); !strings.Contains(why, "disk nearly full") || !strings.Contains(why, "sending is paused") {
		t.Fatalf("Degraded: %q", why)
	}
	for _, m := range msgs {
		if _, err := q.Get(m.ID); err != nil {
			t.Fatalf("get %s below the floor: %v", m.ID, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseWait)
	defer cancel()
	if got, err := q.Lease(ctx, 10); len(got) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lease below the floor: %d messages, %v; want none until the deadline", len(got), err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, dir, nil, func(o *Options) { o.DiskReserveBytes, o.DiskReservePercent = -1, -1 })
	if why := q.Degraded(); why != "" {
		t.Fatalf("Degraded with no reserve: %q", why)
	}
	ctx, cancel = context.WithTimeout(context.Background(), leaseWait)
	defer cancel()
	if got, err := q.Lease(ctx, 10); len(got) != len(msgs) || err != nil {
		t.Fatalf("lease with no reserve: %d messages, %v; want %d", len(got), err, len(msgs))
	}
}
