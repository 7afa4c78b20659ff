package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/bench/sim"
	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// matrixVendors are the matrix gateway's upstreams, one simulator each. Vendor i takes the
// destinations 9725011<i+1>xxxx, so every test message picks its vendor by number.
var matrixVendors = []string{"messageflow", "multiwhats", "wavy", "flowbot", "whatsappcloud"}

const matrixConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 3, initial_backoff: 100ms, max_backoff: 500ms }
flowbot: { jwt_secret: "a-test-jwt-secret-of-some-length" }
tenants:
  - id: acme
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key", user_id: 264, account_id: 34 }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
upstreams:
  - { name: messageflow, dialect: messageflow, receipts: open, url: "http://{{messageflow}}", credentials: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" } }
  - { name: multiwhats, dialect: multiwhats, receipts: open, url: "http://{{multiwhats}}", credentials: { apikey: "mw-demo-key", from: "905300000000" } }
  - { name: wavy, dialect: wavy, receipts: open, url: "http://{{wavy}}", credentials: { username: "acme", token: "wavy-demo-token" } }
  - { name: flowbot, dialect: flowbot, receipts: open, url: "http://{{flowbot}}", credentials: { client_id: "aiflow_acme", api_key: "sk_demo", flow_id: "text-flow" } }
  - { name: whatsappcloud, dialect: whatsappcloud, url: "http://{{whatsappcloud}}", credentials: { token: "cloud-demo-token", phone_number_id: "106540352242922" } }
routes:
  - { name: to-messageflow, match: { to_prefixes: ["97250111"] }, upstreams: [messageflow] }
  - { name: to-multiwhats, match: { to_prefixes: ["97250112"] }, upstreams: [multiwhats] }
  - { name: to-wavy, match: { to_prefixes: ["+97250113"] }, upstreams: [wavy] }
  - { name: to-flowbot, match: { to_prefixes: ["97250114"] }, upstreams: [flowbot] }
  - { name: to-whatsappcloud, match: { to_prefixes: ["97250115"] }, upstreams: [whatsappcloud] }
templates:
  - { name: order_ready, language: he, body: "שלום {{1}}, ההזמנה {{2}} מוכנה" }
  - { name: pedido_pronto, language: pt_BR, body: "Olá {{1}}, seu pedido {{2}} está pronto 📦" }
`

// vendorWant is what one vendor must receive: the simulator's decoding of the request (the vendor's
// own reading of it) field by field, and fragments of the raw body.
type vendorWant struct {
	kind             canonical.Kind
	from, text       string
	media            []canonical.Media
	buttons, options []string
	template         *canonical.Template
	flowID           string            // checked when set
	vars             map[string]string // these at least
	flash            bool
	body             []string
}

// textOnly is a message of text alone: as sent, or degraded to it.
func textOnly(text string) vendorWant { return vendorWant{kind: canonical.KindText, text: text} }

// flowText is text carried by FlowBot: the variable data.text of the upstream's flow.
func flowText(text string) vendorWant {
	return vendorWant{kind: canonical.KindFlow, flowID: "text-flow", vars: map[string]string{"text": text},
		body: []string{`"flowId":"text-flow"`, `"data":{"text":`}}
}

// matrixClient sends the inbound requests.
type matrixClient struct {
	base, flowbotToken string
}

type matrixCase struct {
	name string
	// send makes the request for the destination to (E.164 digits) and returns the message id
	// when the dialect answers with it.
	send func(t *testing.T, c *matrixClient, to string) string
	want map[string]vendorWant // by vendor
}

const (
	mfUUID     = "6a708fea-a4d0-4976-a180-9f3bdd3de52e"
	mwFrom     = "905300000000" // the MultiWhats upstream's configured sender line
	menuPDF    = "https://cdn.example.com/files/menu.pdf"
	photoJPG   = "https://cdn.example.com/p/photo.jpg"
	kampanya   = "https://cdn.example.com/img/kampanya.jpg"
	heText     = "שלום דנה,\nההזמנה שלך מוכנה ✅"
	trText     = "Merhaba Şule 👋\nSiparişiniz yola çıktı. Onaylıyor musunuz?"
	trButtons  = "\n\n1. 👍 Evet\n2. ⛔ Hayır"
	listText   = "Randevu günü seçin:"
	listLines  = "\n\n1. Pazartesi\n2. Salı\n3. Çarşamba\n4. Perşembe"
	imageText  = "Kampanya 🎉 %50 indirim — İstanbul"
	ptText     = "Olá, João!\nSua encomenda chegou. Código: 4821 🎉"
	heRendered = "שלום דנה, ההזמנה A-17 מוכנה"
	ptRendered = "Olá João, seu pedido 4821 está pronto 📦"
)

var (
	trButtonList = []string{"👍 Evet", "⛔ Hayır"}
	listOptions  = []string{"Pazartesi", "Salı", "Çarşamba", "Perşembe"}
	heTemplate   = &canonical.Template{Name: "order_ready", Language: "he", Params: []string{"דנה", "A-17"}}
	ptTemplate   = &canonical.Template{Name: "pedido_pronto", Language: "pt_BR", Params: []string{"João", "4821"}}
)

var matrixCases = []matrixCase{
	{
		name: "messageflow Hebrew text with sender and link",
		send: func(t *testing.T, c *matrixClient, to string) string {
			msg := mfEncode("שלום דנה,") + "MessageFlowLineBreak" + mfEncode("ההזמנה שלך מוכנה ✅")
			code, body := do("POST", c.base+"/add_message", nil, `{"UUID":"`+mfUUID+`","ToMobileNumber":"0`+to[3:]+
				`","ToCountryCode":"972","FromMobileNumber":"+972 50-123-4567","DownloadLink":"`+menuPDF+`","Message":"`+msg+`"}`)
			expect(t, "add_message", code, body, 200, `"success":true`)
			return messageID(t, body)
		},
		want: map[string]vendorWant{
			"messageflow": {kind: canonical.KindMedia, from: "972501234567", text: heText, media: []canonical.Media{{URL: menuPDF}},
				body: []string{`"FromMobileNumber":"972501234567"`, `"DownloadLink":"` + menuPDF + `"`}},
			"multiwhats": {kind: canonical.KindMedia, from: mwFrom, text: heText, media: []canonical.Media{{URL: menuPDF}},
				body: []string{`"type":"media"`, `"file_url":"` + menuPDF + `"`}},
			"wavy":    textOnly(heText + "\n\n" + menuPDF),
			"flowbot": flowText(heText + "\n\n" + menuPDF),
			"whatsappcloud": {kind: canonical.KindMedia, text: heText, media: []canonical.Media{{URL: menuPDF, Filename: "menu.pdf"}},
				body: []string{`"type":"document"`, `"filename":"menu.pdf"`}},
		},
	},
	{
		name: "multiwhats Turkish buttons with emoji",
		send: func(t *testing.T, c *matrixClient, to string) string {
			return c.multiwhats(t, map[string]any{"from": "908503080335", "to": to, "message": trText, "type": "button", "buttons": trButtonList})
		},
		want: map[string]vendorWant{
			"messageflow": {kind: canonical.KindText, from: "908503080335", text: trText + trButtons},
			"multiwhats": {kind: canonical.KindButtons, from: mwFrom, text: trText, buttons: trButtonList,
				body: []string{`"type":"button"`}},
			"wavy":    textOnly(trText + trButtons),
			"flowbot": flowText(trText + trButtons),
			"whatsappcloud": {kind: canonical.KindButtons, text: trText, buttons: trButtonList,
				body: []string{`"interactive":{"type":"button"`, `"id":"btn-2"`}},
		},
	},
	{
		name: "multiwhats list",
		send: func(t *testing.T, c *matrixClient, to string) string {
			return c.multiwhats(t, map[string]any{"from": "+90 850 308 03 35", "to": to, "message": listText, "type": "list", "options": listOptions})
		},
		want: map[string]vendorWant{
			"messageflow": {kind: canonical.KindText, from: "908503080335", text: listText + listLines},
			"multiwhats": {kind: canonical.KindList, from: mwFrom, text: listText, options: listOptions,
				body: []string{`"type":"list"`}},
			"wavy":    textOnly(listText + listLines),
			"flowbot": flowText(listText + listLines),
			"whatsappcloud": {kind: canonical.KindList, text: listText, options: listOptions,
				body: []string{`"interactive":{"type":"list"`, `"id":"opt-4"`}},
		},
	},
	{
		name: "multiwhats image with caption",
		send: func(t *testing.T, c *matrixClient, to string) string {
			return c.multiwhats(t, map[string]any{"from": "908503080335", "to": to, "message": imageText, "type": "image", "file_url": kampanya})
		},
		want: map[string]vendorWant{
			"messageflow": {kind: canonical.KindMedia, from: "908503080335", text: imageText, media: []canonical.Media{{URL: kampanya}},
				body: []string{`"DownloadLink":"` + kampanya + `"`}},
			"multiwhats": {kind: canonical.KindMedia, from: mwFrom, text: imageText, media: []canonical.Media{{URL: kampanya}},
				body: []string{`"type":"image"`}},
			"wavy":    textOnly(imageText + "\n\n" + kampanya),
			"flowbot": flowText(imageText + "\n\n" + kampanya),
			"whatsappcloud": {kind: canonical.KindMedia, text: imageText, media: []canonical.Media{{URL: kampanya}},
				body: []string{`"type":"image","image":{"link":"` + kampanya + `","caption":`}},
		},
	},
	{
		name: "wavy Portuguese flash SMS",
		send: func(t *testing.T, c *matrixClient, to string) string {
			b, _ := json.Marshal(map[string]any{"destination": "+" + to[:3] + " " + to[3:5] + "-" + to[5:8] + "-" + to[8:],
				"messageText": ptText, "flashSMS": true, "correlationId": "pedido-" + to, "extraInfo": "loja-7"})
			code, body := do("POST", c.base+"/v1/send-sms", map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}, string(b))
			expect(t, "send-sms", code, body, 200, `"correlationId":"pedido-`+to+`"`)
			var a []struct{ ID string }
			if json.Unmarshal([]byte(body), &a) != nil || len(a) != 1 || a[0].ID == "" {
				t.Fatalf("send-sms answer %s", body)
			}
			return a[0].ID
		},
		want: map[string]vendorWant{
			"messageflow": textOnly(ptText),
			"multiwhats":  {kind: canonical.KindText, from: mwFrom, text: ptText, body: []string{`"type":"text"`}},
			"wavy": {kind: canonical.KindText, text: ptText, flash: true,
				body: []string{`"flashSMS":true`, `"extraInfo":"loja-7"`}},
			"flowbot":       flowText(ptText),
			"whatsappcloud": {kind: canonical.KindText, text: ptText, body: []string{`"type":"text","text":{"body":`}},
		},
	},
	{
		name: "flowbot template with Hebrew parameters",
		send: func(t *testing.T, c *matrixClient, to string) string {
			code, body := do("POST", c.base+"/api/webhook/outbound", map[string]string{"Authorization": "Bearer " + c.flowbotToken},
				`{"phone":"+`+to+`","flowId":"f-orders","templateName":"order_ready","data":{"templateLanguage":"he","templateParams":["דנה","A-17"],"customerName":"Dana"}}`)
			expect(t, "outbound", code, body, 200, `"success":true`)
			return ""
		},
		want: map[string]vendorWant{
			"messageflow": textOnly(heRendered),
			"multiwhats":  {kind: canonical.KindText, from: mwFrom, text: heRendered},
			"wavy":        textOnly(heRendered),
			"flowbot": {kind: canonical.KindTemplate, template: heTemplate, flowID: "f-orders", vars: map[string]string{"customerName": "Dana"},
				body: []string{`"flowId":"f-orders"`, `"templateName":"order_ready"`, `"templateParams":["דנה","A-17"]`}},
			"whatsappcloud": {kind: canonical.KindTemplate, template: heTemplate,
				body: []string{`"type":"template"`, `"language":{"code":"he"}`}},
		},
	},
	{
		name: "native buttons with an image header",
		send: func(t *testing.T, c *matrixClient, to string) string {
			code, body := sendNative(strings.TrimPrefix(c.base, "http://"),
				`{"to":"+`+to+`","from":"+972 50-123-4567","text":"Pick one 👇","media":[{"url":"`+photoJPG+`"}],"buttons":["Yes","No"]}`)
			expect(t, "native", code, body, 202, `"id"`)
			return messageID(t, body)
		},
		want: map[string]vendorWant{
			"messageflow": {kind: canonical.KindMedia, from: "972501234567", text: "Pick one 👇\n\n1. Yes\n2. No", media: []canonical.Media{{URL: photoJPG}}},
			"multiwhats": {kind: canonical.KindButtons, from: mwFrom, text: "Pick one 👇", buttons: []string{"Yes", "No"},
				media: []canonical.Media{{URL: photoJPG}}, body: []string{`"type":"button"`, `"file_url":"` + photoJPG + `"`}},
			"wavy":    textOnly("Pick one 👇\n\n1. Yes\n2. No\n\n" + photoJPG),
			"flowbot": flowText("Pick one 👇\n\n1. Yes\n2. No\n\n" + photoJPG),
			"whatsappcloud": {kind: canonical.KindButtons, text: "Pick one 👇", buttons: []string{"Yes", "No"}, media: []canonical.Media{{URL: photoJPG}},
				body: []string{`"header":{"type":"image","image":{"link":"` + photoJPG + `"}}`}},
		},
	},
	{
		name: "native template in Portuguese",
		send: func(t *testing.T, c *matrixClient, to string) string {
			code, body := sendNative(strings.TrimPrefix(c.base, "http://"),
				`{"to":"+`+to+`","template":{"name":"pedido_pronto","language":"pt_BR","params":["João","4821"]}}`)
			expect(t, "native", code, body, 202, `"id"`)
			return messageID(t, body)
		},
		want: map[string]vendorWant{
			"messageflow": textOnly(ptRendered),
			"multiwhats":  {kind: canonical.KindText, from: mwFrom, text: ptRendered},
			"wavy":        textOnly(ptRendered),
			"flowbot": {kind: canonical.KindTemplate, template: ptTemplate, flowID: "text-flow",
				body: []string{`"templateName":"pedido_pronto"`, `"templateLanguage":"pt_BR"`, `"templateParams":["João","4821"]`}},
			"whatsappcloud": {kind: canonical.KindTemplate, template: ptTemplate,
				body: []string{`"language":{"code":"pt_BR"}`, `{"type":"text","text":"João"}`}},
		},
	},
}

func (c *matrixClient) multiwhats(t *testing.T, req map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(req)
	code, body := do("POST", c.base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", nil, string(b))
	expect(t, "send-dynamic", code, body, 200, `"status":"done"`)
	return "" // MultiWhats answers its own integer id
}

// TestTranslationMatrix sends a request in each inbound dialect to each of the five vendors
// (one simulator process each, one gateway routing by destination prefix) and checks, field
// by field, what every vendor received: its raw request and its own reading of it.
func TestTranslationMatrix(t *testing.T) {
	sims := map[string]*simProc{}
	kv := []string{}
	for _, v := range matrixVendors {
		sims[v] = startSim(t, v)
		kv = append(kv, v, sims[v].addr)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fillConfig(matrixConfig, append(kv, "ADDR", addr, "DATA", dir+"/data")...)
	gw := startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))

	c := &matrixClient{base: "http://" + addr}
	code, body := do("POST", c.base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`)
	var tok struct{ AccessToken string }
	if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("api-token: %d %s", code, body)
	}
	c.flowbotToken = tok.AccessToken

	type sent struct {
		cs             *matrixCase
		vendor, to, id string
	}
	var all []sent
	for i := range matrixCases {
		cs := &matrixCases[i]
		for v, vendor := range matrixVendors {
			to := fmt.Sprintf("9725011%d%04d", v+1, i+1)
			all = append(all, sent{cs: cs, vendor: vendor, to: to, id: cs.send(t, c, to)})
		}
	}

	got := map[string]sim.Received{} // destination -> the vendor's request
	if !testutil.Until(30*time.Second, func() bool {
		for _, vendor := range matrixVendors {
			for _, r := range sims[vendor].requests(t) {
				if r.Status/100 != 2 {
					continue
				}
				// Messages that reach Wavy together travel in one send-bulk-sms request:
				// each is checked against that request.
				for _, m := range r.Message {
					one := r
					one.Message = []*canonical.Message{m}
					got[m.To] = one
				}
			}
		}
		return len(got) >= len(all)
	}) {
		var missing []string
		for _, s := range all {
			if _, ok := got[s.to]; !ok {
				missing = append(missing, s.cs.name+" -> "+s.vendor)
			}
		}
		code, ups := get("http://"+addr+"/admin/v1/upstreams", adminAuth)
		t.Fatalf("never reached their vendor:\n  %s\nupstreams: %d %s\ngateway log:\n%s",
			strings.Join(missing, "\n  "), code, ups, gw.output())
	}

	var ids []string
	for _, s := range all {
		t.Run(s.cs.name+" to "+s.vendor, func(t *testing.T) {
			r := got[s.to]
			w := s.cs.want[s.vendor]
			checkVendorRequest(t, s.vendor, s.to, s.id, &r, &w)
			checkMessage(t, r.Message[0], &w)
		})
		if s.id != "" {
			ids = append(ids, s.id)
		}
	}
	for id, st := range waitFinal(t, addr, ids, 15*time.Second) {
		if st.Status != canonical.StatusSent {
			t.Errorf("message %s: status %s (%s), want sent", id, st.Status, st.LastError)
		}
	}
	for name, u := range adminUpstreams(t, addr) {
		if u.Sent != uint64(len(matrixCases)) || u.Failed != 0 || u.Retried != 0 {
			t.Errorf("upstream %s: sent %d, failed %d, retried %d; want %d sent and nothing else", name, u.Sent, u.Failed, u.Retried, len(matrixCases))
		}
	}
}

// checkVendorRequest checks what every request to the vendor has: path, credentials, the
// destination in the vendor's own field, and its encoding of the text.
func checkVendorRequest(t *testing.T, vendor, to, id string, r *sim.Received, w *vendorWant) {
	t.Helper()
	var uri string
	var headers map[string]string
	var body []string
	switch vendor {
	case "messageflow":
		uri = "/add_message"
		body = []string{`"UUID":"` + mfUUID + `"`, `"ToMobileNumber":"` + to + `"`, `"Message":"` + mfEncode(w.text) + `"`}
	case "multiwhats":
		uri = "/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key"
		body = []string{`"to":"` + to + `"`, `"from":"` + mwFrom + `"`}
	case "wavy":
		uri = "/v1/send-sms"
		headers = map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
		body = []string{`"destination":"` + to + `"`}
		if id != "" { // the vendor's correlationId is the gateway's id, to match its statuses
			body = append(body, `"correlationId":"`+id+`"`)
			if r.Message[0].ClientRef != id {
				t.Errorf("wavy correlationId %q, want the message id %q", r.Message[0].ClientRef, id)
			}
		}
	case "flowbot":
		uri = "/api/webhook/outbound"
		body = []string{`"phone":"+` + to + `"`}
		if h := receivedHeader(r, "Authorization"); !strings.HasPrefix(h, "Bearer ey") {
			t.Errorf("flowbot Authorization %q, want the JWT from /api/auth/api-token", h)
		}
	case "whatsappcloud":
		uri = "/v21.0/106540352242922/messages"
		headers = map[string]string{"Authorization": "Bearer cloud-demo-token"}
		body = []string{`"messaging_product":"whatsapp"`, `"to":"` + to + `"`}
	}
	if vendor == "wavy" && r.URI == "/v1/send-bulk-sms" {
		uri = r.URI // sent together with other messages
	}
	if r.Method != "POST" || r.URI != uri {
		t.Errorf("%s %s, want POST %s", r.Method, r.URI, uri)
	}
	for k, v := range headers {
		if h := receivedHeader(r, k); h != v {
			t.Errorf("header %s: %q, want %q", k, h, v)
		}
	}
	for _, frag := range append(body, w.body...) {
		if !strings.Contains(r.Body, frag) {
			t.Errorf("body lacks %s:\n%s", frag, r.Body)
		}
	}
}

// checkMessage compares the vendor's reading of the request with w.
func checkMessage(t *testing.T, m *canonical.Message, w *vendorWant) {
	t.Helper()
	if m.Kind != w.kind || m.From != w.from || m.Text != w.text || m.Flash != w.flash {
		t.Errorf("kind %q from %q flash %v text %q;\nwant kind %q from %q flash %v text %q",
			m.Kind, m.From, m.Flash, m.Text, w.kind, w.from, w.flash, w.text)
	}
	if fmt.Sprint(m.Media) != fmt.Sprint(w.media) {
		t.Errorf("media %+v, want %+v", m.Media, w.media)
	}
	if !sameStrings(m.Buttons, w.buttons) || !sameStrings(m.Options, w.options) {
		t.Errorf("buttons %q options %q, want %q %q", m.Buttons, m.Options, w.buttons, w.options)
	}
	if (m.Template == nil) != (w.template == nil) ||
		m.Template != nil && (m.Template.Name != w.template.Name || m.Template.Language != w.template.Language ||
			!sameStrings(m.Template.Params, w.template.Params)) {
		t.Errorf("template %+v, want %+v", m.Template, w.template)
	}
	if w.flowID != "" && m.FlowID != w.flowID {
		t.Errorf("flow %q, want %q", m.FlowID, w.flowID)
	}
	for k, v := range w.vars {
		if m.Vars[k] != v {
			t.Errorf("variable %s = %q, want %q (all: %v)", k, m.Vars[k], v, m.Vars)
		}
	}
}

func receivedHeader(r *sim.Received, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// mfEncode is RFC 3986 percent-encoding of every byte but letters, digits and -_.~: how
// MessageFlow's documents write Message, and how its upstream sends it.
func mfEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
