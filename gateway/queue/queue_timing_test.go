package queue

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/canonical"
)

// enqueuers is the number of concurrent callers the benchmarks model (request handlers).
const enqueuers = 64

func benchMsg() *canonical.Message {
	m := newMsg("5511912345678")
	m.Text = "Your verification code is 123456. It expires in 10 minutes."
	m.Dialect, m.ClientRef = "wavy", "corr-1"
	return m
}

// BenchmarkEnqueue is one message per Enqueue from 64 goroutines, fsync'd before return.
func BenchmarkEnqueue(b *testing.B) {
	for _, d := range []Durability{DurabilityAlways, DurabilityInterval} {
		b.Run(string(d), func(b *testing.B) {
			q := openQueue(b, b.TempDir(), nil, func(o *Options) { o.Durability = d; o.MaxDepth = 1 << 40 })
			b.SetParallelism(max(1, enqueuers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				items := make([]Item, 1)
				for pb.Next() {
					items[0] = Item{Msg: benchMsg()}
					if _, err := q.Enqueue(context.Background(), items); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		})
	}
}

// BenchmarkEnqueueLeaseFinish is the hot path: 64 goroutines enqueue one message each time
// while 64 workers lease batches and finish every message one by one.
func BenchmarkEnqueueLeaseFinish(b *testing.B) {
	q := openQueue(b, b.TempDir(), nil, func(o *Options) { o.MaxDepth = 1 << 40 })
	workers := leaseWorkers(b, q, func(m *canonical.Message) error {
		return q.Finish(m, canonical.Change{Status: canonical.StatusSent})
	})
	b.SetParallelism(max(1, enqueuers/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0, entries0 := time.Now(), processCPU(), entriesTotal.Get()
	var (
		mu    sync.Mutex
		waits []time.Duration // of every Enqueue: an accept's time in the queue
	)
	b.RunParallel(func(pb *testing.PB) {
		items := make([]Item, 1)
		var mine []time.Duration
		for pb.Next() {
			items[0] = Item{Msg: benchMsg()}
			t := time.Now()
			if _, err := q.Enqueue(context.Background(), items); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		mu.Lock()
		waits = append(waits, mine...)
		mu.Unlock()
	})
	workers.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(float64(entriesTotal.Get()-entries0)/float64(b.N), "entries/msg")
	if len(waits) > 0 {
		slices.Sort(waits)
		b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1e3, "enq-p50-ms")
		b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1e3, "enq-p99-ms")
	}
}

// processCPU is the CPU time the process has used (user and system), in nanoseconds: the
// committer, Badger's goroutines and the syncer all count, which the benchmark's wall time
// over the machine's cores does not tell on a shared machine.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
