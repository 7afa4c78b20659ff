package gateway

import (
	"strings"
	"testing"
)

// sandboxRoute is a config tail whose messages go to the in-process sandbox.
const sandboxRoute = `upstreams:
  - { name: sandbox, dialect: sandbox }
routes:
  - { name: r, match: {}, upstreams: [sandbox] }
`

// A chunked body over max_body_bytes is answered 413 in the shape of the dialect whose path
// it was sent to, as a body with a Content-Length over the limit is (#18 point 7).
func TestOversizeChunkedBodyInPathsDialect(t *testing.T) {
	base := startGateway(t, "max_body_bytes: 4096\n"+sandboxRoute)
	chunk := strings.Repeat("a", 1024)
	body := ""
	for range 8 {
		body += "400\r\n" + chunk + "\r\n"
	}
	body += "0\r\n\r\n"
	cases := []struct{ path, want string }{
		{"/v1/send-sms", `{"errorCode":413,`},
		{"/add_message", `{"success":false,"error":"request body is larger than 4096 bytes"}`},
		{"/api/v1/basic/whatsapp/send-dynamic", `{"message":"The POST data is too large."}`},
		{"/api/webhook/outbound", `{"error":"request body is larger than 4096 bytes"}`},
		{"/gateway/v1/messages", `{"error":{"code":"too_large",`},
	}
	for _, c := range cases {
		for _, chunked := range []bool{true, false} {
			framing := "Transfer-Encoding: chunked\r\n\r\n" + body
			if !chunked {
				framing = "Content-Length: 8192\r\n\r\n" + strings.Repeat("a", 8192)
			}
			status, answer := rawExchange(t, base, "POST "+c.path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+framing)
			if status != 413 || !strings.HasPrefix(answer, c.want) {
				t.Errorf("%s (chunked %v): %d %s, want 413 starting %s", c.path, chunked, status, answer, c.want)
			}
		}
	}
	// A chunked body within the limit is served as usual, and the next oversize one on the
	// same kind of path still finds its dialect.
	status, answer := rawExchange(t, base, "POST /gateway/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer native-demo-token\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n22\r\n"+`{"to":"+972501234567","text":"hi"}`+"\r\n0\r\n\r\n")
	if status != 202 && status != 200 {
		t.Errorf("a small chunked native send: %d %s", status, answer)
	}
}
