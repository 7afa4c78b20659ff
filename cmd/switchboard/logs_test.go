package main

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
)

// logLines parses the gateway's JSON log lines.
func logLines(out string) []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}

// findLog returns the first line with msg whose fields include want.
func findLog(lines []map[string]any, msg string, want map[string]any) map[string]any {
	for _, l := range lines {
		if l["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range want {
			if l[k] != v {
				ok = false
			}
		}
		if ok {
			return l
		}
	}
	return nil
}

// TestLogs: an access line per request (never a credential or the text) and an event line
// for a refused credential, a permanent failure, a dead letter and a replay; the version at
// start.
func TestLogs(t *testing.T) {
	m := startMigration(t, mirrorRoutes, "delivered")
	const text = "the-secret-text-of-a-message"
	if code, _ := sendNative(m.addr, `{"to":"+5511987000001","text":"`+text+`"}`); code != 202 {
		t.Fatalf("send: %d", code)
	}
	do("POST", "http://"+m.addr+"/gateway/v1/messages", map[string]string{"Authorization": "Bearer wrong-token"}, `{"to":"+5511987000002","text":"x"}`)
	sendNative(m.addr, `{"to":"+4400123456","text":"x"}`)
	dead := messageID(t, func() string { _, b := sendNative(m.addr, `{"to":"+4411123456","text":"x"}`); return b }())
	waitStatus(t, m.addr, dead, time.Minute, "dead")
	if code, body := do("POST", "http://"+m.addr+"/admin/v1/dead/"+dead+"/replay", adminAuth, ""); code != 200 {
		t.Fatalf("replay: %d %s", code, body)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := logLines(m.gw.output())
		checks := []struct {
			msg  string
			want map[string]any
		}{
			{"serving", nil},
			{"queue opened", nil},
			{"request", map[string]any{"method": "POST", "path": "/gateway/v1/messages", "dialect": "native", "tenant": "shop", "status": 202.0}},
			{"request", map[string]any{"path": "/gateway/v1/messages", "status": 401.0, "tenant": ""}},
			{"credential refused", map[string]any{"dialect": "native"}},
			{"permanent failure", map[string]any{"upstream": "refuser", "code": "422"}},
			{"dead-lettered", map[string]any{"upstream": "down", "id": dead}},
			{"replayed", map[string]any{"id": dead}},
		}
		missing := ""
		for _, c := range checks {
			if findLog(lines, c.msg, c.want) == nil {
				missing = c.msg + " " + (func() string { b, _ := json.Marshal(c.want); return string(b) })()
				break
			}
		}
		if missing == "" {
			if v := findLog(lines, "serving", nil)["version"]; v == nil || v == "" {
				t.Errorf("no version at start")
			}
			if _, ok := findLog(lines, "queue opened", nil)["took_ms"].(float64); !ok {
				t.Errorf("a duration is not in milliseconds: %v", findLog(lines, "queue opened", nil))
			}
			acc := findLog(lines, "request", map[string]any{"status": 202.0})
			for _, k := range []string{"duration_ms", "bytes", "bytes_in"} {
				if _, ok := acc[k].(float64); !ok {
					t.Errorf("access line has no number %s: %v", k, acc)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %s in:\n%s", missing, m.gw.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := m.gw.output()
	for _, secret := range []string{text, "native-demo-token", "wrong-token", "admin-secret-token", "wavy-demo-token", "mw-demo-key", "wavy-receipts", "mw-receipts"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log has %q", secret)
		}
	}
}
