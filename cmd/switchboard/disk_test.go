package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
)

// The full-disk test: data_dir on a small tmpfs, an upstream that fails (so nothing drains),
// 1.5 KB messages until the gateway refuses them.
const (
	diskSize = "64m"
	// diskReserve is queue.disk_reserve_bytes: half the tmpfs, as much as the messages that
	// fill the rest. Delivering them writes about 40% of what enqueueing them did (a finished
	// record, the feed, the indexes), and no space comes back meanwhile: all of it is in
	// Badger's first value-log file, which is 64 MiB and never complete, and GC reclaims
	// complete files only. The reserve must stay above its half, where sending pauses.
	diskReserve = 32 << 20
	textBytes   = 1500
	// fillClients send at once; fillMax and fillTime bound the whole fill (about 9,000
	// messages fit above the reserve, beside the journal's segments, which hold the latest
	// ones again until a checkpoint).
	fillClients = 16
	fillMax     = 60_000
	fillTime    = 2 * time.Minute
	// refusedFor is how long every send must have been refused for the disk to count as
	// full: longer than the queue's free-space readings (a second) apart, so that a refusal
	// on the queue's estimate alone is confirmed by a reading. refusedPause is a client's
	// wait after a refusal.
	refusedFor   = 3 * time.Second
	refusedPause = 100 * time.Millisecond
	// deliverTime bounds the delivery of everything acknowledged once the upstream is back.
	deliverTime = 3 * time.Minute
)

const diskConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
queue: { disk_reserve_bytes: {{RESERVE}} }
retry: { max_attempts: 1000, initial_backoff: 1s, max_backoff: 2s }
breaker: { window: 2s, consecutive_failures: 5, failure_ratio: 0.5, min_requests: 20, open_for: 1s, half_open_probes: 2 }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
    wavy: { username: "acme", token: "wavy-demo-token" }
upstreams:
  - name: sink
    dialect: http
    receipts: open
    url: "http://{{SINK}}/messages"
    timeout: 2s
routes:
  - name: default
    match: {}
    upstreams: [sink]
`

// mountTmpfs mounts a tmpfs of size on a new directory, unmounted when the test ends, or
// skips the test when this machine does not let it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %s tmpfs (needs root, or CAP_SYS_ADMIN in a container): %v %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// answer is one HTTP answer with the header the test reads.
type answer struct {
	code       int
	body       string
	retryAfter string
}

func request(method, url string, headers map[string]string, body string) answer {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.Header.SetContentType("application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		return answer{body: err.Error()}
	}
	return answer{resp.StatusCode(), string(resp.Body()), string(resp.Header.Peek("Retry-After"))}
}

// TestFullDisk: below the disk reserve new messages get "try later" (503 with Retry-After,
// in the dialect's shape) and the process lives; every acknowledged message is kept and
// answered for, /readyz, the metrics and the log say why, a restart on the full disk comes
// up the same way, and everything acknowledged is delivered once the upstream recovers.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, diskSize)
	sk := startSink(t)
	sk.fail.Store(503)
	addr := freeAddr(t)
	cfg := writeConfig(t, t.TempDir(), strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", mnt+"/data",
		"{{SINK}}", sk.addr, "{{RESERVE}}", fmt.Sprint(diskReserve)).Replace(diskConfig))
	gw := startProc(t, addr, "serve", "-config", cfg)

	acked, refusal := fillDisk(t, gw)
	df, _ := exec.Command("df", "-B1", mnt).CombinedOutput()
	t.Logf("%d messages acknowledged, then refused: %d %s (Retry-After %s)\n%s",
		len(acked), refusal.code, refusal.body, refusal.retryAfter, df)
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	checkLowDisk(t, gw, acked)
	if !strings.Contains(gw.output(), "queue disk below its reserve") {
		t.Errorf("no log line says the disk is below its reserve:\n%s", gw.output())
	}

	// A restart on the still-full disk comes up refusing new messages, with everything kept.
	gw.kill()
	gw = startProc(t, addr, "serve", "-config", cfg)
	checkLowDisk(t, gw, acked)

	sk.fail.Store(0)
	start := time.Now()
	for deadline := start.Add(deliverTime); ; time.Sleep(100 * time.Millisecond) {
		missing := 0
		for _, id := range acked {
			if sk.count(id) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			df, _ := exec.Command("df", "-B1", mnt).CombinedOutput()
			_, q := get("http://"+addr+"/admin/v1/queue", adminAuth)
			t.Fatalf("%d of %d acknowledged messages not delivered within %v; queue %s\n%s\n%s",
				missing, len(acked), deliverTime, q, df, tail(gw.output()))
		}
	}
	t.Logf("all %d acknowledged messages delivered in %v once the upstream recovered (%d sends)",
		len(acked), time.Since(start).Round(time.Millisecond), sk.total.Load())
	select {
	case <-gw.done:
		t.Fatalf("the gateway exited:\n%s", tail(gw.output()))
	default:
	}
}

// fillDisk sends 1.5 KB messages from fillClients clients until the gateway has refused every
// one for refusedFor, and returns the ids acknowledged and a refusal. Any other answer fails
// the test: a 500 is a message the gateway tried and failed to store, no answer a process
// that died.
func fillDisk(t *testing.T, gw *proc) (acked []string, refusal answer) {
	text := strings.Repeat("x", textBytes)
	var mu sync.Mutex
	var failure string
	lastAck := time.Now()
	var wg sync.WaitGroup
	deadline := time.Now().Add(fillTime)
	for c := range fillClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < fillMax/fillClients && time.Now().Before(deadline); i++ {
				a := request("POST", "http://"+gw.addr+"/gateway/v1/messages", nativeAuth,
					fmt.Sprintf(`{"to":"+9725%02d%06d","text":"%s"}`, c, i, text))
				mu.Lock()
				switch {
				case a.code == 202:
					var m struct{ ID string }
					if json.Unmarshal([]byte(a.body), &m) == nil && m.ID != "" {
						acked = append(acked, m.ID)
					}
					lastAck = time.Now()
				case a.code == 503:
					refusal = a
				case failure == "":
					failure = fmt.Sprintf("%d %s", a.code, a.body)
				}
				done := failure != "" || refusal.code != 0 && time.Since(lastAck) > refusedFor
				mu.Unlock()
				if done {
					return
				}
				if a.code != 202 {
					time.Sleep(refusedPause)
				}
			}
		}()
	}
	wg.Wait()
	if failure != "" {
		t.Fatalf("a send was answered %s:\n%s", failure, tail(gw.output()))
	}
	if refusal.code == 0 || time.Since(lastAck) < refusedFor {
		t.Fatalf("%d messages acknowledged, and the gateway did not refuse them for %v", len(acked), refusedFor)
	}
	if refusal.retryAfter == "" || !strings.Contains(refusal.body, `"unavailable"`) {
		t.Fatalf("refusal: %d %s (Retry-After %q); want the native 503 with Retry-After", refusal.code, refusal.body, refusal.retryAfter)
	}
	return acked, refusal
}

// checkLowDisk checks the gateway in low-disk mode: alive; new messages refused in each
// dialect's shape with Retry-After; /readyz, the metrics and the admin API answer; every
// acknowledged message is there.
func checkLowDisk(t *testing.T, gw *proc, acked []string) {
	t.Helper()
	base := "http://" + gw.addr
	if a := request("POST", base+"/gateway/v1/messages", nativeAuth, `{"to":"+972500000001","text":"one more"}`); a.code != 503 || a.retryAfter == "" {
		t.Fatalf("native send on a full disk: %d %s (Retry-After %q)", a.code, a.body, a.retryAfter)
	}
	a := request("POST", base+"/v1/send-sms", map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"},
		`{"destination":"5511900000000","messageText":"one more"}`)
	if a.code != 503 || a.retryAfter == "" || !strings.Contains(a.body, `"errorCode":503`) {
		t.Fatalf("Wavy send on a full disk: %d %s (Retry-After %q)", a.code, a.body, a.retryAfter)
	}
	if code, body := get(base+"/readyz", nil); code != 200 || !strings.Contains(body, "disk nearly full") {
		t.Fatalf("/readyz on a full disk: %d %s", code, body)
	}
	if code, body := get(base+"/metrics", nil); code != 200 || !strings.Contains(body, "\nswitchboard_queue_disk_low 1\n") {
		t.Fatalf("/metrics on a full disk: %d, switchboard_queue_disk_low not 1", code)
	}
	code, body := get(base+"/admin/v1/queue", adminAuth)
	var st struct{ Depth int64 }
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Depth != int64(len(acked)) {
		t.Fatalf("admin queue on a full disk: %d %s; want depth %d", code, body, len(acked))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var missing []string
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(acked); i += 8 {
				if code, body := get(base+"/gateway/v1/messages/"+acked[i], nativeAuth); code != 200 {
					mu.Lock()
					missing = append(missing, fmt.Sprintf("%s: %d %s", acked[i], code, body))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged messages not found, e.g. %s", len(missing), len(acked), missing[0])
	}
	select {
	case <-gw.done:
		t.Fatalf("the gateway exited:\n%s", tail(gw.output()))
	default:
	}
}

// tail is what of a process's log tells its death: from the Go runtime's fatal error or
// panic when there is one (a SIGBUS reads "unexpected fault address"), else the log's end.
func tail(s string) string {
	const keep = 4000
	for _, mark := range []string{"unexpected fault address", "fatal error:", "panic:"} {
		if i := strings.Index(s, mark); i >= 0 {
			return s[i:min(len(s), i+keep)]
		}
	}
	if len(s) > keep {
		return "..." + s[len(s)-keep:]
	}
	return s
}
