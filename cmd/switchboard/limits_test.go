package main

import (
	"strings"
	"testing"
)

const limitsConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
log_level: warn
max_body_bytes: 4096
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length", token_requests_per_window: 3, token_window: 1h }
tenants:
  - id: acme
    rate_per_second: 0.001
    burst: 1
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key" }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
upstreams:
  - { name: sandbox, dialect: sandbox }
routes:
  - { name: default, match: {}, upstreams: [sandbox] }
`

// TestLimitsInEachDialect: a tenant over its ingress rate, and a body over the limit, are
// answered in each dialect's own shape; FlowBot's token endpoint is limited per IP.
func TestLimitsInEachDialect(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", dir+"/data").Replace(limitsConfig)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
	base := "http://" + addr

	wavyAuth := map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	sends := []struct {
		name, method, path, body, want429 string
		headers                           map[string]string
	}{
		{"messageflow", "POST", "/add_message", `{"UUID":"6a708fea-a4d0-4976-a180-9f3bdd3de52e","ToMobileNumber":"972501234567","Message":"hi"}`, `"success":false`, nil},
		{"multiwhats", "POST", "/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", `{"from":"908503080335","to":"905374937766","message":"hi","type":"text"}`, `"message":`, nil},
		{"wavy", "POST", "/v1/send-sms", `{"destination":"5511900000000","messageText":"hi"}`, `"errorCode":429`, wavyAuth},
		{"native", "POST", "/gateway/v1/messages", `{"to":"972501234567","text":"hi"}`, `"too_many_requests"`, nativeAuth},
	}
	// The burst of one is spent by the first request, whichever dialect it comes in.
	code, body := do(sends[0].method, base+sends[0].path, sends[0].headers, sends[0].body)
	expect(t, "first request", code, body, 200, `"success":true`)
	for _, s := range sends {
		code, body := do(s.method, base+s.path, s.headers, s.body)
		expect(t, s.name+" over the tenant's rate", code, body, 429, s.want429)
	}

	big := strings.Repeat("x", 5000)
	for _, s := range []struct{ path, want string }{
		{"/add_message", `"success":false`}, {"/api/v1/basic/whatsapp/send-dynamic", `"message":`},
		{"/v1/send-sms", `"errorCode":413`}, {"/api/webhook/outbound", `"error":`}, {"/gateway/v1/messages", `"too_large"`},
	} {
		code, body := do("POST", base+s.path, nil, `{"text":"`+big+`"}`)
		expect(t, s.path+" oversize", code, body, 413, s.want)
	}

	for i := range 3 {
		code, body := do("POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`)
		expect(t, "token request", code, body, 200, `"accessToken"`)
		_ = i
	}
	code, body = do("POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`)
	expect(t, "token request over the per-IP limit", code, body, 429, `"error":`)
}
