package queuetest_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"switchboard/gateway/queue"
	"switchboard/gateway/queue/jetstream"
	"switchboard/gateway/queue/queuetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func badger() queuetest.Backend {
	return queuetest.Backend{Name: "badger", Fresh: func(t testing.TB) func(testing.TB) queue.Queue {
		dir := t.TempDir()
		return func(t testing.TB) queue.Queue {
			q, err := queue.Open(queue.Options{Dir: dir, Logger: quiet, MemoryMB: 32})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { q.Close() })
			return q
		}
	}}
}

var names atomic.Int64

// jetStream opens every test's queue on one server, under names of its own, its work queue
// in shards streams (0: the default).
func jetStream(s *server.Server, shards int) queuetest.Backend {
	return queuetest.Backend{Name: "jetstream", Fresh: func(t testing.TB) func(testing.TB) queue.Queue {
		n := names.Add(1)
		o := jetstream.Options{Servers: []string{s.ClientURL()}, Stream: fmt.Sprintf("T%d", n),
			Bucket: fmt.Sprintf("t%d", n), Shards: shards, AckWait: 10 * time.Second, Logger: quiet}
		return func(t testing.TB) queue.Queue {
			q, err := jetstream.Open(o)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { q.Close() })
			return q
		}
	}}
}

func TestBadger(t *testing.T) { queuetest.Run(t, badger()) }

func TestJetStream(t *testing.T) { queuetest.Run(t, jetStream(queuetest.StartNATS(t, false), 0)) }

// TestJetStreamShards: the same contract with the work queue spread over shards.
func TestJetStreamShards(t *testing.T) {
	queuetest.Run(t, jetStream(queuetest.StartNATS(t, false), 3))
}

// Benchmarks: both backends in one run, so their figures compare. JetStream here is one
// server on loopback; by default it syncs to disk every 2 minutes (its acks mean "in
// memory"), with sync=always every write is fsync'd as Badger's durability always does.

const parallelism = 64

func BenchmarkBadgerEnqueue(b *testing.B) {
	queuetest.BenchEnqueue(b, badger().Fresh(b)(b), parallelism)
}

func BenchmarkJetStreamEnqueue(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync_always=%v", sync), func(b *testing.B) {
			queuetest.BenchEnqueue(b, jetStream(queuetest.StartNATS(b, sync), 0).Fresh(b)(b), parallelism)
		})
	}
}

func BenchmarkBadgerEndToEnd(b *testing.B) {
	queuetest.BenchEndToEnd(b, badger().Fresh(b)(b), parallelism)
}

func BenchmarkJetStreamEndToEnd(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync_always=%v", sync), func(b *testing.B) {
			queuetest.BenchEndToEnd(b, jetStream(queuetest.StartNATS(b, sync), 0).Fresh(b)(b), parallelism)
		})
	}
}
