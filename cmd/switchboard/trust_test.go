package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// Trust on the bad day, with real processes: forged receipts, a vendor whose credentials
// expired, and a vendor whose 2xx cannot be read.

const forgedConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
tenants:
  - id: acme
    wavy:   { username: acme, token: wavy-demo-token }
    native: { token: "native-demo-token" }
upstreams:
  - { name: wavy-up, dialect: wavy, url: "{{WAVY}}", credentials: { username: acme, token: wavy-demo-token, receipt_token: wt } }
  - { name: backup, dialect: http, receipts: open, url: "http://{{SINK}}/messages" }
routes:
  - { name: wavy, match: { dialects: [wavy] }, upstreams: [wavy-up, backup] }
  - { name: rest, match: {}, upstreams: [backup] }
`

// TestForgedReceiptMovesNothing: a receipt posted to an upstream that did not send the
// message (an open one, or an authenticated one) moves nothing, and is answered exactly as
// one for an id that does not exist; the Wavy client's status search shows what it showed.
// The upstream that sent the message still moves it.
func TestForgedReceiptMovesNothing(t *testing.T) {
	wavySim := startSim(t, "wavy") // posts no receipts: the message stays sent
	sk := startSink(t)
	addr, dir := freeAddr(t), t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(forgedConfig, "ADDR", addr, "DATA", dir+"/data", "WAVY", wavySim.base, "SINK", sk.addr))
	startProc(t, addr, "serve", "-config", cfg)
	base := "http://" + addr

	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	code, body := do("POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511900000001","messageText":"hi"}`)
	wavyID := idOf(t, "wavy send", code, body)
	code, body = sendNative(addr, `{"to":"+5511900000002","text":"hi"}`)
	nativeID := idOf(t, "native send", code, body)
	st := waitFinal(t, addr, []string{wavyID, nativeID}, 20*time.Second)
	if st[wavyID].Status != canonical.StatusSent || st[wavyID].Upstream != "wavy-up" || st[nativeID].Upstream != "backup" {
		t.Fatalf("before any receipt: %+v", st)
	}
	search := func() string {
		code, body := do("POST", base+"/v1/sms/status/search", wavyAuth, `{"ids":["`+wavyID+`"]}`)
		if code != 200 || !strings.Contains(body, wavyID) {
			t.Fatalf("wavy status search: %d %s", code, body)
		}
		return body
	}
	before := search()

	// The reproduction: an upstream without a receipt token, posting for another's message.
	code, forged := do("POST", base+"/receipts/backup", nil, `{"id":"`+wavyID+`","status":"failed"}`)
	expect(t, "forged receipt", code, forged, 200, `"recorded":0`)
	code, none := do("POST", base+"/receipts/backup", nil, `{"id":"`+canonical.NewID()+`","status":"failed"}`)
	if code != 200 || none != forged {
		t.Errorf("another upstream's message is answered %q, an id that does not exist %d %q", forged, code, none)
	}
	// Authenticated, but not the upstream that sent it.
	code, body = do("POST", base+"/receipts/wavy-up?token=wt", nil,
		`{"id":"w-1","correlationId":"`+nativeID+`","sentStatusCode":2,"deliveredStatusCode":104}`)
	expect(t, "receipt from the upstream that did not send it", code, body, 200, `"unknown":1`)

	if after := search(); after != before || strings.Contains(after, "NOT_DELIVERED") {
		t.Errorf("the Wavy status search changed after forged receipts:\nbefore %s\nafter  %s", before, after)
	}
	for id, want := range map[string]string{wavyID: "wavy-up", nativeID: "backup"} {
		_, body = get(base+"/gateway/v1/messages/"+id, nativeAuth)
		var m messageState
		if json.Unmarshal([]byte(body), &m) != nil || m.Status != canonical.StatusSent || m.Upstream != want {
			t.Errorf("message %s after forged receipts: %s", id, body)
		}
	}

	// The upstream that sent it still moves it.
	code, body = do("POST", base+"/receipts/wavy-up", map[string]string{"Authorization": "Bearer wt"},
		`{"id":"w-2","correlationId":"`+wavyID+`","sentStatusCode":2,"deliveredStatusCode":4}`)
	expect(t, "the sender's receipt", code, body, 200, `"recorded":1`)
	_, body = get(base+"/gateway/v1/messages/"+wavyID, nativeAuth)
	if !strings.Contains(body, `"status":"delivered"`) {
		t.Errorf("the sender's receipt did not move the message: %s", body)
	}
}

const openReceiptsConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
tenants:
  - { id: acme, native: { token: "native-demo-token" } }
upstreams:
  - name: hook
    dialect: http
    url: "http://127.0.0.1:1/messages"
{{RECEIPTS}}
routes:
  - { name: r, match: {}, upstreams: [hook] }
`

// TestCheckRefusesOpenReceipts: an upstream whose receipts endpoint would take anything from
// anyone is refused by check and by serve, unless it says receipts: open, which check and
// the gateway's start warn about.
func TestCheckRefusesOpenReceipts(t *testing.T) {
	bin := buildBinary(t)
	write := func(receipts string) (path, addr string) {
		dir := t.TempDir()
		addr = freeAddr(t)
		return writeConfig(t, dir, fillConfig(openReceiptsConfig, "ADDR", addr, "DATA", dir+"/data", "RECEIPTS", receipts)), addr
	}
	unsaid, _ := write("")
	out, err := exec.Command(bin, "check", "-config", unsaid).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "upstreams[0].credentials.receipt_token: is required") {
		t.Fatalf("check of an upstream with open receipts: %v\n%s", err, out)
	}
	refused := startProc(t, "", "serve", "-config", unsaid)
	testutil.WaitFor(t, 15*time.Second, "serve to refuse", refused.exited)
	if refused.cmd.ProcessState.Success() || !strings.Contains(refused.output(), "receipt_token") {
		t.Fatalf("serve took an upstream with open receipts:\n%s", refused.output())
	}

	open, addr := write("    receipts: open")
	out, err = exec.Command(bin, "check", "-config", open).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warning: "+open+":11: upstreams[0].receipts: receipts posted to /receipts/hook are taken unauthenticated") ||
		!strings.HasSuffix(string(out), "ok\n") {
		t.Fatalf("check with receipts: open: %v\n%s", err, out)
	}
	gw := startProc(t, addr, "serve", "-config", open)
	if !testutil.Until(5*time.Second, func() bool {
		return regexp.MustCompile(`"msg":"receipts are taken unauthenticated[^"]*","upstream":"hook"`).MatchString(gw.output())
	}) {
		t.Errorf("no warning at start:\n%s", gw.output())
	}

	token, _ := write("    credentials: { receipt_token: rt }")
	if out, err = exec.Command(bin, "check", "-config", token).CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Errorf("check with a receipt token: %v\n%s", err, out)
	}
}

// TestVendorUnauthorizedFailsOver: an upstream answering 401 (its credentials expired) opens
// its breaker and its messages fail over to the next upstream, every one sent there.
func TestVendorUnauthorizedFailsOver(t *testing.T) {
	primary, backup := startSink(t), startSink(t)
	primary.fail.Store(401)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: primary, backup: backup, upstreams: "sink, backup", attempts: 3})
	gw := startProc(t, addr, "serve", "-config", cfg)
	ids := sendMany(t, addr, 20, "expired")
	backup.waitAll(t, ids, 30*time.Second)
	for id, st := range waitFinal(t, addr, ids, 20*time.Second) {
		if st.Status != canonical.StatusSent || st.Upstream != "backup" {
			t.Errorf("message %s: %s through %q (%s), want sent through the backup", id, st.Status, st.Upstream, st.LastError)
		}
	}
	if ups := adminUpstreams(t, addr); ups["sink"].Failed != 0 || ups["sink"].Retried < 5 {
		t.Errorf("the 401s did not count against the upstream: %+v", ups["sink"])
	}
	opened := regexp.MustCompile(`"msg":"circuit breaker changed state","upstream":"sink","from":"closed","to":"open"`)
	if !testutil.Until(5*time.Second, func() bool { return opened.MatchString(gw.output()) }) {
		t.Errorf("the sink's breaker did not open:\n%s", gw.output())
	}
}

// TestVendorUnauthorizedDeadThenReplayed: with no other upstream, messages an upstream
// answers 401 end dead-lettered once their attempts run out, and once the upstream is fixed
// the admin replay sends them.
func TestVendorUnauthorizedDeadThenReplayed(t *testing.T) {
	sk := startSink(t)
	sk.fail.Store(401)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: sk, attempts: 2})
	startProc(t, addr, "serve", "-config", cfg)
	ids := sendMany(t, addr, 8, "expired")
	for id, st := range waitFinal(t, addr, ids, 40*time.Second) {
		if st.Status != canonical.StatusDead || st.Attempts != 2 {
			t.Fatalf("message %s: %s after %d attempts (%s), want dead after 2", id, st.Status, st.Attempts, st.LastError)
		}
	}
	sk.fail.Store(0) // the credentials are renewed
	for _, id := range ids {
		if code, body := do("POST", "http://"+addr+"/admin/v1/dead/"+id+"/replay", adminAuth, ""); code != 200 {
			t.Fatalf("replay %s: %d %s", id, code, body)
		}
	}
	sk.waitAll(t, ids, 30*time.Second)
	for id, st := range waitFinal(t, addr, ids, 20*time.Second) {
		if st.Status != canonical.StatusSent {
			t.Errorf("replayed message %s: %s", id, st.Status)
		}
	}
}

// TestVendorValidationErrorFailsAtOnce: the vendor's validation error (422) fails the
// message after one attempt, without failing over or counting against the upstream.
func TestVendorValidationErrorFailsAtOnce(t *testing.T) {
	primary, backup := startSink(t), startSink(t)
	primary.fail.Store(422)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: primary, backup: backup, upstreams: "sink, backup", attempts: 3})
	startProc(t, addr, "serve", "-config", cfg)
	ids := sendMany(t, addr, 5, "invalid")
	for id, st := range waitFinal(t, addr, ids, 20*time.Second) {
		if st.Status != canonical.StatusFailed || st.Attempts != 1 || st.Upstream != "sink" {
			t.Errorf("message %s: %s after %d attempts through %q, want failed after 1 through sink", id, st.Status, st.Attempts, st.Upstream)
		}
	}
	if n := backup.total.Load(); n != 0 {
		t.Errorf("%d messages failed over to the backup", n)
	}
	if ups := adminUpstreams(t, addr); ups["sink"].Failed != 5 || ups["sink"].Retried != 0 || ups["sink"].Breaker != "closed" {
		t.Errorf("the sink after validation errors: %+v", ups["sink"])
	}
}

// rawVendor answers every request 200 with a body the gateway cannot read: over its 1 MiB
// limit ("big"), or a byte at a time past its timeout ("trickle"). It counts the requests
// per message id.
type rawVendor struct {
	addr string
	mode string
	mu   sync.Mutex
	seen map[string]int
}

// Its answers' shapes.
const (
	bigBody       = 2 << 20
	trickleBytes  = 40
	trickleEvery  = 100 * time.Millisecond
	rawReadLimit  = 1 << 20
	rawMaxRequest = 1000
)

func startRawVendor(t *testing.T, mode string) *rawVendor {
	t.Helper()
	ln := testutil.Listen(t)
	v := &rawVendor{addr: ln.Addr().String(), mode: mode, seen: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for range rawMaxRequest {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { v.serve(conn) })
		}
	})
	return v
}

func (v *rawVendor) serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for range rawMaxRequest {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		var m struct {
			ID string `json:"id"`
		}
		body, _ := io.ReadAll(io.LimitReader(req.Body, rawReadLimit))
		json.Unmarshal(body, &m)
		v.mu.Lock()
		v.seen[m.ID]++
		v.mu.Unlock()
		switch v.mode {
		case "big":
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"id\":\"", bigBody)
			conn.Write(make([]byte, bigBody-7)) // fails once the gateway stops reading
			return
		default:
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", trickleBytes)
			for range trickleBytes {
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
				time.Sleep(trickleEvery) // the trickle itself, not a wait on a condition
			}
			return
		}
	}
}

func (v *rawVendor) counts() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.seen))
	for k, n := range v.seen {
		out[k] = n
	}
	return out
}

const unreadConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms }
tenants:
  - { id: acme, native: { token: "native-demo-token" } }
upstreams:
  - { name: big, dialect: http, receipts: open, url: "http://{{BIG}}/messages", timeout: 500ms, max_conns: 8 }
  - { name: trickle, dialect: http, receipts: open, url: "http://{{TRICKLE}}/messages", timeout: 500ms, max_conns: 8 }
routes:
  - { name: big, match: { to_prefixes: ["4411"] }, upstreams: [big] }
  - { name: trickle, match: {}, upstreams: [trickle] }
`

// TestUnreadable2xxSentOnce: a 2xx whose body is over the client's limit, or trickles past
// the timeout, is the vendor's: each message is recorded sent after exactly one request, and
// the lost vendor ids are counted.
func TestUnreadable2xxSentOnce(t *testing.T) {
	big, trickle := startRawVendor(t, "big"), startRawVendor(t, "trickle")
	addr, dir := freeAddr(t), t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(unreadConfig, "ADDR", addr, "DATA", dir+"/data", "BIG", big.addr, "TRICKLE", trickle.addr))
	gw := startProc(t, addr, "serve", "-config", cfg)
	const n = 10
	var bigIDs, trickleIDs []string
	for i := range n {
		code, body := sendNative(addr, fmt.Sprintf(`{"to":"+441100000%03d","text":"big %d"}`, i, i))
		bigIDs = append(bigIDs, idOf(t, "send", code, body))
		code, body = sendNative(addr, fmt.Sprintf(`{"to":"+5511900000%03d","text":"trickle %d"}`, i, i))
		trickleIDs = append(trickleIDs, idOf(t, "send", code, body))
	}
	for _, c := range []struct {
		v   *rawVendor
		ids []string
	}{{big, bigIDs}, {trickle, trickleIDs}} {
		sts := waitFinal(t, addr, c.ids, 60*time.Second)
		seen := c.v.counts()
		for _, id := range c.ids {
			if st := sts[id]; st.Status != canonical.StatusSent || st.Attempts != 1 || seen[id] != 1 {
				t.Errorf("%s message %s: %s after %d attempts, %d requests (%s); want sent after one",
					c.v.mode, id, st.Status, st.Attempts, seen[id], st.LastError)
			}
		}
	}
	_, metrics := get("http://"+addr+"/metrics", nil)
	for _, up := range []string{"big", "trickle"} {
		if !regexp.MustCompile(`(?m)^switchboard_upstream_unread_answers_total\{upstream="` + up + `"\} ` + fmt.Sprint(n) + `$`).MatchString(metrics) {
			t.Errorf("unread answers of %s not counted:\n%s", up, grepLines(metrics, "unread"))
		}
	}
	if !strings.Contains(gw.output(), "answer could not be read") {
		t.Errorf("no log line for the lost vendor ids")
	}
}
