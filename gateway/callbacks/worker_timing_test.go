package callbacks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
	"switchboard/internal/testutil"
)

// BenchmarkCallbacks posts one native callback per message to a receiver on loopback, with
// the default concurrency, from a feed written before the worker starts.
func BenchmarkCallbacks(b *testing.B) {
	q, err := queue.Open(queue.Options{Dir: b.TempDir(), Logger: quiet, MemoryMB: 32, MaxDepth: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	r := startReceiver(b)
	w, err := New(q, []Tenant{{ID: "acme", URL: r.url, Secret: "s"}}, Options{Logger: quiet, PerTenant: 16})
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < b.N; {
		n := min(b.N-done, 1000)
		items := make([]queue.Item, n)
		for i := range items {
			items[i] = queue.Item{Msg: &canonical.Message{Tenant: "acme", To: fmt.Sprintf("55119%08d", done+i), Text: "hi"}}
		}
		if _, err := q.Enqueue(context.Background(), items); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; {
			ms, err := q.Lease(context.Background(), n-got)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range ms {
				if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "up"}); err != nil {
					b.Fatal(err)
				}
			}
			got += len(ms)
		}
		done += n
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	w.Start()
	testutil.WaitForEvery(b, time.Millisecond, 5*time.Minute, "every callback posted", func() bool { return r.count() >= b.N })
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "callbacks/s")
	b.StopTimer()
	w.Stop()
}
