package dispatch

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tunables of bulk sending.
const (
	// maxBulk is the most messages in one bulk request.
	maxBulk = 100
	// bulkLinger is how long the first message of a bulk request waits for company: short,
	// because every message in it is already holding a connection slot.
	bulkLinger = 2 * time.Millisecond
)

// bulkItem is one message waiting for a bulk request, and where its result goes.
type bulkItem struct {
	m   *canonical.Message
	res chan adapters.Result
}

// batcher gathers the messages that senders hand one upstream at the same moment into bulk
// requests. Each message has already passed the breaker and holds a connection slot, so a
// batch is never larger than the upstream's max_conns: batching saves requests, it does not
// raise concurrency.
type batcher struct {
	u    *upstream
	bulk adapters.BulkOutbound
	in   chan bulkItem
}

func newBatcher(u *upstream, b adapters.BulkOutbound) *batcher {
	bt := &batcher{u: u, bulk: b, in: make(chan bulkItem)}
	go bt.run()
	return bt
}

// send hands m to the batcher and waits for its result.
func (b *batcher) send(m *canonical.Message) adapters.Result {
	it := bulkItem{m: m, res: make(chan adapters.Result, 1)}
	b.in <- it
	return <-it.res
}

func (b *batcher) run() {
	for first := range b.in {
		batch := []bulkItem{first}
		linger := time.NewTimer(bulkLinger)
	gather:
		for len(batch) < maxBulk {
			select {
			case it := <-b.in:
				batch = append(batch, it)
			case <-linger.C:
				break gather
			}
		}
		linger.Stop()
		go b.flush(batch)
	}
}

// flush sends one batch: a single message as a plain request, several as one bulk request.
func (b *batcher) flush(batch []bulkItem) {
	if len(batch) == 1 {
		batch[0].res <- b.u.request(batch[0].m)
		return
	}
	ms := make([]*canonical.Message, len(batch))
	for i, it := range batch {
		ms[i] = it.m
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	var results []adapters.Result
	if err := b.bulk.EncodeBulk(ms, req); err != nil {
		results = repeat(adapters.Result{Outcome: adapters.Permanent, Reason: err.Error()}, len(ms))
	} else if err := b.u.client.DoTimeout(req, resp, b.u.timeout); err != nil {
		results = repeat(transportResult(err, b.u.timeout), len(ms))
	} else {
		results = b.bulk.ClassifyBulk(ms, resp)
	}
	bulkRequests.Inc()
	for i, it := range batch {
		it.res <- results[i]
	}
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
