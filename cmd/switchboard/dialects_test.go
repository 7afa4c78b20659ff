package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// dialectsConfig has one tenant with every dialect's credentials, routed to the test sink.
const dialectsConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length" }
tenants:
  - id: acme
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key", user_id: 264, account_id: 34 }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
upstreams:
  - { name: sink, dialect: http, receipts: open, url: "http://{{SINK}}/messages" }
routes:
  - { name: default, match: {}, upstreams: [sink] }
`

func (s *sink) messages() []canonical.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]canonical.Message, len(s.bodies))
	copy(out, s.bodies)
	return out
}

// waitFor waits for a delivered message that matches and returns it.
func (s *sink) waitFor(t *testing.T, what string, match func(m *canonical.Message) bool) *canonical.Message {
	t.Helper()
	var found *canonical.Message
	if !testutil.Until(10*time.Second, func() bool {
		for _, m := range s.messages() {
			if match(&m) {
				found = &m
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s never reached the upstream", what)
	}
	return found
}

func startDialectGateway(t *testing.T) (*sink, string) {
	sk := startSink(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", dir+"/data", "{{SINK}}", sk.addr).Replace(dialectsConfig)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
	return sk, "http://" + addr
}

func expect(t *testing.T, what string, code int, body string, wantCode int, wantIn string) {
	t.Helper()
	if code != wantCode || !strings.Contains(body, wantIn) {
		t.Fatalf("%s: got %d %s; want %d containing %q", what, code, body, wantCode, wantIn)
	}
}

func sameStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// TestDialectExamplesReachUpstream sends each vendor document's examples to a running
// gateway and checks what reaches the upstream: destination, text, media, buttons,
// template parameters and variables.
func TestDialectExamplesReachUpstream(t *testing.T) {
	sk, base := startDialectGateway(t)
	const mfUUID = "6a708fea-a4d0-4976-a180-9f3bdd3de52e"

	t.Run("messageflow", func(t *testing.T) {
		code, body := do("POST", base+"/add_message", nil, `{"UUID":"`+mfUUID+`","ToMobileNumber":"0501110001","ToCountryCode":"972","FromMobileNumber":"972501234567","DownloadLink":"https://www.dropbox.com/s/xxxxxxxx/Logo.jpg?dl=1","Message":"%D7%A9%D7%9C%D7%95%D7%9DMessageFlowLineBreakworld"}`)
		expect(t, "add_message", code, body, 200, `"success":true`)
		m := sk.waitFor(t, "the JSON example", func(m *canonical.Message) bool { return m.To == "972501110001" })
		if m.Text != "שלום\nworld" || m.From != "972501234567" || len(m.Media) != 1 || m.Media[0].URL != "https://www.dropbox.com/s/xxxxxxxx/Logo.jpg?dl=1" || m.Tenant != "acme" || m.Dialect != "messageflow" {
			t.Errorf("delivered %+v", m)
		}
		code, body = get(base+`/webhook/add_message?UUID=`+mfUUID+`&toMobileNumber=0501110002&toCountryCode=972&downloadLink=C:\Users\dana\Pictures\logo.jpg&wapMessage=Hello%0AWorld`, nil)
		expect(t, "webhook GET", code, body, 200, `"success":true`)
		m = sk.waitFor(t, "the GET link", func(m *canonical.Message) bool { return m.To == "972501110002" })
		if m.Text != "Hello\nWorld" || len(m.Media) != 1 || !m.Media[0].Local || m.Media[0].URL != `C:\Users\dana\Pictures\logo.jpg` {
			t.Errorf("delivered %+v", m)
		}
		code, body = do("POST", base+"/add_message", nil, `{"UUID":"00000000-0000-0000-0000-000000000000","ToMobileNumber":"972501234567","Message":"x"}`)
		expect(t, "unknown UUID", code, body, 401, `"success":false`)
	})

	t.Run("multiwhats", func(t *testing.T) {
		doc := `{ "from": "908503080335", "to": "905374937766", "message": "Hi, dear guest 👤 \n\nWe want to send message to you.\n\nDo you allow us for sending message to you? \n\n 📨", "type": "button", "buttons": [ "👍 Yes", "⛔ No" ] }`
		code, body := do("POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", nil, doc)
		expect(t, "send-dynamic", code, body, 200, `"status":"done"`)
		var rec struct {
			ID     int `json:"id"`
			UserID int `json:"user_id"`
		}
		if json.Unmarshal([]byte(body), &rec) != nil || rec.ID <= 0 || rec.UserID != 264 {
			t.Errorf("answer %s: want an integer id and user_id 264", body)
		}
		m := sk.waitFor(t, "the button example", func(m *canonical.Message) bool { return m.To == "905374937766" })
		if !sameStrings(m.Buttons, []string{"👍 Yes", "⛔ No"}) || m.From != "908503080335" || !strings.HasPrefix(m.Text, "Hi, dear guest 👤 \n\n") || m.Kind != canonical.KindButtons || m.Seq != uint64(rec.ID) {
			t.Errorf("delivered %+v", m)
		}
		code, body = do("POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=wrong", nil, doc)
		expect(t, "wrong apikey", code, body, 401, `"message":"Unauthenticated."`)
	})

	t.Run("wavy", func(t *testing.T) {
		auth := map[string]string{"authenticationtoken": "wavy-demo-token", "username": "acme"}
		code, body := do("POST", base+"/v1/send-sms", auth, `{"destination": "5511900000001" , "messageText": "linha\nquebrada"}`)
		expect(t, "send-sms", code, body, 200, `[{"id":"`)
		m := sk.waitFor(t, "the single example", func(m *canonical.Message) bool { return m.To == "5511900000001" })
		if m.Text != "linha\nquebrada" || m.Channel != canonical.ChannelSMS {
			t.Errorf("delivered %+v", m)
		}
		bulk := `{"messages":[{"destination":"5519900001111","params":{"param1":"other_value1","param2":"other_value2"}},{"destination":"5519900002222"}],"defaultValues":{"params":{"param1":"value1","param2":"value2"}},"flowId":"14f8142d-e731-4971-8220-5a76a12c413f"}`
		code, body = do("POST", base+"/v1/send-bulk-sms", auth, bulk)
		expect(t, "send-bulk-sms", code, body, 200, `"messages":[{"id":`)
		m = sk.waitFor(t, "bulk message 1", func(m *canonical.Message) bool { return m.To == "5519900001111" })
		if m.FlowID != "14f8142d-e731-4971-8220-5a76a12c413f" || m.Vars["param1"] != "other_value1" || m.Vars["param2"] != "other_value2" {
			t.Errorf("delivered %+v", m)
		}
		m = sk.waitFor(t, "bulk message 2", func(m *canonical.Message) bool { return m.To == "5519900002222" })
		if m.Vars["param1"] != "value1" || m.BatchID == "" {
			t.Errorf("delivered %+v", m)
		}
		// correlationId: the same request again is answered with the original id and queues
		// nothing; the same correlationId on another message is a new message.
		single := `{"destination":"5511900000003","messageText":"pedido 7","correlationId":"order-7"}`
		code, first := do("POST", base+"/v1/send-sms", auth, single)
		expect(t, "send with correlationId", code, first, 200, `"correlationId":"order-7"`)
		code, again := do("POST", base+"/v1/send-sms", auth, single)
		expect(t, "the same request again", code, again, 200, first)
		code, other := do("POST", base+"/v1/send-sms", auth, `{"destination":"5511900000003","messageText":"pedido 8","correlationId":"order-7"}`)
		expect(t, "the same correlationId on another message", code, other, 200, `"correlationId":"order-7"`)
		if other == first {
			t.Fatalf("a different message with a reused correlationId got the original answer: %s", other)
		}
		sk.waitFor(t, "pedido 8", func(m *canonical.Message) bool { return m.Text == "pedido 8" })
		waitDrained(t, strings.TrimPrefix(base, "http://"), 10*time.Second) // a second copy would have reached the sink
		n := 0
		for _, m := range sk.messages() {
			if m.Text == "pedido 7" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the repeated request reached the upstream %d times, want once", n)
		}
		code, body = do("POST", base+"/v1/sms/status/search", auth, `{"correlationIds":["order-7"]}`)
		expect(t, "status search by correlationId", code, body, 200, `"smsStatuses":[{`)
		if strings.Count(body, `"correlationId":"order-7"`) != 2 {
			t.Errorf("status search should find both messages with correlationId order-7: %s", body)
		}
		code, body = do("POST", base+"/v1/send-sms", map[string]string{"username": "acme", "authenticationtoken": "bad"}, `{"destination":"5511900000000","messageText":"x"}`)
		expect(t, "bad token", code, body, 401, "Authentication Error: No user was found with this combination of username and Authentication token.")
	})

	t.Run("flowbot", func(t *testing.T) {
		code, body := do("POST", base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo","ttlSec":3600}`)
		expect(t, "api-token", code, body, 200, `"tokenType":"Bearer"`)
		var tok struct{ AccessToken string }
		json.Unmarshal([]byte(body), &tok)
		bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
		code, body = do("POST", base+"/api/webhook/outbound", bearer, `{
    "phone": "+972501110003",
    "flowId": "a8b4ef2d-a8a4-4650-9414-ab6f335e01b4",
    "templateName": "rayon_hello_utility_04_20260315",
    "queue": true,
    "data": {
      "customerName": "John Doe",
      "templateLanguage": "he",
      "templateParams": ["123456"],
      "code": "123456",
      "phoneNumberId": "YOUR_META_PHONE_NUMBER_ID",
      "sourceRef": "crm-lead-90210",
      "campaignId": "recruitment-march"
    }
  }`)
		expect(t, "outbound", code, body, 200, `"message":"Outbound flow triggered for +972501110003"`)
		m := sk.waitFor(t, "the template example", func(m *canonical.Message) bool { return m.To == "972501110003" })
		if m.Template == nil || m.Template.Name != "rayon_hello_utility_04_20260315" || m.Template.Language != "he" ||
			!sameStrings(m.Template.Params, []string{"123456"}) || m.Vars["customerName"] != "John Doe" || m.FlowID != "a8b4ef2d-a8a4-4650-9414-ab6f335e01b4" {
			t.Errorf("delivered %+v %+v", m, m.Template)
		}
		lead := `{"phone":"+972501110004","name":"John"}`
		mac := hmac.New(sha256.New, []byte("demo-secret"))
		mac.Write([]byte(lead))
		code, body = do("POST", base+"/api/webhook/flow/FLOW_ID/lead", map[string]string{"X-Signature-256": hex.EncodeToString(mac.Sum(nil))}, lead)
		expect(t, "lead with HMAC", code, body, 200, `"variables":["phone","name"]`)
		m = sk.waitFor(t, "the lead", func(m *canonical.Message) bool { return m.To == "972501110004" })
		if m.FlowID != "FLOW_ID" || m.Vars["name"] != "John" {
			t.Errorf("delivered %+v", m)
		}
		code, body = do("POST", base+"/api/webhook/flow/FLOW_ID/lead", map[string]string{"X-Signature-256": strings.Repeat("0", 64)}, lead)
		expect(t, "lead with a wrong signature", code, body, 401, `"error"`)
		forged := tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA"
		code, body = do("POST", base+"/api/webhook/outbound", map[string]string{"Authorization": "Bearer " + forged}, `{"phone":"+972501234567","flowId":"f"}`)
		expect(t, "forged token", code, body, 401, `"error"`)
		code, body = do("POST", base+"/api/templates/bulk-send", bearer, `{"templateId":"template-uuid","phones":["+972501110005","+972501110006"]}`)
		expect(t, "bulk-send", code, body, 200, `"success":true`)
		sk.waitFor(t, "bulk-send 2", func(m *canonical.Message) bool {
			return m.To == "972501110006" && m.Template != nil && m.Template.ID == "template-uuid"
		})
		// check-sent answers from the gateway's own history once the template was sent.
		testutil.Until(10*time.Second, func() bool { // the expects below say what was missing
			code, body = do("POST", base+"/api/templates/check-sent", bearer, `{"phones":["+972501110003","+972509999999"]}`)
			return strings.Contains(body, `{"phone":"+972501110003","sent":true`)
		})
		expect(t, "check-sent", code, body, 200, `{"phone":"+972501110003","sent":true`)
		expect(t, "check-sent", code, body, 200, `{"phone":"+972509999999","sent":false}`)
		code, body = do("POST", base+"/api/templates/check-sent", bearer, `{"phones":["+972501110003"],"templateName":"rayon_hello_utility_04_20260315"}`)
		expect(t, "check-sent by the template's name", code, body, 200, `"sent":true`)
		code, body = do("GET", base+"/api/templates/check-sent?phones=%2B972501110003&templateName=another_template", bearer, "")
		expect(t, "check-sent by another template's name", code, body, 200, `"sent":false`)
	})

	t.Run("unknown paths answer in the dialect's shape", func(t *testing.T) {
		for _, c := range []struct{ path, want string }{
			{"/api/v1/nope", `"message"`}, {"/v1/nope", `"errorCode":404`}, {"/api/nope", `"error"`}, {"/webhook/nope", `"success":false`},
		} {
			code, body := get(base+c.path, nil)
			expect(t, c.path, code, body, 404, c.want)
		}
	})
	_ = fmt.Sprint
}
