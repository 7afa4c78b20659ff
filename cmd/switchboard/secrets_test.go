package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawRequest writes req on a new connection to addr and returns the status of the answer.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a malformed request: %v", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// TestMalformedRequestsLogNoSecret: requests the HTTP server cannot parse, each carrying
// credentials and message text, are answered without echoing them, and nothing of them
// reaches the log, whatever the malformation.
func TestMalformedRequestsLogNoSecret(t *testing.T) {
	m := startMigration(t, mirrorRoutes, "delivered")
	const text = "the-secret-text-of-a-message"
	secrets := []string{text, "native-demo-token", "wavy-demo-token", "mw-demo-key", "admin-secret-token"}
	body := `{"to":"+5511987000001","text":"` + text + `"}`
	headers := "authenticationtoken: wavy-demo-token\r\nAuthorization: Bearer native-demo-token\r\n" +
		"apikey: mw-demo-key\r\nX-Admin: Bearer admin-secret-token\r\n"
	cases := []struct {
		name, req string
	}{
		{"NUL in a header", "POST /v1/send-sms HTTP/1.1\r\nHost: x\r\n" + headers + "X-Bad: a\x00b\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body},
		{"no colon in a header", "POST /gateway/v1/messages HTTP/1.1\r\nHost: x\r\n" + headers + "broken header " + text + "\r\n\r\n"},
		{"bad request line", "POST /gateway/v1/messages?token=native-demo-token " + text + "\r\nHost: x\r\n" + headers + "\r\n"},
		{"headers over the buffer", "POST /v1/send-sms HTTP/1.1\r\nHost: x\r\n" + headers +
			"X-Big: " + strings.Repeat(text, 4000) + "\r\n\r\n"},
		{"bad content length", "POST /v1/send-sms HTTP/1.1\r\nHost: x\r\n" + headers + "Content-Length: x" + text + "\r\n\r\n"},
	}
	for _, c := range cases {
		status, answer := rawRequest(t, m.addr, c.req)
		if status < 400 || status >= 500 {
			t.Errorf("%s: status %d, want a 4xx", c.name, status)
		}
		for _, s := range secrets {
			if strings.Contains(answer, s) {
				t.Errorf("%s: the answer echoes %q: %s", c.name, s, answer)
			}
		}
		if strings.Contains(answer, "fasthttp") {
			t.Errorf("%s: the answer speaks of the server's internals: %s", c.name, answer)
		}
	}
	// A request served after them flushes the log lines of the ones before.
	if code, _ := sendNative(m.addr, `{"to":"+5511987000002","text":"x"}`); code != 202 {
		t.Fatalf("send after the malformed requests: %d", code)
	}
	out := m.gw.output()
	if !strings.Contains(out, `"source":"fasthttp"`) {
		t.Fatalf("the HTTP server logged nothing of the malformed requests, so nothing was checked:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log has %q", s)
		}
	}
}
