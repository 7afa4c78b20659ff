package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
)

// retryPool is how many messages BenchmarkLeaseRetry keeps live: enough for every worker's
// lease while the others' retries are being committed.
const retryPool = 4096

// BenchmarkLeaseRetry is the load of a failing upstream: nothing new is accepted, and 64
// workers lease batches and retry every message one by one, due again at once. Every Retry
// writes the message's record again (above the value threshold: to the value log).
func BenchmarkLeaseRetry(b *testing.B) {
	q := openQueue(b, b.TempDir(), nil, func(o *Options) { o.MaxDepth = 1 << 40 })
	items := make([]Item, 0, retryPool)
	for i := range retryPool {
		m := benchMsg()
		m.To = fmt.Sprintf("5511%09d", i)
		items = append(items, Item{Msg: m})
	}
	if _, err := q.Enqueue(context.Background(), items); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	workers := leaseWorkers(b, q, func(m *canonical.Message) error {
		return q.Retry(m, time.Time{}, canonical.Change{Reason: "upstream unavailable"})
	})
	workers.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "retry/s")
	b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/retry")
}

// leaseWorkers starts the benchmark's workers: each leases batches of 8 and passes every
// message to end, until b.N messages have been ended.
func leaseWorkers(b *testing.B, q *Badger, end func(*canonical.Message) error) *sync.WaitGroup {
	var ended atomic.Int64
	target := int64(b.N)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	workers := new(sync.WaitGroup)
	for range enqueuers {
		workers.Go(func() {
			for ended.Load() < target {
				ms, err := q.Lease(ctx, 8)
				if err != nil {
					return
				}
				for _, m := range ms {
					if err := end(m); err != nil {
						b.Error(err)
						return
					}
					if ended.Add(1) == target {
						cancel()
					}
				}
			}
		})
	}
	return workers
}
