package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/internal/testutil"
)

const foreignFlowConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 3, initial_backoff: 100ms, max_backoff: 500ms }
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length" }
tenants:
  - id: acme
    wavy:   { username: "acme", token: "wavy-demo-token" }
    native: { token: "native-demo-token" }
upstreams:
  - { name: flowbot, dialect: flowbot, url: "http://{{flowbot}}", credentials: { client_id: "aiflow_acme", api_key: "sk_demo", flow_id: "text-flow" }, receipts: open }
routes:
  - { name: as-text, match: { to_prefixes: ["5521"] }, upstreams: [flowbot], foreign_flow: text }
  - { name: strict, match: {}, upstreams: [flowbot] }
`

// TestForeignFlowIsNotCarried: a Wavy bot flow routed to FlowBot is not re-pointed at
// FlowBot's configured flow and reported sent. By default it fails, saying why, and FlowBot
// gets nothing; under foreign_flow: text its text goes alone through the configured flow,
// without the Wavy flow's id and variables. Both are counted.
func TestForeignFlowIsNotCarried(t *testing.T) {
	fb := startSim(t, "flowbot")
	dir := t.TempDir()
	addr := freeAddr(t)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, fillConfig(foreignFlowConfig, "ADDR", addr, "DATA", dir+"/data", "flowbot", fb.addr)))
	base := "http://" + addr
	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}

	send := func(body string) string {
		t.Helper()
		code, answer := do("POST", base+"/v1/send-sms", wavyAuth, body)
		var ids []struct{ ID string }
		if code != 200 || json.Unmarshal([]byte(answer), &ids) != nil || len(ids) != 1 || ids[0].ID == "" {
			t.Fatalf("send-sms %s: %d %s", body, code, answer)
		}
		return ids[0].ID
	}
	strict := send(`{"destination":"5511900000001","messageText":"oi Ana","flowId":"wavy-bot-7","params":{"nome":"Ana"}}`)
	asText := send(`{"destination":"5521900000002","messageText":"oi Bia","flowId":"wavy-bot-7","params":{"nome":"Bia"}}`)
	noText := send(`{"destination":"5521900000003","flowId":"wavy-bot-7","params":{"nome":"Cai"}}`)
	plain := send(`{"destination":"5511900000004","messageText":"só texto"}`)
	st := waitFinal(t, addr, []string{strict, asText, noText, plain}, 30*time.Second)

	if s := st[strict]; s.Status != "failed" || !strings.Contains(s.LastError, `flow "wavy-bot-7" is a wavy flow`) {
		t.Errorf("a Wavy flow to FlowBot: %s %q, want failed saying the flow is Wavy's", s.Status, s.LastError)
	}
	if s := st[noText]; s.Status != "failed" || !strings.Contains(s.LastError, "no text to send") {
		t.Errorf("a Wavy flow without text under foreign_flow text: %s %q, want failed", s.Status, s.LastError)
	}
	for _, id := range []string{asText, plain} {
		if s := st[id]; s.Status != "sent" && s.Status != "delivered" {
			t.Errorf("message %s: %s %q, want sent", id, s.Status, s.LastError)
		}
	}
	got := map[string]string{} // destination -> body FlowBot received
	for _, r := range fb.requests(t) {
		if strings.HasSuffix(r.URI, "/api/webhook/outbound") {
			for _, m := range r.Message {
				got[m.To] = r.Body
			}
		}
	}
	if b, ok := got["5511900000001"]; ok {
		t.Errorf("FlowBot was sent the Wavy flow of the strict route: %s", b)
	}
	if b, ok := got["5521900000003"]; ok {
		t.Errorf("FlowBot was sent the Wavy flow without text: %s", b)
	}
	b := got["5521900000002"]
	if !strings.Contains(b, `"flowId":"text-flow"`) || !strings.Contains(b, `"text":"oi Bia"`) || strings.Contains(b, "wavy-bot-7") || strings.Contains(b, "nome") {
		t.Errorf("foreign_flow text: FlowBot got %q, want the text alone through text-flow", b)
	}
	if !strings.Contains(got["5511900000004"], `"text":"só texto"`) {
		t.Errorf("plain text: FlowBot got %q", got["5511900000004"])
	}

	var metrics string
	if !testutil.Until(10*time.Second, func() bool {
		_, metrics = get(base+"/metrics", nil)
		return counter(metrics, "switchboard_dispatch_not_carried_total") >= 2 && counter(metrics, "switchboard_dispatch_flows_left_out_total") >= 1
	}) {
		t.Errorf("not counted: not_carried %v, flows_left_out %v", counter(metrics, "switchboard_dispatch_not_carried_total"),
			counter(metrics, "switchboard_dispatch_flows_left_out_total"))
	}
}

// counter reads one unlabelled counter from a Prometheus exposition; -1 when absent.
func counter(exposition, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}
