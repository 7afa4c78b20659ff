package main

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// sink is an http upstream in the test process: it records every canonical message it gets.
type sink struct {
	addr   string
	ln     net.Listener
	mu     sync.Mutex
	seen   map[string]int // message id -> times received
	bodies []canonical.Message
	fail   atomic.Int32 // answer this status instead of 200 while non-zero
	total  atomic.Int64
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln := testutil.Listen(t)
	s := &sink{addr: ln.Addr().String(), ln: ln, seen: map[string]int{}}
	srv := &fasthttp.Server{Handler: s.handle}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

func (s *sink) handle(ctx *fasthttp.RequestCtx) {
	if code := s.fail.Load(); code != 0 {
		ctx.SetStatusCode(int(code))
		return
	}
	var m canonical.Message
	if err := json.Unmarshal(ctx.PostBody(), &m); err != nil || m.ID == "" {
		ctx.SetStatusCode(400)
		return
	}
	s.mu.Lock()
	s.seen[m.ID]++
	s.bodies = append(s.bodies, m)
	s.mu.Unlock()
	s.total.Add(1)
	ctx.SetStatusCode(200)
	ctx.SetBodyString(`{"id":"sink-` + m.ID + `"}`)
}

func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// waitAll waits until every id reached the sink and returns how many arrived more than once.
func (s *sink) waitAll(t *testing.T, ids []string, limit time.Duration) (dups int) {
	t.Helper()
	missing := 0
	if !testutil.Until(limit, func() bool {
		missing = 0
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range ids {
			if s.seen[id] == 0 {
				missing++
			}
		}
		dups = 0
		for _, n := range s.seen {
			if n > 1 {
				dups += n - 1
			}
		}
		return missing == 0
	}) {
		t.Fatalf("%d of %d acknowledged messages never reached the sink", missing, len(ids))
	}
	return dups
}

const pipelineConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
max_body_bytes: 65536
retry: { max_attempts: {{ATTEMPTS}}, initial_backoff: 50ms, max_backoff: 200ms }
breaker: { window: 2s, consecutive_failures: 5, failure_ratio: 0.5, min_requests: 20, open_for: 500ms, half_open_probes: 2 }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - name: sink
    dialect: http
    receipts: open
    url: "http://{{SINK}}/messages"
    timeout: 2s
    max_conns: 32
  - name: backup
    dialect: http
    receipts: open
    url: "http://{{BACKUP}}/messages"
    timeout: 2s
    max_conns: 32
routes:
  - name: default
    match: {}
    upstreams: [{{UPSTREAMS}}]
`

type gatewayOpts struct {
	sink, backup *sink
	upstreams    string
	attempts     int
}

func gatewayConfig(t *testing.T, o gatewayOpts) (cfgPath, addr string) {
	t.Helper()
	dir := t.TempDir()
	addr = freeAddr(t)
	backup := o.backup
	if backup == nil {
		backup = o.sink
	}
	if o.upstreams == "" {
		o.upstreams = "sink"
	}
	if o.attempts == 0 {
		o.attempts = 10
	}
	cfg := strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", dir+"/data", "{{SINK}}", o.sink.addr,
		"{{BACKUP}}", backup.addr, "{{UPSTREAMS}}", o.upstreams, "{{ATTEMPTS}}", fmt.Sprint(o.attempts)).Replace(pipelineConfig)
	return writeConfig(t, dir, cfg), addr
}

var nativeAuth = map[string]string{"Authorization": "Bearer native-demo-token"}

func sendNative(addr, body string) (int, string) {
	return do("POST", "http://"+addr+"/gateway/v1/messages", nativeAuth, body)
}

func messageID(t *testing.T, body string) string {
	t.Helper()
	var a struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.ID == "" {
		t.Fatalf("answer has no id: %q", body)
	}
	return a.ID
}

// TestKillNineLosesNothing: clients send while the gateway is killed with SIGKILL; after a
// restart every message that got a 2xx reaches the sink at least once.
func TestKillNineLosesNothing(t *testing.T) {
	sk := startSink(t)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: sk})
	gw := startProc(t, addr, "serve", "-config", cfg)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, body := sendNative(addr, fmt.Sprintf(`{"to":"+55119%08d","text":"kill test %d-%d"}`, w*100000+i, w, i))
				if code == 202 {
					var a struct{ ID string }
					if json.Unmarshal([]byte(body), &a) == nil {
						mu.Lock()
						acked = append(acked, a.ID)
						mu.Unlock()
					}
				} else if code != 0 {
					return // the process is gone: connection errors
				}
			}
		}()
	}
	// Killed under load: while the clients send and the gateway sends on to the sink.
	testutil.WaitFor(t, 30*time.Second, "300 messages acknowledged and 100 at the sink under load", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 300 && sk.total.Load() >= 100
	})
	gw.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d messages acknowledged before the kill", len(acked))
	}
	startProc(t, addr, "serve", "-config", cfg)
	dups := sk.waitAll(t, acked, 60*time.Second)
	t.Logf("acknowledged %d before SIGKILL; all reached the sink after restart; %d duplicate deliveries", len(acked), dups)
}

// TestBadInputQueuesNothing: malformed, incomplete or oversize requests and a wrong admin
// token get a clear 4xx, and nothing is queued or sent.
func TestBadInputQueuesNothing(t *testing.T) {
	sk := startSink(t)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: sk})
	startProc(t, addr, "serve", "-config", cfg)
	cases := []struct {
		name, body string
		headers    map[string]string
		code       int
		says       string
	}{
		{"malformed JSON", `{"to": "972501234567", "text": `, nativeAuth, 400, "cannot parse"},
		{"missing to", `{"text":"hi"}`, nativeAuth, 400, `"field":"to"`},
		{"not a phone", `{"to":"hello","text":"hi"}`, nativeAuth, 400, `"field":"to"`},
		{"too short", `{"to":"12","text":"hi"}`, nativeAuth, 400, "too short"},
		{"no content", `{"to":"972501234567"}`, nativeAuth, 400, `"field":"text"`},
		{"unknown field", `{"to":"972501234567","text":"hi","colour":"red"}`, nativeAuth, 400, "colour"},
		{"local media path", `{"to":"972501234567","media":[{"url":"/etc/passwd"}]}`, nativeAuth, 400, "media.url"},
		{"wrong token", `{"to":"972501234567","text":"hi"}`, map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"no token", `{"to":"972501234567","text":"hi"}`, nil, 401, "unauthorized"},
		{"oversize body", `{"to":"972501234567","text":"` + strings.Repeat("x", 70000) + `"}`, nativeAuth, 413, "too_large"},
	}
	for _, c := range cases {
		code, body := do("POST", "http://"+addr+"/gateway/v1/messages", c.headers, c.body)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s: got %d %s; want %d saying %q", c.name, code, body, c.code, c.says)
		}
	}
	code, body := get("http://"+addr+"/admin/v1/queue", map[string]string{"Authorization": "Bearer wrong"})
	if code != 401 {
		t.Errorf("wrong admin token: got %d %s", code, body)
	}
	code, body = get("http://"+addr+"/admin/v1/queue", map[string]string{"Authorization": "Bearer admin-secret-token"})
	if code != 200 || !strings.Contains(body, `"depth":0`) {
		t.Errorf("queue after bad input: %d %s; want depth 0", code, body)
	}
	// Depth 0 counts in-flight messages too: one accepted would have reached the sink by now.
	if n := sk.total.Load(); n != 0 {
		t.Errorf("the sink received %d messages from bad input", n)
	}
}

// TestStatusHistoryAndIdempotency: a message's status API shows its history, and a repeated
// client_ref returns the original answer while a different message with it is a 409.
func TestStatusHistoryAndIdempotency(t *testing.T) {
	sk := startSink(t)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: sk})
	startProc(t, addr, "serve", "-config", cfg)
	code, body := sendNative(addr, `{"to":"+972 50-123-4567","text":"שלום","client_ref":"order-1"}`)
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	id := messageID(t, body)
	code, again := sendNative(addr, `{"to":"+972 50-123-4567","text":"שלום","client_ref":"order-1"}`)
	if code != 200 || messageID(t, again) != id {
		t.Errorf("repeat: %d %s; want 200 with id %s", code, again, id)
	}
	code, conflict := sendNative(addr, `{"to":"+972 50-123-4567","text":"other","client_ref":"order-1"}`)
	if code != 409 {
		t.Errorf("same client_ref, different message: %d %s; want 409", code, conflict)
	}
	sk.waitAll(t, []string{id}, 10*time.Second)
	var code2 int
	var st string
	if !testutil.Until(5*time.Second, func() bool {
		code2, st = get("http://"+addr+"/gateway/v1/messages/"+id, nativeAuth)
		return code2 == 200 && strings.Contains(st, `"status":"sent"`) && strings.Contains(st, `"upstream":"sink"`) &&
			strings.Contains(st, `"history"`) && strings.Contains(st, `"to":"972501234567"`)
	}) {
		t.Fatalf("status: %d %s", code2, st)
	}
	if n := sk.count(id); n != 1 {
		t.Errorf("sink got the message %d times", n)
	}
	code, _ = get("http://"+addr+"/gateway/v1/messages/"+id, map[string]string{"Authorization": "Bearer other"})
	if code != 401 {
		t.Errorf("status with a wrong token: %d", code)
	}
}
