package callbacks

import (
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/gateway/queue"
)

// laggingReplica answers each message's first reads as a replica that has not applied the
// last change yet would: the record without its newest history entry.
type laggingReplica struct {
	*queue.Badger
	stale int // reads per message answered stale
	mu    sync.Mutex
	reads map[string]int
}

func (l *laggingReplica) Get(id string) (*queue.Record, error) {
	rec, err := l.Badger.Get(id)
	if err != nil {
		return rec, err
	}
	l.mu.Lock()
	l.reads[id]++
	n := l.reads[id]
	l.mu.Unlock()
	if n <= l.stale && len(rec.History) > 0 {
		rec.History = rec.History[:len(rec.History)-1]
	}
	return rec, nil
}

// A record read before it holds the change its feed entry announces (a JetStream follower
// behind its leader) is read again: every change is still posted once, in order.
func TestWorkerWaitsForALaggingRecord(t *testing.T) {
	q := openQueue(t, t.TempDir())
	r := startReceiver(t)
	src := &laggingReplica{Badger: q, stale: 3, reads: map[string]int{}}
	w, err := New(src, []Tenant{{ID: "acme", URL: r.url + "/cb"}}, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	t.Cleanup(w.Stop)
	ids := send(t, q, "acme", "native", 5)
	r.waitFor(t, 15, 20*time.Second)
	drainAndStop(t, w, q, "acme")
	byID := statuses(t, r.all())
	for _, id := range ids {
		if !slices.Equal(byID[id], want3) {
			t.Errorf("message %s: %v, want %v", id, byID[id], want3)
		}
	}
}
