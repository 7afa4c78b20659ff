package queuetest

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// BenchEnqueue measures one-message Enqueue calls made by parallelism goroutines at once,
// as request handlers make them. It reports messages per second.
func BenchEnqueue(b *testing.B, q queue.Queue, parallelism int) {
	b.ReportAllocs()
	start := time.Now()
	var n atomic.Int64
	b.SetParallelism(max(parallelism/max(runtimeProcs(), 1), 1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: NewMsg()}}); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "msgs/s")
}

// BenchEndToEnd measures a message's whole way through the queue: enqueued by parallelism
// goroutines at once while one lease loop hands messages to parallelism workers that
// Finish each, as dispatch does. It reports messages per second, enqueue to finish.
func BenchEndToEnd(b *testing.B, q queue.Queue, parallelism int) {
	b.ReportAllocs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	work := make(chan *canonical.Message, 256)
	var finished atomic.Int64
	done := make(chan struct{})
	total := int64(b.N)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the lease loop
		defer wg.Done()
		defer close(work)
		for ctx.Err() == nil {
			ms, _ := q.Lease(ctx, 256)
			for _, m := range ms {
				work <- m
			}
		}
	}()
	for range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
					b.Error(err)
				}
				if finished.Add(1) == total {
					close(done)
				}
			}
		}()
	}
	start := time.Now()
	b.ResetTimer()
	var next atomic.Int64
	var pwg sync.WaitGroup
	for range parallelism {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for next.Add(1) <= total {
				if _, err := q.Enqueue(context.Background(), []queue.Item{{Msg: NewMsg()}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	pwg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Errorf("only %d of %d messages finished within a minute", finished.Load(), total)
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
	cancel()
	wg.Wait()
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
