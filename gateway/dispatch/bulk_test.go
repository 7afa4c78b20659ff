package dispatch

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/internal/testutil"
)

// wavySink is a sink that answers as Wavy does and records each request's path and how many
// messages it carried. After hold, requests wait until the release it returns is called.
type wavySink struct {
	*sink
	mu    sync.Mutex
	paths []string
	sizes []int
	gate  chan struct{} // while not nil, requests wait for it to close
}

func newWavySink(t *testing.T) *wavySink {
	w := &wavySink{sink: newSink(t)}
	w.set(func(ctx *fasthttp.RequestCtx) {
		w.mu.Lock()
		w.paths = append(w.paths, string(ctx.Path()))
		w.sizes = append(w.sizes, strings.Count(string(ctx.PostBody()), `"destination"`))
		gate := w.gate
		w.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if strings.HasSuffix(string(ctx.Path()), "/send-bulk-sms") {
			ctx.SetBodyString(`{"messages":[]}`)
			return
		}
		ctx.SetBodyString(`{"id":"w1"}`)
	})
	return w
}

// hold makes requests wait until the returned func is called.
func (w *wavySink) hold() (release func()) {
	gate := make(chan struct{})
	w.mu.Lock()
	w.gate = gate
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.gate = nil
		w.mu.Unlock()
		close(gate)
	}
}

func (w *wavySink) seen() (paths []string, sizes []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.paths...), append([]int(nil), w.sizes...)
}

func wavyBatcher(t *testing.T, w *wavySink) *batcher {
	t.Helper()
	s := SettingsOf(&config.Config{Upstreams: []config.Upstream{{Name: "wavy", Dialect: "wavy", URL: "http://" + w.addr,
		Timeout: ms(5000), MaxConns: 200, Credentials: map[string]string{"username": "u", "token": "t"}}}})
	u, err := makeUpstream(s.Upstreams[0], defaultAgent, discard(), registry.Vendors())
	if err != nil {
		t.Fatal(err)
	}
	if u.batch == nil {
		t.Fatal("a wavy upstream has no batcher")
	}
	return u.batch
}

func wavyMessage(to, text string) *canonical.Message {
	return &canonical.Message{ID: canonical.NewID(), To: to, Text: text, Channel: canonical.ChannelSMS}
}

// sendAsync sends m through b and delivers its result on the returned channel.
func sendAsync(b *batcher, m *canonical.Message) <-chan adapters.Result {
	c := make(chan adapters.Result, 1)
	go func() { c <- b.send(m) }()
	return c
}

func result(t *testing.T, c <-chan adapters.Result) adapters.Result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10s")
		return adapters.Result{}
	}
}

// A message the bulk request cannot carry fails alone; the others in its batch are sent.
func TestBulkBadMessageFailsAlone(t *testing.T) {
	w := newWavySink(t)
	b := wavyBatcher(t, w)
	ms := []*canonical.Message{
		wavyMessage("5511999990001", "one"),
		wavyMessage("", "no destination"), // Wavy cannot carry it
		wavyMessage("5511999990003", "three"),
	}
	res := b.flush(ms)
	want := []adapters.Outcome{adapters.Sent, adapters.Permanent, adapters.Sent}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("message %d: outcome %v (%s), want %v", i, r.Outcome, r.Reason, want[i])
		}
	}
	paths, _ := w.seen()
	if len(paths) != 2 || paths[0] != "/v1/send-sms" || paths[1] != "/v1/send-sms" {
		t.Errorf("the sink saw %v, want the two good messages sent alone", paths)
	}
}

// On an idle upstream a message leaves at once, whatever the linger; while a request is out,
// the messages that come meanwhile wait and leave together when it is answered.
func TestBulkLingersOnlyWhileBusy(t *testing.T) {
	w := newWavySink(t)
	b := wavyBatcher(t, w)
	b.linger = time.Hour

	if r := result(t, sendAsync(b, wavyMessage("5511999990001", "alone"))); r.Outcome != adapters.Sent {
		t.Fatalf("lone message: %v (%s)", r.Outcome, r.Reason)
	}

	release := w.hold()
	first := sendAsync(b, wavyMessage("5511999990002", "first"))
	testutil.WaitFor(t, 5*time.Second, "the first request to reach the sink", func() bool {
		paths, _ := w.seen()
		return len(paths) == 2
	})
	var rest []<-chan adapters.Result
	for _, to := range []string{"5511999990003", "5511999990004", "5511999990005"} {
		rest = append(rest, sendAsync(b, wavyMessage(to, "later")))
	}
	testutil.WaitFor(t, 5*time.Second, "three messages gathered", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.open != nil && len(b.open.ms) == 3
	})
	release()
	for _, c := range append(rest, first) {
		if r := result(t, c); r.Outcome != adapters.Sent {
			t.Fatalf("outcome %v (%s)", r.Outcome, r.Reason)
		}
	}
	paths, sizes := w.seen()
	if len(paths) != 3 || paths[2] != "/v1/send-bulk-sms" || sizes[2] != 3 {
		t.Fatalf("the sink saw %v carrying %v, want the last three in one bulk request", paths, sizes)
	}
}

// A full batch leaves at once, even while the upstream is busy.
func TestBulkFullBatchLeaves(t *testing.T) {
	w := newWavySink(t)
	b := wavyBatcher(t, w)
	b.linger = time.Hour

	release := w.hold()
	defer release()
	first := sendAsync(b, wavyMessage("5511999990001", "first"))
	testutil.WaitFor(t, 5*time.Second, "the first request to reach the sink", func() bool {
		paths, _ := w.seen()
		return len(paths) == 1
	})
	for range maxBulk {
		sendAsync(b, wavyMessage("5511999990002", "batched"))
	}
	testutil.WaitFor(t, 5*time.Second, "a full bulk request while the first is out", func() bool {
		paths, sizes := w.seen()
		return len(paths) == 2 && paths[1] == "/v1/send-bulk-sms" && sizes[1] == maxBulk
	})
	select {
	case <-first:
		t.Fatal("the first request was answered while the sink held it")
	default:
	}
}
