package flowbot

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func newUpstream(t *testing.T, creds map[string]string) adapters.Outbound {
	t.Helper()
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "fb", URL: "https://flowbot.example.com/", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var upCreds = map[string]string{"client_id": "aiflow_acme", "api_key": "sk_demo", "flow_id": "cfg-flow"}

func authUpstream(t *testing.T) adapters.Authenticator {
	t.Helper()
	a, ok := newUpstream(t, upCreds).(adapters.Authenticator)
	if !ok {
		t.Fatal("client credentials do not make an Authenticator")
	}
	return a
}

func TestNewOutbound(t *testing.T) {
	for name, cfg := range map[string]adapters.UpstreamConfig{
		"no url":       {Credentials: upCreds},
		"not http":     {URL: "ftp://x", Credentials: upCreds},
		"no host":      {URL: "https://", Credentials: upCreds},
		"no creds":     {URL: "https://x"},
		"half creds":   {URL: "https://x", Credentials: map[string]string{"client_id": "c"}},
		"only api_key": {URL: "https://x", Credentials: map[string]string{"api_key": "k", "token": "t"}},
	} {
		if _, err := NewOutbound(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := newUpstream(t, map[string]string{"token": "legacy"})
	if _, ok := o.(adapters.Authenticator); ok {
		t.Error("a fixed token should not need the token exchange")
	}
	req := &fasthttp.Request{}
	if err := o.Encode(&canonical.Message{To: "972501234567", FlowID: "f", Kind: canonical.KindFlow}, req); err != nil {
		t.Fatal(err)
	}
	if got := string(req.Header.Peek("Authorization")); got != "Bearer legacy" {
		t.Errorf("Authorization %q", got)
	}
	if err := authUpstream(t).Encode(&canonical.Message{To: "972501234567", FlowID: "f"}, &fasthttp.Request{}); err == nil {
		t.Error("Encode without a token succeeded on a client-credentials upstream")
	}
	if c := o.Caps(); !c.Text || !c.Template || !c.Flow || c.Media || c.Buttons || c.List || c.LocalMedia || c.Flash {
		t.Errorf("caps %+v", c)
	}
}

func TestEncodeToken(t *testing.T) {
	a := authUpstream(t)
	req := &fasthttp.Request{}
	a.EncodeToken(req)
	if m, u := string(req.Header.Method()), req.URI().String(); m != "POST" || u != "https://flowbot.example.com/api/auth/api-token" {
		t.Fatalf("%s %s", m, u)
	}
	if ct := string(req.Header.ContentType()); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	if got := string(req.Body()); got != `{"clientId":"aiflow_acme","apiKey":"sk_demo","ttlSec":3600}` {
		t.Errorf("body %s", got)
	}
	// Our own api-token endpoint reads what EncodeToken writes.
	id, key, ttl, err := ParseTokenRequest(&adapters.Call{Op: adapters.OpToken, Req: req})
	if err != nil || id != "aiflow_acme" || key != "sk_demo" || ttl != time.Hour {
		t.Errorf("ParseTokenRequest: %q %q %v %v", id, key, ttl, err)
	}
}

func TestParseToken(t *testing.T) {
	a := authUpstream(t)
	now := adaptertest.Now
	tok, exp, err := a.ParseToken(adaptertest.Response(200, `{"success":true,"tokenType":"Bearer","accessToken":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...","expiresInSec":3600,"clientNumber":"user-uuid","clientId":"aiflow_...."}`), now)
	if err != nil || tok != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..." || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("documented answer: %q %v %v", tok, exp, err)
	}
	for _, tc := range []struct {
		resp *fasthttp.Response
		code canonical.Code
		text string
	}{
		{adaptertest.Response(401, `{"error":"Invalid client credentials"}`), canonical.ErrUnauthorized, "Invalid client credentials"},
		{adaptertest.Response(403, `{"error":"API usage is not approved"}`), canonical.ErrUnauthorized, "not approved"},
		{adaptertest.Response(429, `{"error":"Too many requests"}`, "Retry-After", "900"), canonical.ErrTooMany, "Too many"},
		{adaptertest.Response(400, `{"error":"clientId is required"}`), canonical.ErrInvalid, "clientId is required"},
		{adaptertest.Response(500, `oops`), canonical.ErrUnavailable, "oops"},
		{adaptertest.Response(200, `{"success":true}`), canonical.ErrUnavailable, "no accessToken"},
		{adaptertest.Response(200, `<html>`), canonical.ErrUnavailable, "no accessToken"},
	} {
		_, _, err := a.ParseToken(tc.resp, now)
		e, ok := err.(*canonical.Error)
		if !ok || e.Code != tc.code || !strings.Contains(e.Reason, tc.text) {
			t.Errorf("%d %s: error %v", tc.resp.StatusCode(), tc.resp.Body(), err)
		}
		if tc.code == canonical.ErrTooMany && e.RetryAfter != 900*time.Second {
			t.Errorf("429: RetryAfter %v", e.RetryAfter)
		}
	}
}

// sent is what the upstream request looks like to FlowBot.
type sent struct {
	method, uri, auth, ctype string
	body                     map[string]any
}

func encodeAuthed(t *testing.T, m *canonical.Message) (*fasthttp.Request, sent) {
	t.Helper()
	req := &fasthttp.Request{}
	if err := authUpstream(t).EncodeAuthed(m, "jwt-token", req); err != nil {
		t.Fatalf("EncodeAuthed: %v", err)
	}
	s := sent{method: string(req.Header.Method()), uri: req.URI().String(), auth: string(req.Header.Peek("Authorization")),
		ctype: string(req.Header.ContentType())}
	if err := json.Unmarshal(req.Body(), &s.body); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, req.Body())
	}
	return req, s
}

func TestEncodeAuthed(t *testing.T) {
	const outbound = "https://flowbot.example.com/api/webhook/outbound"
	for _, tc := range []struct {
		name string
		m    canonical.Message
		uri  string
		body string
	}{{
		name: "text in Hebrew with line breaks, from another dialect: the configured flow's data.text",
		m:    canonical.Message{Dialect: "messageflow", To: "972501234567", Kind: canonical.KindText, Text: "שלום דני,\nהתור שלך נקבע ל-28/05\r\nתודה!"},
		uri:  outbound,
		body: `{"phone":"+972501234567","flowId":"cfg-flow","data":{"text":"שלום דני,\nהתור שלך נקבע ל-28/05\r\nתודה!"}}`,
	}, {
		name: "text in Portuguese with emoji, a Wavy flow replaced by the configured one, text wins over a text variable",
		m: canonical.Message{Dialect: "wavy", To: "5511987654321", Kind: canonical.KindText, FlowID: "pt-flow",
			Text: "Olá João! Seu pedido está a caminho 🚚\nObrigado 🙏", Vars: map[string]string{"text": "old", "nome": "João"}},
		uri:  outbound,
		body: `{"phone":"+5511987654321","flowId":"cfg-flow","data":{"nome":"João","text":"Olá João! Seu pedido está a caminho 🚚\nObrigado 🙏"}}`,
	}, {
		name: "template in Turkish with parameters",
		m: canonical.Message{Dialect: "native", To: "905321234567", Kind: canonical.KindTemplate,
			Template: &canonical.Template{Name: "siparis_durumu", Language: "tr", Params: []string{"Sipariş: çğıöşü İ", "\"kargo\"\n2"}}},
		uri:  outbound,
		body: `{"phone":"+905321234567","flowId":"cfg-flow","templateName":"siparis_durumu","data":{"templateLanguage":"tr","templateParams":["Sipariş: çğıöşü İ","\"kargo\"\n2"]}}`,
	}, {
		name: "template group and id, flow named by the message",
		m: canonical.Message{Dialect: "native", To: "972501234567", Kind: canonical.KindTemplate, FlowID: "a8b4ef2d",
			Template: &canonical.Template{ID: "tpl-uuid", GroupID: "grp-1"}},
		uri:  outbound,
		body: `{"phone":"+972501234567","flowId":"a8b4ef2d","templateId":"tpl-uuid","templateGroupId":"grp-1"}`,
	}, {
		name: "flow with variables; a FlowBot templateParams variable goes back as its array",
		m: canonical.Message{Dialect: Dialect, To: "972501234567", Kind: canonical.KindFlow, FlowID: "otp-flow",
			Vars:  map[string]string{"templateParams": `["482913",7]`, "code": "482913", "address": `{"city":"תל אביב"}`},
			Extra: map[string]string{"queue": "true"}},
		uri:  outbound,
		body: `{"phone":"+972501234567","flowId":"otp-flow","queue":true,"data":{"address":"{\"city\":\"תל אביב\"}","code":"482913","templateParams":["482913",7]}}`,
	}, {
		name: "bulk-send message: phoneNumberId into data, flow from config",
		m: canonical.Message{Dialect: Dialect, To: "972501234567", Kind: canonical.KindTemplate, Template: &canonical.Template{ID: "template-uuid"},
			Extra: map[string]string{"phoneNumberId": "PNID", "forceSend": "true", "allowMarketing": "false"}},
		uri:  outbound,
		body: `{"phone":"+972501234567","flowId":"cfg-flow","templateId":"template-uuid","data":{"phoneNumberId":"PNID"}}`,
	}, {
		name: "a queue flag and a flow id from another vendor are not FlowBot's",
		m:    canonical.Message{Dialect: "wavy", To: "972501234567", FlowID: "f", Kind: canonical.KindFlow, Extra: map[string]string{"queue": "true"}},
		uri:  outbound,
		body: `{"phone":"+972501234567","flowId":"cfg-flow"}`,
	}, {
		name: "lead back to the lead endpoint",
		m: canonical.Message{Dialect: Dialect, To: "972501234567", Kind: canonical.KindFlow, FlowID: "FLOW ID",
			Vars: map[string]string{"phone": "+972501234567", "name": "John Doe"}, Extra: map[string]string{"endpoint": "lead"}},
		uri:  "https://flowbot.example.com/api/webhook/flow/FLOW%20ID/lead",
		body: `{"name":"John Doe","phone":"+972501234567"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := encodeAuthed(t, &tc.m)
			if s.method != "POST" || s.uri != tc.uri || s.auth != "Bearer jwt-token" || s.ctype != "application/json" {
				t.Errorf("request %s %s, Authorization %q, Content-Type %q", s.method, s.uri, s.auth, s.ctype)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
				t.Fatal(err)
			}
			for k, v := range want {
				if !reflect.DeepEqual(s.body[k], v) {
					t.Errorf("%s = %#v, want %#v", k, s.body[k], v)
				}
			}
			for k := range s.body {
				if _, ok := want[k]; !ok {
					t.Errorf("unexpected field %s = %#v", k, s.body[k])
				}
			}
		})
	}
	for name, m := range map[string]canonical.Message{
		"media":   {To: "972501234567", FlowID: "f", Kind: canonical.KindMedia, Media: []canonical.Media{{URL: "https://x/y.jpg"}}},
		"buttons": {To: "972501234567", FlowID: "f", Kind: canonical.KindButtons, Text: "t", Buttons: []string{"a"}},
		"list":    {To: "972501234567", FlowID: "f", Kind: canonical.KindList, Text: "t", Options: []string{"a"}},
	} {
		if err := authUpstream(t).EncodeAuthed(&m, "t", &fasthttp.Request{}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	noFlow := newUpstream(t, map[string]string{"client_id": "c", "api_key": "k"}).(adapters.Authenticator)
	if err := noFlow.EncodeAuthed(&canonical.Message{To: "972501234567", Kind: canonical.KindText, Text: "hi"}, "t", &fasthttp.Request{}); err == nil {
		t.Error("a text message with no flow anywhere was encoded")
	}
}

// decodeSent decodes an upstream request with this package's own Inbound, as the FlowBot
// simulator will.
func decodeSent(t *testing.T, req *fasthttp.Request) *canonical.Message {
	t.Helper()
	op := adapters.OpOutbound
	if strings.HasSuffix(string(req.URI().Path()), "/lead") {
		op = adapters.OpLead
	}
	c := &adapters.Call{Op: op, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
	var b adapters.Batch
	if err := newTest().Decode(c, &b); err != nil {
		t.Fatalf("our Inbound rejects what our Outbound sent: %v\n%s", err, req.Body())
	}
	if len(b.Messages) != 1 {
		t.Fatalf("decoded %d messages", len(b.Messages))
	}
	status, body := newTest().Accepted(c, &b, nil)
	if status != 200 {
		t.Fatalf("answer %d %s", status, body)
	}
	if r := authUpstream(t).Classify(b.Messages[0], adaptertest.Response(status, string(body))); r.Outcome != adapters.Sent {
		t.Fatalf("our Outbound does not take our Inbound's answer as sent: %+v", r)
	}
	return b.Messages[0]
}

// TestRoundTripFlowBot: every message the golden cases decode from FlowBot's outbound and
// lead endpoints survives Encode and Decode unchanged.
func TestRoundTripFlowBot(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.json")
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c adaptertest.Case
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if (c.Op != adapters.OpOutbound && c.Op != adapters.OpLead) || len(c.Messages) == 0 {
			continue
		}
		n++
		for _, want := range c.Messages {
			req, _ := encodeAuthed(t, want)
			got := decodeSent(t, req)
			if !reflect.DeepEqual(comparable(got), comparable(want)) {
				t.Errorf("%s: round trip changed the message\n got %s\nwant %s", f, mustJSON(got), mustJSON(want))
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d golden cases round-tripped", n)
	}
}

// TestRoundTripOtherDialects: messages from other dialects reach FlowBot as FlowBot's own
// clients would have sent them.
func TestRoundTripOtherDialects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want canonical.Message
	}{{
		name: "text becomes the configured flow's text variable",
		in:   canonical.Message{Dialect: "messageflow", Channel: canonical.ChannelWhatsApp, To: "972501234567", Kind: canonical.KindText, Text: "שלום\nמה נשמע? 😀"},
		want: canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: "972501234567", Kind: canonical.KindFlow, FlowID: "cfg-flow",
			Vars: map[string]string{"text": "שלום\nמה נשמע? 😀"}},
	}, {
		name: "template with parameters: FlowBot copies the first into code and otpCode",
		in: canonical.Message{Dialect: "wavy", Channel: canonical.ChannelSMS, To: "5511987654321", Kind: canonical.KindTemplate,
			Template: &canonical.Template{Name: "codigo", Language: "pt_BR", Params: []string{"Seu código: 123456"}}},
		want: canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: "5511987654321", Kind: canonical.KindTemplate, FlowID: "cfg-flow",
			Template: &canonical.Template{Name: "codigo", Language: "pt_BR", Params: []string{"Seu código: 123456"}},
			Vars:     map[string]string{"templateLanguage": "pt_BR", "code": "Seu código: 123456", "otpCode": "Seu código: 123456"}},
	}, {
		name: "bulk-send message through the outbound trigger",
		in: canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: "905321234567", Kind: canonical.KindTemplate,
			Template: &canonical.Template{GroupID: "grp"}, Extra: map[string]string{"phoneNumberId": "PNID", "forceSend": "true"}},
		want: canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: "905321234567", Kind: canonical.KindTemplate, FlowID: "cfg-flow",
			Template: &canonical.Template{GroupID: "grp"}, Vars: map[string]string{"phoneNumberId": "PNID"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := encodeAuthed(t, &tc.in)
			got := decodeSent(t, req)
			if !reflect.DeepEqual(comparable(got), comparable(&tc.want)) {
				t.Errorf("got  %s\nwant %s", mustJSON(got), mustJSON(&tc.want))
			}
		})
	}
}

func comparable(m *canonical.Message) canonical.Message {
	cp := *m
	cp.ID, cp.Seq, cp.CreatedAt, cp.Status = "", 0, time.Time{}, ""
	return cp
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestClassify(t *testing.T) {
	o := authUpstream(t)
	m := &canonical.Message{ID: "0190f5e2-0000-7000-8000-000000000001"}
	for _, tc := range []struct {
		resp    *fasthttp.Response
		outcome adapters.Outcome
		code    string
		reason  string
		after   time.Duration
	}{
		{adaptertest.Response(200, `{"success":true,"message":"Outbound flow triggered for +972501234567","flowId":"your-flow-uuid"}`), adapters.Sent, "", "", 0},
		{adaptertest.Response(200, `{"success":true,"message":"Lead received and flow started","variables":["phone","name","email","source","product"]}`), adapters.Sent, "", "", 0},
		{adaptertest.Response(201, ``), adapters.Sent, "", "", 0},
		{adaptertest.Response(200, `{"success":false,"error":"Flow is not active"}`), adapters.Permanent, "200", "Flow is not active", 0},
		{adaptertest.Response(400, `{"error":"phone is required"}`), adapters.Permanent, "400", "phone is required", 0},
		{adaptertest.Response(401, `{"error":"Invalid or expired token"}`), adapters.Retry, "401", "Invalid or expired token", 0},
		{adaptertest.Response(403, `{"error":"API usage is not approved for this account"}`), adapters.Retry, "403", "API usage is not approved for this account", 0},
		{adaptertest.Response(404, `{"error":"Flow not found"}`), adapters.Retry, "404", "Flow not found", 0},
		{adaptertest.Response(409, `{"error":"Conflict"}`), adapters.Permanent, "409", "Conflict", 0},
		{adaptertest.Response(408, ``), adapters.Retry, "408", "HTTP 408", 0},
		{adaptertest.Response(429, `{"error":"Too many requests"}`, "Retry-After", "60"), adapters.Retry, "429", "Too many requests", time.Minute},
		{adaptertest.Response(500, `{"error":"Internal server error"}`), adapters.Retry, "500", "Internal server error", 0},
		{adaptertest.Response(502, "<html>Bad Gateway</html>"), adapters.Retry, "502", "<html>Bad Gateway</html>", 0},
		{adaptertest.Response(503, `{"error":"Service unavailable"}`, "Retry-After", "5"), adapters.Retry, "503", "Service unavailable", 5 * time.Second},
	} {
		r := o.Classify(m, tc.resp)
		if r.Outcome != tc.outcome || r.Code != tc.code || r.Reason != tc.reason || r.RetryAfter != tc.after {
			t.Errorf("%d %s: got %+v", tc.resp.StatusCode(), tc.resp.Body(), r)
		}
		if r.Outcome == adapters.Sent && (r.UpstreamID != m.ID || r.Status != canonical.StatusSent) {
			t.Errorf("%d: sent without the message id: %+v", tc.resp.StatusCode(), r)
		}
	}
	long := adaptertest.Response(400, `{"error":"`+strings.Repeat("ש", 400)+`"}`)
	if r := o.Classify(m, long); len(r.Reason) > maxReason || !strings.HasPrefix(r.Reason, "שש") {
		t.Errorf("long reason kept %d bytes", len(r.Reason))
	}
}
