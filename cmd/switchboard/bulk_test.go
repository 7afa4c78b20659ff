package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
)

const bulkConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
log_level: warn
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - { name: wavy, dialect: wavy, receipts: open, url: "http://{{WAVY}}", max_conns: 32, credentials: { username: acme, token: wavy-demo-token } }
routes:
  - { name: default, match: {}, upstreams: [wavy] }
`

// TestWavyBulk: messages for a Wavy upstream that arrive together leave in send-bulk-sms
// requests, and each is still sent once and recorded with its own Wavy id.
func TestWavyBulk(t *testing.T) {
	wavy := startSim(t, "wavy")
	dir := t.TempDir()
	addr := freeAddr(t)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, fillConfig(bulkConfig, "ADDR", addr, "DATA", dir+"/data", "WAVY", wavy.addr)))

	const n = 400
	recipients := make([]string, n)
	for i := range recipients {
		recipients[i] = fmt.Sprintf("55119%08d", i)
	}
	ids := sendAll(t, addr, recipients, 32, "lote")
	waitFinal(t, addr, ids, 30*time.Second)

	bulks, inBulk := 0, 0
	for _, r := range wavy.requests(t) {
		if strings.HasPrefix(r.URI, "/v1/send-bulk-sms") && r.Status == 200 {
			bulks++
			inBulk += len(r.Message)
		}
	}
	for to, k := range wavy.delivered(t) {
		if k != 1 {
			t.Errorf("%s reached Wavy %d times", to, k)
		}
	}
	if len(wavy.delivered(t)) != n {
		t.Fatalf("Wavy got %d recipients, want %d", len(wavy.delivered(t)), n)
	}
	if bulks == 0 || inBulk < 2*bulks {
		t.Fatalf("%d bulk requests carried %d messages: no batching", bulks, inBulk)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		_, body := get("http://"+addr+"/gateway/v1/messages/"+id, nativeAuth)
		var st struct {
			Status     string `json:"status"`
			UpstreamID string `json:"upstream_id"`
		}
		if json.Unmarshal([]byte(body), &st) != nil || st.Status != "sent" || st.UpstreamID == "" || seen[st.UpstreamID] {
			t.Fatalf("message %s: %s (want sent with its own Wavy id)", id, body)
		}
		seen[st.UpstreamID] = true
	}
	t.Logf("%d messages: %d in %d bulk requests, %d sent alone", n, inBulk, bulks, n-inBulk)
}
