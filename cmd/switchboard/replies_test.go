package main

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
	"switchboard/gateway/callbacks"
	"switchboard/gateway/queue/queuetest"
	"switchboard/internal/testutil"
)

// Replies, with real processes: a recipient's reply posted to /receipts/{upstream} reaches
// the tenant that owns the line, linked to the message it answers, at least once, across a
// kill -9 of the gateway.

// repliesHead starts the replies tests' configs: quick retries and callbacks.
const repliesHead = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 10, initial_backoff: 50ms, max_backoff: 200ms }
callbacks: { timeout: 2s, max_attempts: 1000, initial_backoff: 50ms, max_backoff: 300ms }
`

const repliesConfig = repliesHead + `tenants:
  - id: acme
    callbacks: { secret: "cb-secret" }
    replies: { url: "{{CB}}/replies" }
    native: { token: "native-demo-token" }
  - id: beta
    replies: { url: "{{CB}}/beta" }
    native: { token: "beta-token" }
upstreams:
  - name: hook
    dialect: http
    url: "{{HOOK}}/messages"
    credentials: { bearer: cloud-demo-token, receipt_token: rt }
    replies: { lines: { "5511000": acme, "5511001": beta } }
routes:
  - { name: all, match: {}, upstreams: [hook] }
`

// replyGot is a reply in Switchboard's reply JSON, as a client receives it.
type replyGot struct {
	Type, ID, From, Line, Kind, Text string
	MessageID                        string `json:"message_id"`
	ClientRef                        string `json:"client_ref"`
	FlowID                           string `json:"flow_id"`
	Pick                             *struct {
		ID, Title string
		Index     int
	}
}

func parseReply(t *testing.T, b []byte) replyGot {
	t.Helper()
	var r replyGot
	if err := json.Unmarshal(b, &r); err != nil || r.Type != "reply" {
		t.Fatalf("not a reply: %s (%v)", b, err)
	}
	return r
}

// TestReplyKill9: a reply the gateway answered 200 for is delivered after a kill -9, even
// though the tenant's receiver was down until then; it is linked to the message it answers
// (our id and the client's ref), signed, shown in that message's status history and
// pullable at GET /gateway/v1/replies. A reply on a line no tenant owns is refused and
// delivered to no one; a reply that names another tenant's message is not linked to it.
func TestReplyKill9(t *testing.T) { testReplyKill9(t, repliesConfig) }

// TestReplyKill9JetStream: the same on the JetStream queue (queue.backend: nats), whose
// NATS server, in the test process, outlives the gateway.
func TestReplyKill9JetStream(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	testReplyKill9(t, strings.Replace(repliesConfig, "log_level: warn\n",
		"log_level: warn\nqueue: { backend: nats, nats: { servers: [\""+s.ClientURL()+"\"] } }\n", 1))
}

func testReplyKill9(t *testing.T, config string) {
	cb := newReceiver(t) // down until after the kill
	addr := freeAddr(t)
	hook := startSim(t, "http", "-receipts", "http://"+addr+"/receipts/hook", "-receipt-token", "rt")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(config, "ADDR", addr, "DATA", dir+"/data", "CB", cb.url(), "HOOK", hook.base))
	gw := startProc(t, addr, "serve", "-config", cfg)
	base := "http://" + addr

	code, body := sendNative(addr, `{"to":"+5511900000001","text":"yes or no?","buttons":["Yes","No"],"client_ref":"ask-1"}`)
	id := idOf(t, "native", code, body)
	code, body = do("POST", base+"/gateway/v1/messages", map[string]string{"Authorization": "Bearer beta-token"}, `{"to":"+5511900000002","text":"beta's"}`)
	betaID := idOf(t, "beta", code, body)
	// The simulator posts sent, then delivered: the reply comes after both.
	before := "delivered"
	if !testutil.Until(20*time.Second, func() bool {
		code, body = get(base+"/gateway/v1/messages/"+id, nativeAuth)
		return strings.Contains(body, `"status":"`+before+`","tenant"`)
	}) {
		t.Fatalf("status of the message asked: %d %s", code, body)
	}

	rt := map[string]string{"Authorization": "Bearer rt"}
	code, body = do("POST", base+"/receipts/hook", rt, `[`+
		`{"type":"reply","line":"5511000","from":"+5511900000001","kind":"button","pick":{"id":"b2","title":"No"},"in_reply_to":"`+id+`"},`+
		`{"type":"reply","line":"5511000","from":"+5511900000002","text":"whose?","in_reply_to":"`+betaID+`"}]`)
	expect(t, "replies", code, body, 200, `"recorded":0`)
	code, body = do("POST", base+"/receipts/hook", rt, `{"type":"reply","line":"5519999","from":"+5511900000001","text":"nobody's line"}`)
	expect(t, "reply on a line no tenant owns", code, body, 200, `"recorded":0`)
	code, body = do("POST", base+"/receipts/hook", nil, `{"type":"reply","line":"5511000","from":"+5511900000001","text":"no token"}`)
	expect(t, "reply without the receipt token", code, body, 401, "receipt token")
	if got := metric(t, addr, `switchboard_replies_total{upstream="hook",result="refused"}`); got != 1 {
		t.Errorf("refused replies = %v, want 1", got)
	}
	if got := metric(t, addr, `switchboard_replies_in_total{upstream="hook",kind="button"}`); got != 1 {
		t.Errorf("button replies in = %v, want 1", got)
	}

	gw.kill() // SIGKILL: the replies were answered 200 and never posted
	cb.up()
	startProc(t, addr, "serve", "-config", cfg)
	gs := cb.waitUnique(2, 20*time.Second)
	// Everything owed is posted by now; give a stray third (it must not come) a moment to
	// show, bounded by the replies metric settling.
	testutil.Until(2*time.Second, func() bool {
		return metric(t, addr, `switchboard_replies_out_total{result="delivered"}`) >= 2
	})
	gs = cb.all()
	keys := map[string]int{}
	byText := map[string]replyGot{}
	for _, g := range gs {
		keys[g.key]++
		if g.path != "/replies" {
			t.Errorf("a reply went to %s: %s", g.path, g.body)
		}
		if g.sig != callbacks.Sign(g.body, []byte("cb-secret")) {
			t.Errorf("reply not signed with the tenant's secret: %s", g.body)
		}
		r := parseReply(t, g.body)
		byText[r.Text+r.Kind] = r
	}
	dups := len(gs) - len(keys)
	if len(keys) != 2 {
		t.Fatalf("%d distinct replies delivered, want 2: %+v", len(keys), gs)
	}
	pick := byText["button"]
	if pick.MessageID != id || pick.ClientRef != "ask-1" || pick.From != "5511900000001" || pick.Pick == nil ||
		pick.Pick.Title != "No" || pick.Pick.Index != 2 {
		t.Errorf("the pick as delivered: %+v %+v", pick, pick.Pick)
	}
	if other := byText["whose?text"]; other.ID == "" || other.MessageID != "" {
		t.Errorf("a reply naming another tenant's message was linked to it: %+v", other)
	}

	code, body = get(base+"/gateway/v1/messages/"+id, nativeAuth)
	var st struct {
		Status  string
		History []struct{ Status, Reason string }
	}
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("status of the message answered: %d %s", code, body)
	}
	replied := 0
	for _, h := range st.History {
		if h.Status == "replied" && strings.HasSuffix(h.Reason, pick.ID) {
			replied++
		}
	}
	if replied != 1 || st.Status != before {
		t.Errorf("the message answered: status %s (was %s), %d reply entries in its history: %s", st.Status, before, replied, body)
	}
	code, body = get(base+"/gateway/v1/replies?limit=1", nativeAuth)
	var page struct {
		Replies []json.RawMessage
		Next    string
	}
	if code != 200 || json.Unmarshal([]byte(body), &page) != nil || len(page.Replies) != 1 || page.Next == "" {
		t.Fatalf("pull: %d %s", code, body)
	}
	if r := parseReply(t, page.Replies[0]); r.ID != pick.ID {
		t.Errorf("first reply pulled %+v, want %s", r, pick.ID)
	}
	code, body = get(base+"/gateway/v1/replies?after="+page.Next, nativeAuth)
	expect(t, "pull page 2", code, body, 200, `"text":"whose?"`)
	code, body = get(base+"/gateway/v1/replies", map[string]string{"Authorization": "Bearer beta-token"})
	expect(t, "beta pulls nothing", code, body, 200, `"replies":[]`)
	code, body = get(base+"/gateway/v1/replies?limit=0", nativeAuth)
	expect(t, "bad limit", code, body, 400, "limit")
	code, body = get(base+"/gateway/v1/replies", nil)
	expect(t, "no credentials", code, body, 401, "")
	t.Logf("replies after kill -9: %d delivered, %d duplicates", len(gs), dups)
}

const roundTripConfig = repliesHead + `tenants:
  - id: shop
    callbacks: { secret: "shop-secret" }
    replies: { url: "{{CB}}/shop" }
    multiwhats: { apikey: "mw-shop-key" }
  - id: acme
    callbacks: { secret: "acme-secret" }
    replies: { url: "{{CB}}/acme" }
    wavy: { username: "acme", token: "wavy-demo-token" }
upstreams:
  - name: meta
    dialect: whatsappcloud
    url: "{{META}}"
    credentials: { token: cloud-demo-token, phone_number_id: "106540352242922", app_secret: app-secret, verify_token: vt }
    replies: { lines: { "106540352242922": shop } }
  - name: mw
    dialect: multiwhats
    url: "{{MW}}"
    credentials: { apikey: mw-demo-key, from: "908503080335", receipt_token: rt }
    replies: { tenant: acme }
routes:
  - { name: shop, match: { dialects: [multiwhats] }, upstreams: [meta] }
  - { name: acme, match: { dialects: [wavy] }, upstreams: [mw] }
`

// simReply has the simulator at base play the recipient of its last message to to.
func simReply(t *testing.T, base, body string) {
	t.Helper()
	code, resp := do("POST", base+"/_sim/reply", nil, body)
	if code != 200 || !strings.Contains(resp, `"status":200`) {
		t.Fatalf("/_sim/reply %s: %d %s", body, code, resp)
	}
}

// TestReplyRoundTrips: a MultiWhats client's button message goes out through the WhatsApp
// Cloud API simulator, whose recipient taps the second button: the client gets the pick in
// Switchboard's reply JSON, with the button's text and index and the integer id its send
// answered. A Wavy SMS client's message goes out through MultiWhats, whose recipient answers
// "SIM" on WhatsApp: the client gets Wavy's SMS MO push naming its message (our id and its
// correlationId), and pulls the same reply with receive/list, once.
func TestReplyRoundTrips(t *testing.T) {
	cb := newReceiver(t)
	cb.up()
	addr := freeAddr(t)
	to := func(up string) string { return "http://" + addr + "/receipts/" + up }
	meta := startSim(t, "whatsappcloud", "-receipts", to("meta"), "-app-secret", "app-secret")
	mw := startSim(t, "multiwhats", "-receipts", to("mw"), "-receipt-token", "rt")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(roundTripConfig, "ADDR", addr, "DATA", dir+"/data", "CB", cb.url(),
		"META", meta.base, "MW", mw.base))
	startProc(t, addr, "serve", "-config", cfg)
	base := "http://" + addr

	// MultiWhats buttons through the Cloud API.
	code, body := do("POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-shop-key", nil,
		`{"from":"908503080335","to":"5511900000001","message":"Pick one","type":"button","buttons":["Yes","No","Maybe"]}`)
	var mwAnswer struct{ ID uint64 }
	if code != 200 || json.Unmarshal([]byte(body), &mwAnswer) != nil || mwAnswer.ID == 0 {
		t.Fatalf("multiwhats send: %d %s", code, body)
	}
	meta.waitAccepted(t, 1, 20*time.Second)
	simReply(t, meta.base, `{"to":"5511900000001","kind":"button","index":2}`)

	// A Wavy SMS through MultiWhats.
	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	code, body = do("POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511900000002","messageText":"Confirma? SIM ou NAO","correlationId":"wavy-corr-1"}`)
	wavyID := idOf(t, "wavy", code, body)
	mw.waitAccepted(t, 1, 20*time.Second)
	simReply(t, mw.base, `{"to":"5511900000002","kind":"text","text":"SIM"}`)

	gs := cb.waitUnique(2, 20*time.Second)
	shop, acme := onPath(gs, "/shop"), onPath(gs, "/acme")
	if len(shop) != 1 || len(acme) != 1 {
		t.Fatalf("replies: %d to shop, %d to acme: %+v", len(shop), len(acme), gs)
	}
	if shop[0].sig != callbacks.Sign(shop[0].body, []byte("shop-secret")) || acme[0].sig != callbacks.Sign(acme[0].body, []byte("acme-secret")) {
		t.Errorf("replies not signed with their tenants' secrets")
	}
	var pick struct {
		replyGot
		MessageSeq uint64 `json:"message_seq"`
	}
	if err := json.Unmarshal(shop[0].body, &pick); err != nil || pick.Type != "reply" || pick.Kind != "button" || pick.Pick == nil ||
		pick.Pick.Title != "No" || pick.Pick.Index != 2 || pick.MessageSeq != mwAnswer.ID || pick.MessageID == "" ||
		pick.From != "5511900000001" || pick.Line != "106540352242922" {
		t.Errorf("the MultiWhats client's pick: %s", shop[0].body)
	}

	// Wavy's push: the client sent an SMS, so it gets an SMS MO (though WhatsApp carried the
	// reply), naming its message in mt.
	var mo struct {
		ID, Source, MessageText string
		MT                      *struct{ ID, CorrelationID string }
	}
	if err := json.Unmarshal(acme[0].body, &mo); err != nil || mo.MT == nil || mo.Source != "5511900000002" ||
		mo.MessageText != "SIM" || mo.MT.ID != wavyID || mo.MT.CorrelationID != "wavy-corr-1" {
		t.Errorf("the Wavy client's reply is not its SMS MO: %s", acme[0].body)
	}

	// The same reply pulled, once.
	var list struct {
		Total    int
		Messages []struct {
			Source, MessageText string
			MT                  *struct{ ID, CorrelationID string }
		}
	}
	code, body = get(base+"/v1/sms/receive/list", wavyAuth)
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || list.Total != 1 || len(list.Messages) != 1 {
		t.Fatalf("receive/list: %d %s", code, body)
	}
	if m := list.Messages[0]; m.Source != "5511900000002" || m.MessageText != "SIM" || m.MT == nil || m.MT.ID != wavyID || m.MT.CorrelationID != "wavy-corr-1" {
		t.Errorf("receive/list: %s", body)
	}
	code, body = get(base+"/v1/sms/receive/list", wavyAuth)
	expect(t, "receive/list again", code, body, 200, `"total":0`)
	if got := metric(t, addr, `switchboard_replies_total{upstream="meta",result="matched"}`); got != 1 {
		t.Errorf("matched replies from meta = %v, want 1", got)
	}
}

const refusalsConfig = repliesHead + `tenants:
  - id: acme
    replies: { url: "{{CB}}/replies" }
    native: { token: "native-demo-token" }
upstreams:
  - name: meta
    dialect: whatsappcloud
    url: "http://127.0.0.1:1"
    credentials: { token: cloud-demo-token, phone_number_id: "106540352242922", app_secret: app-secret, verify_token: vt }
    replies: { lines: { "106540352242922": acme } }
  - name: wavy-up
    dialect: wavy
    url: "http://127.0.0.1:1"
    credentials: { username: acme, token: wavy-demo-token, receipt_token: rt }
    replies: { tenant: acme }
routes:
  - { name: all, match: {}, upstreams: [meta, wavy-up] }
`

// TestReplyRefusals: a Meta message webhook unsigned or wrongly signed, a Wavy MO without
// or with a wrong token, and a signed reply on a line no tenant owns are refused or counted,
// and none is delivered to a client or kept for a pull; a signed reply on the tenant's line,
// posted last, is delivered (so the receiver was listening all along).
func TestReplyRefusals(t *testing.T) {
	cb := newReceiver(t)
	cb.up()
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(refusalsConfig, "ADDR", addr, "DATA", dir+"/data", "CB", cb.url()))
	startProc(t, addr, "serve", "-config", cfg)
	base := "http://" + addr + "/receipts/"

	reply := func(text string) canonical.Reply {
		return canonical.Reply{VendorID: "wamid.in-" + text, From: "5511900000001", Kind: canonical.ReplyText, Text: text,
			Channel: canonical.ChannelWhatsApp, ReceivedAt: time.Now().UTC().Truncate(time.Second)}
	}
	webhook := func(line, text string) string {
		return string(whatsappcloud.AppendMessageWebhook(nil, line, []canonical.Reply{reply(text)}))
	}
	signed := func(body string) map[string]string {
		return map[string]string{"X-Hub-Signature-256": whatsappcloud.Signature([]byte(body), []byte("app-secret"))}
	}
	b := webhook("106540352242922", "unsigned")
	code, body := do("POST", base+"meta", nil, b)
	expect(t, "unsigned webhook", code, body, 401, "invalid signature")
	b = webhook("106540352242922", "wrongly signed")
	code, body = do("POST", base+"meta", map[string]string{"X-Hub-Signature-256": whatsappcloud.Signature([]byte(b), []byte("not-the-secret"))}, b)
	expect(t, "wrongly signed webhook", code, body, 401, "invalid signature")
	b = webhook("999999999999999", "no tenant's line")
	code, body = do("POST", base+"meta", signed(b), b)
	expect(t, "a line no tenant owns", code, body, 200, "")

	mo := reply("wavy mo")
	mo.ID, mo.Channel, mo.Line = "mo-1", canonical.ChannelSMS, "28128"
	b = string(wavy.RenderReply(nil, &mo))
	code, body = do("POST", base+"wavy-up", nil, b)
	expect(t, "Wavy MO without a token", code, body, 401, "receipt token")
	code, body = do("POST", base+"wavy-up?token=wrong", nil, b)
	expect(t, "Wavy MO with a wrong token", code, body, 401, "receipt token")
	code, body = do("POST", base+"wavy-up", map[string]string{"Authorization": "Bearer wrong"}, b)
	expect(t, "Wavy MO with a wrong bearer token", code, body, 401, "receipt token")

	b = webhook("106540352242922", "control")
	code, body = do("POST", base+"meta", signed(b), b)
	expect(t, "the control", code, body, 200, "")
	gs := cb.waitUnique(1, 20*time.Second)
	code, body = get("http://"+addr+"/gateway/v1/replies", nativeAuth)
	var page struct{ Replies []json.RawMessage }
	if code != 200 || json.Unmarshal([]byte(body), &page) != nil || len(page.Replies) != 1 {
		t.Fatalf("replies kept: %d %s", code, body)
	}
	testutil.Until(2*time.Second, func() bool { return len(cb.all()) > 1 }) // a stray one would show by now
	gs = cb.all()
	if len(gs) != 1 || parseReply(t, gs[0].body).Text != "control" || parseReply(t, page.Replies[0]).Text != "control" {
		t.Errorf("delivered: %+v; kept: %s", gs, body)
	}
	if got := metric(t, addr, `switchboard_replies_total{upstream="meta",result="refused"}`); got != 1 {
		t.Errorf("refused replies = %v, want 1", got)
	}
	if got := metric(t, addr, `switchboard_receipts_total{upstream="wavy-up",result="unauthorized"}`); got != 3 {
		t.Errorf("unauthorized Wavy posts = %v, want 3", got)
	}
}
