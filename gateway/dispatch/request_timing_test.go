package dispatch

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
	"switchboard/config"
)

// BenchmarkHandleHTTP is one message's whole dispatch path through the http upstream: the
// decision, the encode, the POST to a fasthttp sink on loopback and the reading of its
// answer, with a queue that takes every call and does nothing; from one sender, and from
// 64 at once as the bench's upstream has. The sink runs in the same process, so the CPU a
// message (cpu-ns/op, the process's user and system time) includes its side of the
// exchange: read it A/B against the same sink.
func BenchmarkHandleHTTP(b *testing.B) {
	for _, senders := range []int{1, 64} {
		b.Run("senders="+strconv.Itoa(senders), func(b *testing.B) {
			cfg := &config.Config{
				Upstreams: []config.Upstream{{Name: "sink", Dialect: "http", URL: "http://" + benchSink(b) + "/messages",
					Timeout: config.Duration(5 * time.Second), MaxConns: 64}},
				Routes: []config.Route{{Name: "default", Upstreams: []string{"sink"}}},
			}
			d, err := New(SettingsOf(cfg), nopQueue{}, discard())
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.ReportAllocs()
			start := adaptertest.CPUTime()
			b.ResetTimer()
			if senders == 1 {
				m := benchMessage()
				for b.Loop() {
					m.Attempts = 0
					d.handle(m)
				}
				n.Add(int64(b.N))
			} else {
				b.SetParallelism(max(senders/runtime.GOMAXPROCS(0), 1)) // goroutines per P
				b.RunParallel(func(pb *testing.PB) {
					m := benchMessage()
					for pb.Next() {
						m.Attempts = 0
						d.handle(m)
						n.Add(1)
					}
				})
			}
			b.StopTimer()
			adaptertest.ReportCPU(b, start, int(n.Load()))
			if st := d.Upstreams()[0]; st.Sent != uint64(n.Load()) {
				b.Fatalf("sent %d of %d", st.Sent, n.Load())
			}
		})
	}
}

func benchMessage() *canonical.Message {
	return &canonical.Message{ID: "0190a5e2-0000-7000-8000-000000000000", Tenant: "acme", To: "972501234567",
		Channel: canonical.ChannelWhatsApp, Kind: canonical.KindText, Text: "Your code is 123456"}
}
