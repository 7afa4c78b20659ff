package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
	"switchboard/gateway/callbacks"
	"switchboard/internal/testutil"
)

// Delivery status both ways, with real processes: vendor simulators post receipts to the
// gateway's /receipts/{upstream}, and the gateway posts callbacks to a receiver in this
// test process, in the dialect each message came in with.

const receiptsConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 10, initial_backoff: 50ms, max_backoff: 200ms }
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length" }
callbacks: { timeout: 2s, max_attempts: 1000, initial_backoff: 50ms, max_backoff: 300ms, per_tenant: {{PER_TENANT}} }
tenants:
  - id: acme
    callbacks: { url: "{{CB}}/status", delivery_url: "{{CB}}/delivery", secret: "cb-secret" }
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key" }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
  - id: beta
    callbacks: { url: "{{CB}}/beta" }
    native: { token: "beta-token" }
upstreams:
  - { name: wavy-up, dialect: wavy, url: "{{WAVY}}", credentials: { username: acme, token: wavy-demo-token, receipt_token: wt } }
  - name: meta
    dialect: whatsappcloud
    url: "{{META}}"
    credentials: { token: cloud-demo-token, phone_number_id: "106540352242922", app_secret: app-secret, verify_token: vt }
  - name: mute
    dialect: whatsappcloud
    url: "{{MUTE}}"
    credentials: { token: cloud-demo-token, phone_number_id: "106540352242922", app_secret: app-secret }
  - { name: hook, dialect: http, url: "{{HOOK}}/messages", credentials: { bearer: cloud-demo-token, receipt_token: rt } }
routes:
  - { name: beta, match: { tenants: [beta] }, upstreams: [mute, hook], receipt_timeout: 1s }
  - { name: wavy, match: { dialects: [wavy] }, upstreams: [wavy-up] }
  - { name: meta, match: { dialects: [native, messageflow] }, upstreams: [meta] }
  - { name: rest, match: {}, upstreams: [hook] }
`

// cbReceiver is the tenants' callback endpoint, in this process. It can be down (nothing
// listens on its address) and slow.
type cbReceiver struct {
	t     *testing.T
	addr  string
	delay atomic.Int64
	mu    sync.Mutex
	srv   *fasthttp.Server
	got   []cbGot
}

type cbGot struct {
	path, key, sig string
	body           []byte
}

// newReceiver reserves an address; up starts listening on it.
func newReceiver(t *testing.T) *cbReceiver {
	r := &cbReceiver{t: t, addr: freeAddr(t)}
	t.Cleanup(r.down)
	return r
}

func (r *cbReceiver) url() string { return "http://" + r.addr }

func (r *cbReceiver) up() {
	var ln net.Listener
	var err error
	if !testutil.Until(2*time.Second, func() bool { // the address may take a moment to be free again
		ln, err = net.Listen("tcp", r.addr)
		return err == nil
	}) {
		r.t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		time.Sleep(time.Duration(r.delay.Load()))
		r.mu.Lock()
		r.got = append(r.got, cbGot{path: string(ctx.Path()), key: string(ctx.Request.Header.Peek("Idempotency-Key")),
			sig: string(ctx.Request.Header.Peek(callbacks.SignatureHeader)), body: append([]byte(nil), ctx.PostBody()...)})
		r.mu.Unlock()
	}}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

func (r *cbReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
	}
}

func (r *cbReceiver) all() []cbGot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitUnique waits until n distinct callbacks (by Idempotency-Key) arrived and, when given
// the gateways that post them, until they count every callback the receiver took as
// delivered (waitSettled); it returns them all.
func (r *cbReceiver) waitUnique(n int, limit time.Duration, gateways ...string) []cbGot {
	r.t.Helper()
	keys := map[string]bool{}
	if !testutil.Until(limit, func() bool {
		clear(keys)
		for _, g := range r.all() {
			keys[g.key] = true
		}
		return len(keys) >= n
	}) {
		r.t.Fatalf("%d of %d callbacks within %v", len(keys), n, limit)
	}
	if len(gateways) > 0 {
		r.waitSettled(limit, gateways...)
	}
	return r.all()
}

// callbacksDelivered is the metric a gateway counts each callback the receiver took with.
const callbacksDelivered = `switchboard_callbacks_total{result="delivered"}`

// waitSettled waits until the gateways together count as delivered as many callbacks as
// the receiver took. One it took that they do not count is in flight, or was taken
// although the gateway saw it fail (a timeout), and is posted again: a duplicate, which
// keeps the counts apart and fails the wait.
func (r *cbReceiver) waitSettled(limit time.Duration, gateways ...string) {
	r.t.Helper()
	var took, counted int
	if !testutil.Until(limit, func() bool {
		took, counted = len(r.all()), 0
		for _, gw := range gateways {
			counted += int(metric(r.t, gw, callbacksDelivered))
		}
		return counted == took
	}) {
		r.t.Fatalf("the receiver took %d callbacks, the gateways count %d delivered", took, counted)
	}
}

// metric is the value of a counter or gauge in the gateway's /metrics (0 when absent).
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	code, body := get("http://"+addr+"/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// byMessage groups native callbacks by message id: their statuses in arrival order.
func byMessage(t *testing.T, gs []cbGot) map[string][]canonical.Status {
	t.Helper()
	out := map[string][]canonical.Status{}
	for _, g := range gs {
		var s callbacks.Status
		if err := json.Unmarshal(g.body, &s); err != nil || s.ID == "" {
			t.Fatalf("%s callback %s: %v", g.path, g.body, err)
		}
		out[s.ID] = append(out[s.ID], s.Status)
	}
	return out
}

func onPath(gs []cbGot, path string) []cbGot {
	var out []cbGot
	for _, g := range gs {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

// receiptsGateway starts the simulators (posting receipts to the gateway) and the gateway.
func receiptsGateway(t *testing.T, cb *cbReceiver, perTenant string) (gw *proc, cfg, addr string) {
	t.Helper()
	addr = freeAddr(t)
	to := func(up string) string { return "http://" + addr + "/receipts/" + up }
	wavySim := startSim(t, "wavy", "-receipts", to("wavy-up"), "-receipt-token", "wt")
	meta := startSim(t, "whatsappcloud", "-receipts", to("meta"), "-app-secret", "app-secret")
	mute := startSim(t, "whatsappcloud", "-receipts", to("mute"), "-app-secret", "app-secret", "-receipts-final", "none")
	hook := startSim(t, "http", "-receipts", to("hook"), "-receipt-token", "rt")
	dir := t.TempDir()
	cfg = writeConfig(t, dir, fillConfig(receiptsConfig, "ADDR", addr, "DATA", dir+"/data", "CB", cb.url(),
		"WAVY", wavySim.base, "META", meta.base, "MUTE", mute.base, "HOOK", hook.base, "PER_TENANT", perTenant))
	return startProc(t, addr, "serve", "-config", cfg), cfg, addr
}

func idOf(t *testing.T, what string, code int, body string) string {
	t.Helper()
	var a struct{ ID string }
	json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSuffix(body, "]"), "[")), &a)
	if code != 200 && code != 202 || a.ID == "" {
		t.Fatalf("%s: %d %s", what, code, body)
	}
	return a.ID
}

// byTo groups native callbacks by recipient: their statuses in arrival order, and the
// upstream of each.
func byTo(t *testing.T, gs []cbGot) (map[string][]canonical.Status, map[string][]string) {
	t.Helper()
	sts, ups := map[string][]canonical.Status{}, map[string][]string{}
	for _, g := range gs {
		var s callbacks.Status
		if err := json.Unmarshal(g.body, &s); err != nil || s.To == "" {
			t.Fatalf("%s callback %s: %v", g.path, g.body, err)
		}
		sts[s.To] = append(sts[s.To], s.Status)
		ups[s.To] = append(ups[s.To], s.Upstream)
	}
	return sts, ups
}

// TestReceiptsAndCallbacksEveryDialect: a message in each dialect goes to a simulator that
// posts receipts back; each status reaches the tenant once, in order, in the message's own
// dialect (Wavy's callbacks for Wavy, the native JSON signed for the others); the status
// APIs show the receipts; a message whose receipt does not come in time is resent through
// the route's next upstream.
func TestReceiptsAndCallbacksEveryDialect(t *testing.T) {
	cb := newReceiver(t)
	cb.up()
	_, _, addr := receiptsGateway(t, cb, "8")
	base := "http://" + addr
	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	code, body := do("POST", base+"/v1/send-sms", wavyAuth,
		`{"destination":"5511900000001","messageText":"oi","correlationId":"client-corr-1","extraInfo":"camp-7"}`)
	wavyID := idOf(t, "wavy", code, body)
	code, body = sendNative(addr, `{"to":"+5511900000002","text":"hi","client_ref":"n-1"}`)
	nativeID := idOf(t, "native", code, body)
	code, body = do("POST", base+"/add_message", nil, `{"UUID":"6a708fea-a4d0-4976-a180-9f3bdd3de52e","ToMobileNumber":"972501110001","Message":"shalom"}`)
	expect(t, "messageflow", code, body, 200, `"success":true`)
	code, body = do("POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", nil, `{"from":"908503080335","to":"972501110002","message":"hi"}`)
	expect(t, "multiwhats", code, body, 200, `"status":"done"`)
	code, body = do("POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`)
	var tok struct{ AccessToken string }
	json.Unmarshal([]byte(body), &tok)
	code, body = do("POST", base+"/api/webhook/outbound", map[string]string{"Authorization": "Bearer " + tok.AccessToken},
		`{"phone":"+972501110003","flowId":"f-1"}`)
	expect(t, "flowbot", code, body, 200, `"success":true`)
	code, body = do("POST", base+"/gateway/v1/messages", map[string]string{"Authorization": "Bearer beta-token"}, `{"to":"+5511900000009","text":"resend me"}`)
	idOf(t, "beta", code, body)

	gs := cb.waitUnique(2+4*2+3, 30*time.Second, addr)
	keys := map[string]int{}
	for _, g := range gs {
		if keys[g.key]++; keys[g.key] > 1 {
			t.Errorf("callback %s came twice", g.key)
		}
	}
	var native, wavySent []cbGot
	for _, g := range onPath(gs, "/status") {
		if g.sig != callbacks.Sign(g.body, []byte("cb-secret")) {
			t.Errorf("callback not signed with the tenant's secret: %s %s", g.sig, g.body)
		}
		if strings.Contains(string(g.body), `"sentStatusCode"`) {
			wavySent = append(wavySent, g)
		} else {
			native = append(native, g)
		}
	}
	sts, _ := byTo(t, native)
	want := []canonical.Status{canonical.StatusSent, canonical.StatusDelivered}
	for _, to := range []string{"5511900000002", "972501110001", "972501110002", "972501110003"} {
		if !slices.Equal(sts[to], want) {
			t.Errorf("callbacks for %s: %v, want %v", to, sts[to], want)
		}
	}
	if len(sts) != 4 {
		t.Errorf("native callbacks for %d recipients, want 4: %v", len(sts), sts)
	}
	var sent, dlr struct {
		ID, CorrelationID, ExtraInfo        string
		SentStatusCode, DeliveredStatusCode *int
	}
	delivery := onPath(gs, "/delivery")
	if len(wavySent) != 1 || len(delivery) != 1 || json.Unmarshal(wavySent[0].body, &sent) != nil || json.Unmarshal(delivery[0].body, &dlr) != nil {
		t.Fatalf("wavy callbacks: %d sent, %d delivery", len(wavySent), len(delivery))
	}
	if sent.ID != wavyID || sent.CorrelationID != "client-corr-1" || sent.ExtraInfo != "camp-7" || *sent.SentStatusCode != 2 || sent.DeliveredStatusCode != nil ||
		dlr.ID != wavyID || *dlr.DeliveredStatusCode != 4 || *dlr.SentStatusCode != 2 {
		t.Errorf("wavy callbacks:\n%s\n%s", wavySent[0].body, delivery[0].body)
	}
	bsts, bups := byTo(t, onPath(gs, "/beta"))
	if !slices.Equal(bsts["5511900000009"], []canonical.Status{canonical.StatusSent, canonical.StatusSent, canonical.StatusDelivered}) ||
		!slices.Equal(bups["5511900000009"], []string{"mute", "hook", "hook"}) {
		t.Errorf("resent message's callbacks: %v via %v", bsts, bups)
	}

	// The status records behind the status APIs follow the receipts.
	code, body = get(base+"/gateway/v1/messages/"+nativeID, nativeAuth)
	expect(t, "native status", code, body, 200, `"status":"delivered"`)
	code, body = do("POST", base+"/v1/sms/status/search", wavyAuth, `{"ids":["`+wavyID+`"]}`)
	expect(t, "wavy status", code, body, 200, `"deliveredStatusCode":4`)
	t.Logf("receipts: %d callbacks, %d distinct", len(gs), len(keys))
}

// TestReceiptEndpoints: the handshake, signatures, tokens and bodies that are refused or
// ignored, each answered as the vendor expects, with nothing recorded.
func TestReceiptEndpoints(t *testing.T) {
	cb := newReceiver(t)
	_, _, addr := receiptsGateway(t, cb, "8")
	base := "http://" + addr + "/receipts/"
	code, body := get(base+"meta?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=c123", nil)
	expect(t, "handshake", code, body, 200, "c123")
	code, body = get(base+"meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=c123", nil)
	expect(t, "handshake with a wrong token", code, body, 403, "verification failed")
	code, body = get(base+"mute?hub.mode=subscribe&hub.verify_token=&hub.challenge=c123", nil)
	expect(t, "handshake without a verify_token", code, body, 403, "verification failed")

	unknown := whatsappcloud.AppendStatusWebhook(nil, "106540352242922", []whatsappcloud.Status{
		{MessageID: "wamid.nope", RecipientID: "5511900000001", Status: canonical.StatusDelivered, At: time.Now()}})
	sign := func(b []byte) map[string]string {
		return map[string]string{"X-Hub-Signature-256": whatsappcloud.Signature(b, []byte("app-secret"))}
	}
	code, body = do("POST", base+"meta", map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}, string(unknown))
	expect(t, "bad signature", code, body, 401, "invalid signature")
	code, body = do("POST", base+"meta", nil, string(unknown))
	expect(t, "no signature", code, body, 401, "invalid signature")
	code, body = do("POST", base+"meta", sign(unknown), string(unknown))
	expect(t, "unknown wamid", code, body, 200, `"unknown":1`)
	code, body = do("POST", base+"meta", sign([]byte(`{"object":`)), `{"object":`)
	expect(t, "malformed webhook", code, body, 200, `"recorded":0`)

	rt := map[string]string{"Authorization": "Bearer rt"}
	code, body = do("POST", base+"hook", nil, `{"id":"x","status":"delivered"}`)
	expect(t, "no receipt token", code, body, 401, "receipt token")
	code, body = do("POST", base+"hook?token=rt", nil, `{"id":"x","status":"delivered"}`)
	expect(t, "unknown id, token in the query", code, body, 200, `"unknown":1`)
	code, body = do("POST", base+"hook", rt, `{"id":"x","status":"queued"}`)
	expect(t, "bad status", code, body, 400, "status")
	code, body = do("POST", base+"wavy-up", nil, `{"id":"v-1","correlationId":"nope","sentStatusCode":2}`)
	expect(t, "wavy without its receipt token", code, body, 401, "receipt token")
	code, body = do("POST", base+"wavy-up?token=wt", nil, `{"id":"v-1","correlationId":"nope","sentStatusCode":2}`)
	expect(t, "wavy unknown", code, body, 200, `"unknown":1`)
	code, body = do("POST", base+"wavy-up?token=wt", nil, `not json`)
	expect(t, "wavy malformed", code, body, 400, "cannot parse")
	code, body = do("POST", base+"nope", nil, `{}`)
	expect(t, "unknown upstream", code, body, 404, "nope")
	code, body = get("http://"+addr+"/admin/v1/callbacks/dead", adminAuth)
	expect(t, "dead callbacks", code, body, 200, `"dead":[]`)
	code, body = get("http://"+addr+"/metrics", nil)
	expect(t, "metrics", code, body, 200, `switchboard_receipts_total{upstream="meta",result="unauthorized"} 2`)
}

// sendN sends n native messages through meta (receipts: sent, delivered) and returns their
// ids and recipients.
func sendN(t *testing.T, addr string, n int) (ids, tos []string) {
	t.Helper()
	for i := range n {
		to := fmt.Sprintf("5511900%06d", i)
		code, body := sendNative(addr, `{"to":"+`+to+`","text":"hi"}`)
		ids = append(ids, idOf(t, "native", code, body))
		tos = append(tos, to)
	}
	return ids, tos
}

// checkOnceInOrder checks that each recipient got sent then delivered, each once, and
// returns how many callbacks came more than once.
func checkOnceInOrder(t *testing.T, gs []cbGot, tos []string) (dups int) {
	t.Helper()
	seen := map[string]bool{}
	var first []cbGot
	for _, g := range gs {
		if seen[g.key] {
			dups++
			continue
		}
		seen[g.key] = true
		first = append(first, g)
	}
	sts, _ := byTo(t, first)
	for _, to := range tos {
		if !slices.Equal(sts[to], []canonical.Status{canonical.StatusSent, canonical.StatusDelivered}) {
			t.Errorf("callbacks for %s: %v, want sent, delivered", to, sts[to])
		}
	}
	return dups
}

// TestCallbacksReceiverDown: while the callback receiver is down, messages are sent and
// their receipts recorded as usual; once it is back it gets every callback, once, in order.
func TestCallbacksReceiverDown(t *testing.T) {
	cb := newReceiver(t) // down
	const perTenant = 8  // callbacks in flight at a time
	_, _, addr := receiptsGateway(t, cb, strconv.Itoa(perTenant))
	start := time.Now()
	ids, tos := sendN(t, addr, 10)
	// Sending and receipts go on meanwhile: nothing waits for the receiver.
	for _, id := range ids {
		var st messageState
		if !testutil.Until(20*time.Second-time.Since(start), func() bool {
			st = waitFinal(t, addr, []string{id}, 10*time.Second)[id]
			return st.Status == canonical.StatusDelivered
		}) {
			t.Fatalf("message %s is %s while the receiver is down", id, st.Status)
		}
	}
	// The gateway keeps trying: the callbacks in flight refused, and refused again.
	testutil.WaitFor(t, 20*time.Second, "callbacks refused and tried again", func() bool {
		return metric(t, addr, `switchboard_callbacks_total{result="failed"}`) >= 2*perTenant
	})
	cb.up()
	gs := cb.waitUnique(20, 20*time.Second, addr)
	if dups := checkOnceInOrder(t, gs, tos); dups != 0 {
		t.Errorf("%d callbacks came twice", dups)
	}
}

// TestCallbacksSurviveKill: a kill -9 of the gateway while callbacks are being posted loses
// none; the restarted gateway posts the rest. Duplicates (at-least-once across a crash) are
// reported.
func TestCallbacksSurviveKill(t *testing.T) {
	cb := newReceiver(t)
	cb.delay.Store(int64(25 * time.Millisecond))
	cb.up()
	gw, cfg, addr := receiptsGateway(t, cb, "1")
	const n = 30
	_, tos := sendN(t, addr, n)
	if !testutil.Until(20*time.Second, func() bool { return len(cb.all()) >= n/2 }) {
		t.Fatalf("%d callbacks before the kill", len(cb.all()))
	}
	gw.kill()
	before := len(cb.all())
	if before >= 2*n {
		t.Fatalf("every callback went out before the kill (%d): the test proves nothing", before)
	}
	gw = startProc(t, addr, "serve", "-config", cfg)
	cb.waitUnique(2*n, 30*time.Second)
	// Stopped, the gateway posts nothing more: the count of repeats is final.
	if err := gw.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	gs := cb.all()
	dups := checkOnceInOrder(t, gs, tos)
	t.Logf("kill -9 after %d of %d callbacks: none lost, %d posted twice", before, 2*n, dups)
}
