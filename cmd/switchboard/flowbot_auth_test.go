package main

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/goccy/go-json"
)

const flowbotAuthConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
log_level: warn
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length" }
tenants:
  - id: limited
    flowbot: { client_id: "aiflow_limited", api_key: "sk_limited", vendor_limits: true }
  - id: legacy
    flowbot:
      client_id: "aiflow_legacy"
      api_key: "sk_legacy"
      flows:
        - { id: "flow-key", auth: api_key, secret: "legacy-api-key" }
        - { id: "flow-basic", auth: basic, username: "crm", secret: "basic-pass" }
        - { id: "flow-token", auth: bearer, secret: "legacy-verify-token" }
upstreams:
  - { name: sandbox, dialect: sandbox }
routes:
  - { name: default, match: {}, upstreams: [sandbox] }
`

// TestFlowBotLegacyAuthAndVendorLimits: a tenant that emulates FlowBot's documented limits
// gets 30 outbound requests a minute and then FlowBot's 429; one that does not is never
// throttled by it. A flow's legacy credential (API key, Basic, verify token) opens that flow
// alone, on the endpoints the vendor offers it on; bulk-send refuses a template together
// with a template group in FlowBot's shape.
func TestFlowBotLegacyAuthAndVendorLimits(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, fillConfig(flowbotAuthConfig, "ADDR", addr, "DATA", dir+"/data")))
	base := "http://" + addr

	jwt := func(clientID, apiKey string) map[string]string {
		t.Helper()
		code, body := do("POST", base+"/api/auth/api-token", nil, `{"clientId":"`+clientID+`","apiKey":"`+apiKey+`"}`)
		var tok struct{ AccessToken string }
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
			t.Fatalf("api-token for %s: %d %s", clientID, code, body)
		}
		return map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	}
	outbound := func(i int, flow string) string {
		return `{"phone":"+97250111` + strconv.Itoa(1000+i) + `","flowId":"` + flow + `"}`
	}

	t.Run("vendor limits", func(t *testing.T) {
		limited, free := jwt("aiflow_limited", "sk_limited"), jwt("aiflow_legacy", "sk_legacy")
		for i := range 30 {
			code, body := do("POST", base+"/api/webhook/outbound", limited, outbound(i, "f"))
			expect(t, "outbound "+strconv.Itoa(i+1)+" of the minute", code, body, 200, `"success":true`)
		}
		code, body, retry := doHeader("POST", base+"/api/webhook/outbound", limited, outbound(30, "f"), "Retry-After")
		expect(t, "the 31st outbound of the minute", code, body, 429, `{"error":"Too many requests, please try again later."}`)
		if s, err := strconv.Atoi(retry); err != nil || s < 1 || s > 60 {
			t.Errorf("Retry-After %q, want the seconds left of the minute", retry)
		}
		for i := range 35 {
			code, body := do("POST", base+"/api/webhook/outbound", free, outbound(100+i, "f"))
			expect(t, "outbound of a tenant without vendor_limits", code, body, 200, `"success":true`)
		}
	})

	t.Run("bulk-send template or group", func(t *testing.T) {
		code, body := do("POST", base+"/api/templates/bulk-send", jwt("aiflow_legacy", "sk_legacy"),
			`{"templateId":"template-uuid","templateGroupId":"YOUR_TEMPLATE_GROUP_ID","phones":["+972501234567"]}`)
		expect(t, "templateId with templateGroupId", code, body, 400, `{"error":"templateGroupId cannot be combined with templateId: give one of them"}`)
	})

	t.Run("legacy per-flow credentials", func(t *testing.T) {
		lead := `{"phone":"+972501112222","name":"John"}`
		basic := func(user, pass string) map[string]string {
			return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
		}
		apiKey := map[string]string{"X-API-Key": "legacy-api-key"}
		verify := map[string]string{"Authorization": "Bearer legacy-verify-token"}
		for _, c := range []struct {
			name, path string
			headers    map[string]string
			body       string
			code       int
			want       string
		}{
			{"API key on its flow", "/api/webhook/flow/flow-key/lead", apiKey, lead, 200, `"message":"Lead received and flow started"`},
			{"a wrong API key", "/api/webhook/flow/flow-key/lead", map[string]string{"X-API-Key": "nope"}, lead, 401, `"error"`},
			{"the API key on another flow", "/api/webhook/flow/flow-basic/lead", apiKey, lead, 401, `"error"`},
			{"Basic on its flow", "/api/webhook/flow/flow-basic/lead", basic("crm", "basic-pass"), lead, 200, `"success":true`},
			{"Basic with a wrong password", "/api/webhook/flow/flow-basic/lead", basic("crm", "basic-past"), lead, 401, `"error"`},
			{"Basic with a wrong user", "/api/webhook/flow/flow-basic/lead", basic("crn", "basic-pass"), lead, 401, `"error"`},
			{"verify token on its flow's lead", "/api/webhook/flow/flow-token/lead", verify, lead, 200, `"success":true`},
			{"verify token on its flow's outbound", "/api/webhook/outbound", verify, outbound(200, "flow-token"), 200, `"flowId":"flow-token"`},
			{"verify token on another flow's outbound", "/api/webhook/outbound", verify, outbound(201, "flow-key"), 401, `"error"`},
			{"verify token where only JWTs go", "/api/templates/bulk-send", verify, `{"templateId":"t","flowId":"flow-token","phones":["+972501234567"]}`, 401, `"error"`},
			{"API key on outbound (lead only)", "/api/webhook/outbound", apiKey, outbound(202, "flow-key"), 401, `"Unauthorized: missing Authorization Bearer token"`},
		} {
			code, body := do("POST", base+c.path, c.headers, c.body)
			expect(t, c.name, code, body, c.code, c.want)
		}
	})
}

const flowbotReloadConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
flowbot: { jwt_secret: "{{SECRET}}", token_requests_per_window: 2, token_window: 1h }
tenants:
  - id: acme
    flowbot: { client_id: "aiflow_acme", api_key: "sk_demo" }
{{EXTRA}}
upstreams:
  - { name: sandbox, dialect: sandbox }
routes:
  - { name: default, match: {}, upstreams: [sandbox] }
`

// TestFlowBotStateAcrossReload: the FlowBot dialect is rebuilt on reload and keeps what is
// still valid: the per-IP window of api-token survives a change of tenants, and tokens
// signed with a secret the reload replaced stop opening the API.
func TestFlowBotStateAcrossReload(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	write := func(secret, extra string) string {
		return writeConfig(t, dir, fillConfig(flowbotReloadConfig, "ADDR", addr, "DATA", dir+"/data", "SECRET", secret, "EXTRA", extra))
	}
	startProc(t, addr, "serve", "-config", write("a-test-jwt-secret-of-some-length", ""))
	base := "http://" + addr
	reload := func() {
		t.Helper()
		code, body := do("POST", base+"/admin/v1/reload", adminAuth, "")
		expect(t, "reload", code, body, 200, `"reloaded":true`)
	}
	token := `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`
	code, body := do("POST", base+"/api/auth/api-token", nil, token)
	expect(t, "token 1", code, body, 200, `"accessToken"`)
	var tok struct{ AccessToken string }
	json.Unmarshal([]byte(body), &tok)
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	code, body = do("POST", base+"/api/webhook/outbound", bearer, `{"phone":"+972501234567","flowId":"f"}`)
	expect(t, "outbound with the token", code, body, 200, `"success":true`)

	write("a-test-jwt-secret-of-some-length", "  - { id: beta, flowbot: { client_id: aiflow_beta, api_key: sk_beta } }")
	reload()
	code, body = do("POST", base+"/api/auth/api-token", nil, token)
	expect(t, "token 2, after a reload that added a tenant", code, body, 200, `"accessToken"`)
	code, body = do("POST", base+"/api/auth/api-token", nil, token)
	expect(t, "token 3: the window of two survived the reload", code, body, 429, `"error":"Too many token requests from this IP`)
	code, body = do("POST", base+"/api/webhook/outbound", bearer, `{"phone":"+972501234567","flowId":"f"}`)
	expect(t, "the token after a reload that kept the secret", code, body, 200, `"success":true`)

	write("another-jwt-secret-of-some-length", "")
	reload()
	code, body = do("POST", base+"/api/webhook/outbound", bearer, `{"phone":"+972501234567","flowId":"f"}`)
	expect(t, "a token signed with the replaced secret", code, body, 401, `"error"`)
}
