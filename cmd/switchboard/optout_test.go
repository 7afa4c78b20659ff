package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

// optOutList reads GET /admin/v1/opt-outs.
func optOutList(t *testing.T, addr, query string) []struct{ Tenant, Number, Source string } {
	t.Helper()
	code, body := get("http://"+addr+"/admin/v1/opt-outs"+query, adminAuth)
	var a struct {
		OptOuts []struct{ Tenant, Number, Source string } `json:"opt_outs"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
		t.Fatalf("opt-outs%s: %d %s", query, code, body)
	}
	return a.OptOuts
}

// TestOptOutByAdmin: a number an operator puts on the tenant's opt-out list gets no message:
// each fails at once with the opt-out code, and the upstream never sees it, while other
// numbers are sent; the list survives kill -9; taken off, the number is sent to again.
func TestOptOutByAdmin(t *testing.T) {
	s := startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: s})
	p := startProc(t, addr, "serve", "-config", cfgPath)

	if code, body := do("POST", "http://"+addr+"/admin/v1/opt-outs", adminAuth, `{"tenant":"acme","number":"+972 50-555-1000"}`); code != 200 {
		t.Fatalf("add: %d %s", code, body)
	}
	for body, want := range map[string]string{
		`{"tenant":"nobody","number":"+972505551000"}`: "tenant",
		`{"tenant":"acme","number":"12"}`:              "number",
	} {
		if code, got := do("POST", "http://"+addr+"/admin/v1/opt-outs", adminAuth, body); code != 400 || !strings.Contains(got, want) {
			t.Errorf("add %s: %d %s, want 400 naming %s", body, code, got, want)
		}
	}
	if code, _ := do("POST", "http://"+addr+"/admin/v1/opt-outs", nil, `{"tenant":"acme","number":"+972505551000"}`); code != 401 {
		t.Errorf("add without the admin token: %d, want 401", code)
	}

	send := func(to string) string {
		t.Helper()
		code, body := sendNative(addr, `{"to":"`+to+`","text":"hello"}`)
		if code != 202 {
			t.Fatalf("send to %s: %d %s", to, code, body)
		}
		return messageID(t, body)
	}
	blocked, other := send("+972505551000"), send("+972505552000")
	st := waitFinal(t, addr, []string{blocked, other}, 20*time.Second)
	if b := st[blocked]; b.Status != canonical.StatusFailed || len(b.History) == 0 || b.History[len(b.History)-1].Code != canonical.CodeOptedOut {
		t.Fatalf("the opted-out number's message: %+v, want failed with code %s", b, canonical.CodeOptedOut)
	}
	if st[other].Status != canonical.StatusSent {
		t.Fatalf("another number's message: %+v, want sent", st[other])
	}
	if s.count(blocked) != 0 || s.count(other) != 1 {
		t.Fatalf("the upstream saw the opted-out message %d times and the other %d times", s.count(blocked), s.count(other))
	}

	// The list is durable: kill -9 and start again on the same data.
	p.kill()
	startProc(t, addr, "serve", "-config", cfgPath)
	if l := optOutList(t, addr, "?tenant=acme"); len(l) != 1 || l[0].Number != "972505551000" || l[0].Source != "admin" {
		t.Fatalf("after kill -9 the list is %+v", l)
	}
	if again := send("+972505551000"); waitFinal(t, addr, []string{again}, 20*time.Second)[again].Status != canonical.StatusFailed {
		t.Fatalf("after a restart the opted-out number was sent to")
	}

	if code, body := do("DELETE", "http://"+addr+"/admin/v1/opt-outs/acme/972505551000", adminAuth, ""); code != 200 {
		t.Fatalf("remove: %d %s", code, body)
	}
	if code, _ := do("DELETE", "http://"+addr+"/admin/v1/opt-outs/acme/972505551000", adminAuth, ""); code != 404 {
		t.Errorf("removing a number not on the list: %d, want 404", code)
	}
	if l := optOutList(t, addr, ""); len(l) != 0 {
		t.Fatalf("after removal the list is %+v", l)
	}
	back := send("+972505551000")
	if got := waitFinal(t, addr, []string{back}, 20*time.Second)[back]; got.Status != canonical.StatusSent || s.count(back) != 1 {
		t.Fatalf("after removal: %+v, sink saw it %d times", got, s.count(back))
	}
}

const optOutReplyConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
    wavy: { username: "acme", token: "wavy-demo-token" }
upstreams:
  - name: sink
    dialect: http
    url: "http://{{SINK}}/messages"
    credentials: { receipt_token: "sink-receipts" }
    replies: { tenant: acme }
routes:
  - { name: default, upstreams: [sink] }
`

// TestOptOutByReply: a recipient who replies STOP (any case, with punctuation) gets no more
// of the tenant's messages: the next one, sent in Wavy's dialect, fails with Wavy's 204
// DESTINATION_BLOCKED_BY_OPTOUT in its status search and never reaches the upstream; after
// START it goes again. A reply that only contains the word changes nothing.
func TestOptOutByReply(t *testing.T) {
	s := startSink(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", dir+"/data", "{{SINK}}", s.addr).Replace(optOutReplyConfig)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
	base := "http://" + addr
	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	reply := func(text string) {
		t.Helper()
		code, body := do("POST", base+"/receipts/sink", map[string]string{"Authorization": "Bearer sink-receipts"},
			`{"type":"reply","from":"+5511999990001","text":"`+text+`"}`)
		if code != 200 {
			t.Fatalf("reply %q: %d %s", text, code, body)
		}
	}
	sendWavy := func(ref string) string {
		t.Helper()
		code, body := do("POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511999990001","messageText":"hello","correlationId":"`+ref+`"}`)
		var ans []struct{ ID string }
		if code != 200 || json.Unmarshal([]byte(body), &ans) != nil || len(ans) != 1 {
			t.Fatalf("wavy send: %d %s", code, body)
		}
		return ans[0].ID
	}
	sentCode := func(id string) string {
		t.Helper()
		st := waitFinal(t, addr, []string{id}, 20*time.Second)[id]
		code, body := do("POST", base+"/v1/sms/status/search", wavyAuth, `{"ids":["`+id+`"]}`)
		if code != 200 {
			t.Fatalf("status search: %d %s", code, body)
		}
		return string(st.Status) + " " + body
	}

	reply("please stop sending these")
	first := sendWavy("before")
	if got := sentCode(first); !strings.HasPrefix(got, "sent") || s.count(first) != 1 {
		t.Fatalf("a reply that only contains the word blocked the number: %s", got)
	}
	reply(" Stop! ")
	if l := optOutList(t, addr, "?tenant=acme"); len(l) != 1 || l[0].Number != "5511999990001" || l[0].Source != "reply" {
		t.Fatalf("after STOP the list is %+v", l)
	}
	blocked := sendWavy("after-stop")
	if got := sentCode(blocked); !strings.HasPrefix(got, "failed") || !strings.Contains(got, `"sentStatusCode":204`) ||
		!strings.Contains(got, "DESTINATION_BLOCKED_BY_OPTOUT") {
		t.Fatalf("a message after STOP: %s", got)
	}
	if s.count(blocked) != 0 {
		t.Fatalf("the upstream saw the message to an opted-out number")
	}
	reply("START")
	again := sendWavy("after-start")
	if got := sentCode(again); !strings.HasPrefix(got, "sent") || s.count(again) != 1 {
		t.Fatalf("a message after START: %s", got)
	}
}
