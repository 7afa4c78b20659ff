package dispatch

import (
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tunables of bulk sending.
const (
	// maxBulk is the most messages in one bulk request.
	maxBulk = 100
	// bulkLinger is the longest the first message of a bulk request waits for company while
	// the upstream is busy: short, because every message in it holds a connection slot.
	bulkLinger = 2 * time.Millisecond
)

// batcher gathers the messages that senders hand one upstream at the same moment into bulk
// requests. It has no goroutine of its own: the first sender of a batch leads it. On an idle
// upstream the leader sends at once; while a request to the upstream is out, it waits up to
// the linger for company, and sends as soon as the batch is full or the upstream is idle
// again. Each message has already passed the breaker and holds a connection slot, so a
// batch is never larger than the upstream's max_conns: batching saves requests, it does not
// raise concurrency.
type batcher struct {
	u      *upstream
	bulk   adapters.BulkOutbound
	linger time.Duration

	mu   sync.Mutex
	open *batch // gathering, led by its first sender; nil when none
	out  int    // requests in flight
}

// batch is one bulk request in the making. Its leader sends it once ready is closed (full,
// or the upstream idle) or the linger ends; every sender reads its result once done is closed.
type batch struct {
	ms    []*canonical.Message
	res   []adapters.Result
	ready chan struct{}
	done  chan struct{}
}

func newBatcher(u *upstream, b adapters.BulkOutbound) *batcher {
	return &batcher{u: u, bulk: b, linger: bulkLinger}
}

// send adds m to the open batch, or leads a new one, and returns m's result.
func (b *batcher) send(m *canonical.Message) adapters.Result {
	b.mu.Lock()
	if bt := b.open; bt != nil {
		i := len(bt.ms)
		bt.ms = append(bt.ms, m)
		if len(bt.ms) == maxBulk {
			b.open = nil
			close(bt.ready)
		}
		b.mu.Unlock()
		<-bt.done
		return bt.res[i]
	}
	bt := &batch{ms: []*canonical.Message{m}, ready: make(chan struct{}), done: make(chan struct{})}
	if b.out > 0 {
		b.open = bt
		b.mu.Unlock()
		t := time.NewTimer(b.linger)
		select {
		case <-bt.ready:
		case <-t.C:
		}
		t.Stop()
		b.mu.Lock()
		if b.open == bt {
			b.open = nil
		}
	}
	b.out++
	b.mu.Unlock()

	bt.res = b.flush(bt.ms)
	close(bt.done)

	b.mu.Lock()
	if b.out--; b.out == 0 && b.open != nil {
		// The upstream is idle: the open batch need not wait for its linger.
		close(b.open.ready)
		b.open = nil
	}
	b.mu.Unlock()
	return bt.res[0]
}

// flush sends ms, a single message as a plain request and several as one bulk request, and
// returns their results in order.
func (b *batcher) flush(ms []*canonical.Message) []adapters.Result {
	if len(ms) == 1 {
		return []adapters.Result{b.u.request(ms[0])}
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	if err := b.bulk.EncodeBulk(ms, req); err != nil {
		// A message the bulk request cannot carry must not fail the others with it: each
		// goes alone, and its own encoding decides.
		return b.alone(ms)
	}
	bulkRequests.Inc()
	unread, err := exchange(b.u.client, req, resp, b.u.timeout)
	if err != nil {
		return repeat(transportResult(err, b.u.timeout), len(ms))
	}
	res := b.bulk.ClassifyBulk(ms, resp)
	if unread != nil {
		for i, m := range ms {
			res[i] = b.u.unreadResult(m, resp, unread, res[i])
		}
	}
	return res
}

// alone sends each of ms as a request of its own, at once: each holds its connection slot.
func (b *batcher) alone(ms []*canonical.Message) []adapters.Result {
	res := make([]adapters.Result, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { res[i] = b.u.request(m) })
	}
	wg.Wait()
	return res
}

func repeat(r adapters.Result, n int) []adapters.Result {
	out := make([]adapters.Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// transportResult is the Retry for a request that got no answer.
func transportResult(err error, timeout time.Duration) adapters.Result {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return adapters.Result{Outcome: adapters.Retry, Reason: "no answer within " + timeout.String()}
	}
	return adapters.Result{Outcome: adapters.Retry, Reason: "cannot reach upstream: " + err.Error()}
}
