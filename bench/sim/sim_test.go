package sim

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
)

// serve runs a simulator on a loopback port for the test and returns its base URL.
func serve(t *testing.T, dialect string, f Faults) string {
	t.Helper()
	s, base, err := Start(dialect, "127.0.0.1:0", DefaultCredentials, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return base
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func call(t *testing.T, method, url string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func kept(t *testing.T, base string) []Received {
	t.Helper()
	_, body := call(t, "GET", base+"/_sim/requests", nil, "")
	var rs []Received
	if err := json.Unmarshal([]byte(body), &rs); err != nil {
		t.Fatalf("/_sim/requests: %v: %s", err, body)
	}
	return rs
}

func stats(t *testing.T, base string) map[string]int64 {
	t.Helper()
	_, body := call(t, "GET", base+"/_sim/stats", nil, "")
	var st map[string]int64
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/_sim/stats: %v: %s", err, body)
	}
	return st
}

// sendCase is one valid send in a dialect, and the same request with a wrong credential.
type sendCase struct {
	dialect, path         string
	headers, badHeaders   map[string]string
	body, answer, refusal string
}

var sendCases = []sendCase{
	{dialect: "messageflow", path: "/add_message",
		body:    `{"UUID":"` + DefaultCredentials.UUID + `","ToMobileNumber":"972501234567","Message":"%D7%A9%D7%9C%D7%95%D7%9DMessageFlowLineBreakworld"}`,
		answer:  `"success":true`,
		refusal: `"success":false`},
	{dialect: "multiwhats", path: "/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key",
		body:    `{"from":"908503080335","to":"972501234567","message":"שלום\nworld"}`,
		answer:  `"status":"done"`,
		refusal: `{"message":"Unauthenticated."}`},
	{dialect: "wavy", path: "/v1/send-sms",
		headers:    map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"},
		badHeaders: map[string]string{"username": "acme", "authenticationtoken": "nope"},
		body:       `{"destination":"972501234567","messageText":"שלום\nworld"}`,
		answer:     `[{"id":"`,
		refusal:    `"errorCode":401`},
	{dialect: "whatsappcloud", path: "/v21.0/106540352242922/messages",
		headers:    map[string]string{"Authorization": "Bearer cloud-demo-token"},
		badHeaders: map[string]string{"Authorization": "Bearer nope"},
		body:       `{"messaging_product":"whatsapp","to":"972501234567","type":"text","text":{"body":"שלום\nworld"}}`,
		answer:     `"wa_id":"972501234567"`,
		refusal:    `"code":190`},
}

// TestSimulatorsAnswerAsTheVendor sends each vendor a valid request and one with a wrong
// credential: the answers are the vendor's, and /_sim/* shows both, decoded.
func TestSimulatorsAnswerAsTheVendor(t *testing.T) {
	for _, c := range sendCases {
		t.Run(c.dialect, func(t *testing.T) {
			base := serve(t, c.dialect, Faults{})
			if _, body := call(t, "GET", base+"/_sim/requests", nil, ""); body != "[]" {
				t.Fatalf("requests before any: %s; want []", body)
			}
			resp, body := call(t, "POST", base+c.path, c.headers, c.body)
			if resp.StatusCode != 200 || !strings.Contains(body, c.answer) {
				t.Fatalf("valid request: %d %s; want 200 with %s", resp.StatusCode, body, c.answer)
			}
			badPath, bad := c.path, c.headers
			if c.badHeaders != nil {
				bad = c.badHeaders
			} else {
				badPath = strings.Replace(badPath, "mw-demo-key", "wrong", 1)
			}
			badBody := strings.Replace(c.body, DefaultCredentials.UUID, "00000000-0000-0000-0000-000000000000", 1)
			resp, body = call(t, "POST", base+badPath, bad, badBody)
			if resp.StatusCode != 401 || !strings.Contains(body, c.refusal) {
				t.Errorf("wrong credential: %d %s; want 401 with %s", resp.StatusCode, body, c.refusal)
			}
			rs := kept(t, base)
			if len(rs) != 2 || rs[0].Status != 200 || rs[1].Status != 401 || len(rs[0].Message) != 1 || rs[1].Message != nil {
				t.Fatalf("kept %+v", rs)
			}
			m := rs[0].Message[0]
			if m.To != "972501234567" || m.Text != "שלום\nworld" || m.ID == "" || rs[0].Body != c.body || rs[0].Method != "POST" {
				t.Errorf("kept message %+v from %+v", m, rs[0])
			}
			if st := stats(t, base); st["accepted"] != 1 || st["errors"] != 1 || st["injected"] != 0 {
				t.Errorf("stats %v", st)
			}
			call(t, "DELETE", base+"/_sim/requests", nil, "")
			if rs := kept(t, base); len(rs) != 0 {
				t.Errorf("requests after DELETE: %+v", rs)
			}
		})
	}
}

// TestFlowBotSimulatorTokens: the FlowBot simulator issues tokens to the demo client only,
// and accepts outbound triggers with them.
func TestFlowBotSimulatorTokens(t *testing.T) {
	base := serve(t, "flowbot", Faults{})
	resp, body := call(t, "POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"wrong"}`)
	if resp.StatusCode != 401 {
		t.Errorf("wrong api key: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo","ttlSec":60}`)
	var tok struct {
		AccessToken  string
		ExpiresInSec int
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" || tok.ExpiresInSec != 60 {
		t.Fatalf("api-token: %d %s", resp.StatusCode, body)
	}
	out := `{"phone":"+972501234567","flowId":"f1","data":{"text":"hi"}}`
	resp, body = call(t, "POST", base+"/api/webhook/outbound", map[string]string{"Authorization": "Bearer " + tok.AccessToken}, out)
	if resp.StatusCode != 200 || !strings.Contains(body, `"Outbound flow triggered for +972501234567"`) {
		t.Fatalf("outbound: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", base+"/api/webhook/outbound", map[string]string{"Authorization": "Bearer " + tok.AccessToken + "x"}, out)
	if resp.StatusCode != 401 {
		t.Errorf("forged token: %d %s", resp.StatusCode, body)
	}
	rs := kept(t, base)
	if len(rs) != 4 || rs[2].Message[0].FlowID != "f1" || rs[2].Message[0].Vars["text"] != "hi" {
		t.Errorf("kept %+v", rs)
	}
}

// TestSimulatorFaults sets each fault mode at runtime and checks the vendor-shaped answer.
func TestSimulatorFaults(t *testing.T) {
	base := serve(t, "wavy", Faults{})
	auth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	send := func() (*http.Response, string) {
		return call(t, "POST", base+"/v1/send-sms", auth, `{"destination":"5511900000001","messageText":"x"}`)
	}
	for _, c := range []struct {
		faults      string
		status      int
		retryAfter  string
		answerHolds string
	}{
		{`{"fail_rate":1,"mode":"5xx"}`, 503, "1", `"errorCode":503`},
		{`{"fail_rate":1,"mode":"500"}`, 500, "", `"errorCode":500`},
		{`{"fail_rate":1,"mode":"429"}`, 429, "1", `"errorCode":429`},
		{`{"fail_rate":0}`, 200, "", `[{"id":"`},
	} {
		if resp, body := call(t, "POST", base+"/_sim/faults", nil, c.faults); resp.StatusCode != 200 {
			t.Fatalf("faults %s: %d %s", c.faults, resp.StatusCode, body)
		}
		resp, body := send()
		if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter || !strings.Contains(body, c.answerHolds) {
			t.Errorf("with %s: %d Retry-After %q %s; want %d, %q, %s", c.faults, resp.StatusCode,
				resp.Header.Get("Retry-After"), body, c.status, c.retryAfter, c.answerHolds)
		}
	}
	if st := stats(t, base); st["injected"] != 3 || st["accepted"] != 1 {
		t.Errorf("stats %v", st)
	}
	for _, bad := range []string{`{"mode":"teapot"}`, `{"fail_rate":1.5}`, `{"latency":"soon"}`, `{"latency":"-1s"}`, `not json`} {
		if resp, body := call(t, "POST", base+"/_sim/faults", nil, bad); resp.StatusCode != 400 {
			t.Errorf("faults %s: %d %s; want 400", bad, resp.StatusCode, body)
		}
	}
	if resp, body := send(); resp.StatusCode != 200 {
		t.Errorf("a refused fault setting changed the faults: %d %s", resp.StatusCode, body)
	}

	// Latency is added to every answer: compare with the same request without it.
	start := time.Now()
	send()
	plain := time.Since(start)
	call(t, "POST", base+"/_sim/faults", nil, `{"latency":"300ms"}`)
	start = time.Now()
	resp, _ := send()
	if slow := time.Since(start); resp.StatusCode != 200 || slow < 300*time.Millisecond || slow < plain {
		t.Errorf("with 300ms latency: %d after %v (%v without)", resp.StatusCode, slow, plain)
	}
}

// TestSimulatorHangGivesNoAnswer: a hanging request ends, after the hang, with the
// connection dropped: never with an answer a client could take for success.
func TestSimulatorHangGivesNoAnswer(t *testing.T) {
	defer func(d time.Duration) { maxHang = d }(maxHang)
	maxHang = 200 * time.Millisecond
	base := serve(t, "messageflow", Faults{FailRate: 1, Mode: "hang"})
	req, _ := http.NewRequest("POST", base+"/add_message", strings.NewReader(
		`{"UUID":"`+DefaultCredentials.UUID+`","ToMobileNumber":"972501234567","Message":"x"}`))
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("a hang answered %d %q", resp.StatusCode, b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the hang outlived the client's %v timeout: %v", httpClient.Timeout, err)
	}
	if waited := time.Since(start); waited < maxHang {
		t.Errorf("connection dropped after %v, before the %v hang", waited, maxHang)
	}
	if st := stats(t, base); st["injected"] != 1 || st["accepted"] != 0 {
		t.Errorf("stats %v", st)
	}
}

// TestSimulatorFailRate: a fail rate is a share of requests, not all or nothing.
func TestSimulatorFailRate(t *testing.T) {
	base := serve(t, "multiwhats", Faults{FailRate: 0.5, Mode: "5xx"})
	const n = 400
	failed := 0
	for range n {
		resp, _ := call(t, "POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", nil,
			`{"from":"908503080335","to":"905374937766","message":"x"}`)
		switch resp.StatusCode {
		case 200:
		case 503:
			failed++
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	// Binomial(400, 0.5): 0.1 either side is four standard deviations.
	if share := float64(failed) / n; share < 0.4 || share > 0.6 {
		t.Errorf("%d of %d failed (%.2f); want about half", failed, n, share)
	}
	if st := stats(t, base); st["injected"] != int64(failed) || st["accepted"] != int64(n-failed) {
		t.Errorf("stats %v after %d failures", st, failed)
	}
}
