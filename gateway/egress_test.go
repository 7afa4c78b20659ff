package gateway

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/internal/testutil"
)

// messageStatus reads a message's status and history through the native API.
type messageStatus struct {
	Status    string `json:"status"`
	LastError string `json:"last_error"`
	History   []struct {
		Status, Upstream, Reason string
	} `json:"history"`
}

func sendNative(t *testing.T, base, body string) string {
	t.Helper()
	status, answer := post(t, base+"/gateway/v1/messages", nativeAuth, body)
	m := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(answer)
	if status != 202 || m == nil {
		t.Fatalf("native send: %d %s", status, answer)
	}
	return m[1]
}

// waitStatus waits until the message is in one of the final statuses and returns it.
func waitStatus(t *testing.T, base, id string) messageStatus {
	t.Helper()
	var st messageStatus
	testutil.WaitFor(t, 15*time.Second, "message "+id+" to be sent or failed", func() bool {
		req, resp := acquire()
		defer release(req, resp)
		req.SetRequestURI(base + "/gateway/v1/messages/" + id)
		req.Header.Set("Authorization", nativeAuth["Authorization"])
		if doTimeout(req, resp) != nil || json.Unmarshal(resp.Body(), &st) != nil {
			return false
		}
		switch st.Status {
		case "sent", "delivered", "failed", "dead":
			return true
		}
		return false
	})
	return st
}

// Wavy: a text over its 1280 characters is split into numbered parts by default and fails
// with a clear reason under long_text: fail. MultiWhats: a flash message is sent without
// flash only with the reason in its history and counted (#18 point 13).
func TestEgressLongTextAndFlash(t *testing.T) {
	wavy := startSim(t, "wavy")
	mw := startSim(t, "multiwhats")
	base := startGateway(t, `upstreams:
  - { name: wavy, dialect: wavy, url: "`+wavy+`", credentials: { username: acme, token: wavy-demo-token }, receipts: open }
  - { name: mw, dialect: multiwhats, url: "`+mw+`", credentials: { apikey: mw-demo-key, from: "908503080335" }, receipts: open }
routes:
  - { name: split, match: { to_prefixes: ["5511"] }, upstreams: [wavy] }
  - { name: strict, match: { to_prefixes: ["5521"] }, upstreams: [wavy], long_text: fail }
  - { name: mw, match: { to_prefixes: ["90"] }, upstreams: [mw] }
`)
	long := strings.Repeat("Olá, tudo bem? ", 200) // 3000 characters
	split := sendNative(t, base, `{"to":"+5511987000001","text":"`+long+`"}`)
	strict := sendNative(t, base, `{"to":"+5521987000001","text":"`+long+`"}`)
	flash := sendNative(t, base, `{"to":"+905374937766","text":"now","flash":true}`)
	// 700 emoji are 700 characters but 1400 as Wavy counts them (UTF-16 units).
	emoji := sendNative(t, base, `{"to":"+5521987000002","text":"`+strings.Repeat("😀", 700)+`"}`)

	if st := waitStatus(t, base, split); st.Status != "sent" {
		t.Errorf("long text, long_text split: %s (%s), want sent", st.Status, st.LastError)
	}
	reqs := simRequests(t, wavy)
	if len(reqs) != 1 || !strings.HasSuffix(reqs[0].URI, "/v1/send-bulk-sms") || len(reqs[0].Message) != 3 {
		t.Fatalf("the Wavy upstream got %d requests; want one send-bulk-sms of 3 parts", len(reqs))
	}
	var joined string
	for i, m := range reqs[0].Message {
		prefix := "(" + string(rune('1'+i)) + "/3) "
		if !strings.HasPrefix(m.Text, prefix) || len([]rune(m.Text)) > 1280 || m.To != "5511987000001" {
			t.Errorf("part %d: %.20q... (%d characters) to %s", i, m.Text, len([]rune(m.Text)), m.To)
		}
		joined += strings.TrimPrefix(m.Text, prefix)
	}
	if joined != long {
		t.Error("the parts do not make the text")
	}

	st := waitStatus(t, base, strict)
	if st.Status != "failed" || !strings.Contains(st.LastError, "text of 3000 characters is over upstream wavy's limit of 1280 (the route's long_text is fail)") {
		t.Errorf("long text, long_text fail: %s %q", st.Status, st.LastError)
	}

	st = waitStatus(t, base, emoji)
	if st.Status != "failed" || !strings.Contains(st.LastError, "text of 1400 characters is over upstream wavy's limit of 1280") {
		t.Errorf("emoji text, long_text fail: %s %q; want failed, counted as Wavy counts", st.Status, st.LastError)
	}

	st = waitStatus(t, base, flash)
	last := st.History[len(st.History)-1]
	if st.Status != "sent" || last.Status != "sent" || !strings.Contains(last.Reason, "upstream mw cannot carry flash: flash dropped") {
		t.Errorf("flash to MultiWhats: %s, last change %+v; want sent with the dropped flash named", st.Status, last)
	}
	_, metrics := getBody(t, base+"/metrics")
	if !strings.Contains(metrics, `switchboard_degraded_total{upstream="mw",content="flash"} 1`) {
		t.Error("the dropped flash is not counted in switchboard_degraded_total")
	}
	if got := simRequests(t, mw); len(got) != 1 || !strings.Contains(got[0].Body, `"type":"text"`) {
		t.Errorf("MultiWhats got %+v", got)
	}
}

func getBody(t *testing.T, uri string) (int, string) {
	t.Helper()
	req, resp := acquire()
	defer release(req, resp)
	req.SetRequestURI(uri)
	if err := doTimeout(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body())
}
