package queue

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
)

// TestEnqueueWaitsMeasured: switchboard_queue_enqueue_seconds counts each Enqueue once in
// each phase, and not the finishes it shares its group with; its wait for its group holds
// the time the committer was busy before it, and both phases fit in the caller's own time.
// The committer is held (writeMu) on a first Finish until the other finishes and then the
// Enqueues wait in its channel, and a while longer.
func TestEnqueueWaitsMeasured(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	const finishes, enqueues, hold = 6, 5, 100 * time.Millisecond
	msgs := make([]*canonical.Message, finishes)
	for i := range msgs {
		msgs[i] = newMsg(fmt.Sprintf("55119%08d", i))
	}
	enqueue(t, q, msgs...)
	leased := leaseN(t, q, finishes)

	var taken atomic.Int64
	q.gathered = &taken
	queued0, commit0 := enqueueWaits(t)
	deadline := time.Now().Add(10 * time.Second)
	until := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}

	q.writeMu.Lock()
	var wg sync.WaitGroup
	errs := make(chan error, finishes+enqueues)
	for i, m := range leased {
		wg.Go(func() { errs <- q.Finish(m, canonical.Change{Status: canonical.StatusSent}) })
		if i == 0 {
			until("the committer takes the first finish", func() bool { return taken.Load() == 1 })
		}
	}
	until("the other finishes wait", func() bool { return len(q.reqs) == finishes-1 })
	var lat atomic.Int64 // the Enqueue callers' own time, summed, in ns
	for i := range enqueues {
		wg.Go(func() {
			start := time.Now()
			_, err := q.Enqueue(context.Background(), []Item{{Msg: newMsg(fmt.Sprintf("55118%08d", i))}})
			lat.Add(int64(time.Since(start)))
			errs <- err
		})
	}
	until("the enqueues wait", func() bool { return len(q.reqs) == finishes-1+enqueues })
	// The committer is held a while longer, so that each Enqueue's wait for its group
	// (at least this hold) stands apart from its group's commit (a few milliseconds).
	seen := time.Now()
	until("the hold is over", func() bool { return time.Since(seen) >= hold })
	q.writeMu.Unlock()
	waitErrs(t, &wg, errs)

	queued1, commit1 := enqueueWaits(t)
	if queued1.count-queued0.count != enqueues || commit1.count-commit0.count != enqueues {
		t.Fatalf("enqueue waits counted %d queued and %d commit, want %d each (finishes not counted)",
			queued1.count-queued0.count, commit1.count-commit0.count, enqueues)
	}
	// Each Enqueue waited in the channel at least the hold, and its two phases fit in its
	// caller's own time.
	queued, spent := queued1.sum-queued0.sum, commit1.sum-commit0.sum+queued1.sum-queued0.sum
	if lower := float64(enqueues) * hold.Seconds(); queued < lower {
		t.Fatalf("queued %.6f s in all, want more than %.6f", queued, lower)
	}
	if callers := time.Duration(lat.Load()).Seconds(); spent > callers {
		t.Fatalf("queued and commit %.6f s in all, more than the callers' own %.6f s", spent, callers)
	}
}

type histogram struct {
	count int
	sum   float64
}

// enqueueWaits reads switchboard_queue_enqueue_seconds from the metrics exposition.
func enqueueWaits(t *testing.T) (queued, commit histogram) {
	t.Helper()
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	for _, l := range strings.Split(b.String(), "\n") {
		name, v, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(name, "switchboard_queue_enqueue_seconds_") {
			continue
		}
		h := &queued
		if strings.Contains(name, `phase="commit"`) {
			h = &commit
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("metric %s: %v", l, err)
		}
		switch {
		case strings.HasPrefix(name, "switchboard_queue_enqueue_seconds_count"):
			h.count = int(f)
		case strings.HasPrefix(name, "switchboard_queue_enqueue_seconds_sum"):
			h.sum = f
		}
	}
	return queued, commit
}

// waitErrs waits for wg's goroutines, each of which sent its error on errs, and fails on the
// first error.
func waitErrs(t *testing.T, wg *sync.WaitGroup, errs chan error) {
	t.Helper()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
