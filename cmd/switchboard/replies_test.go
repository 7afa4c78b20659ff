package main

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/gateway/callbacks"
	"switchboard/internal/testutil"
)

// Replies, with real processes: a recipient's reply posted to /receipts/{upstream} reaches
// the tenant that owns the line, linked to the message it answers, at least once, across a
// kill -9 of the gateway.

const repliesConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 10, initial_backoff: 50ms, max_backoff: 200ms }
callbacks: { timeout: 2s, max_attempts: 1000, initial_backoff: 50ms, max_backoff: 300ms }
tenants:
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
func TestReplyKill9(t *testing.T) {
	cb := newReceiver(t) // down until after the kill
	addr := freeAddr(t)
	hook := startSim(t, "http", "-receipts", "http://"+addr+"/receipts/hook", "-receipt-token", "rt")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(repliesConfig, "ADDR", addr, "DATA", dir+"/data", "CB", cb.url(), "HOOK", hook.base))
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
