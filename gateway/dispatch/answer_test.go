package dispatch

import (
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// A bulk request answered 2xx with a body over the limit sent every message in it: each is
// Sent (without the vendor's id) after that one request. The same body on a 503 is a Retry.
func TestBulkUnreadableAnswer(t *testing.T) {
	w := newWavySink(t)
	big := make([]byte, 2*maxResponseBody)
	var status atomic.Int32
	status.Store(200)
	w.set(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(int(status.Load()))
		ctx.SetBody(big)
	})
	b := wavyBatcher(t, w)
	before := b.u.unread.Get() // the metric is the process's, by upstream name
	ms := []*canonical.Message{wavyMessage("5511999990001", "one"), wavyMessage("5511999990002", "two"),
		wavyMessage("5511999990003", "three")}
	for i, r := range b.flush(ms) {
		if r.Outcome != adapters.Sent || r.UpstreamID != "" {
			t.Errorf("message %d: %+v, want sent without an upstream id", i, r)
		}
	}
	if n := w.hits.Load(); n != 1 {
		t.Errorf("%d requests, want the one bulk request", n)
	}
	if n := b.u.unread.Get() - before; n != 3 {
		t.Errorf("unread answers counted: %d, want 3", n)
	}
	status.Store(503)
	for i, r := range b.flush(ms) {
		if r.Outcome != adapters.Retry || r.Code != "503" {
			t.Errorf("message %d of a 503: %+v, want a retry", i, r)
		}
	}
}
