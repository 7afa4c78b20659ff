package wavy

import (
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

var upstreamCfg = adapters.UpstreamConfig{Name: "wavy-br", URL: "https://api-messaging.wavy.global/",
	Credentials: map[string]string{"username": "acme", "token": "tok-123"}}

func newOutbound(t *testing.T) *Outbound {
	t.Helper()
	return adaptertest.Outbound[*Outbound](t, NewOutbound, upstreamCfg)
}

func TestNewOutboundRefusesBadConfig(t *testing.T) {
	for _, cfg := range []adapters.UpstreamConfig{
		{URL: "", Credentials: map[string]string{"username": "u", "token": "t"}},
		{URL: "api-messaging.wavy.global", Credentials: map[string]string{"username": "u", "token": "t"}},
		{URL: "ftp://x", Credentials: map[string]string{"username": "u", "token": "t"}},
		{URL: "https://x", Credentials: map[string]string{"username": "u"}},
		{URL: "https://x"},
	} {
		if _, err := NewOutbound(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestCaps(t *testing.T) {
	c := newOutbound(t).Caps()
	want := adapters.Caps{Text: true, Flash: true, Flow: true, MaxText: 1280, SplitText: true}
	if c != want {
		t.Errorf("Caps = %+v, want %+v", c, want)
	}
}

// encode runs Encode and returns the request and its body as a map.
func encode(t *testing.T, o *Outbound, m *canonical.Message) (*fasthttp.Request, map[string]any) {
	t.Helper()
	req := &fasthttp.Request{}
	if err := o.Encode(m, req); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body(), &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, req.Body())
	}
	return req, body
}

func TestEncodeRequestLine(t *testing.T) {
	o := newOutbound(t)
	req, _ := encode(t, o, &canonical.Message{ID: "id-1", To: "5511900000000", Text: "oi"})
	for k, want := range map[string]string{
		"method": "POST", "uri": "https://api-messaging.wavy.global/v1/send-sms",
		"Content-Type": "application/json", "username": "acme", "authenticationtoken": "tok-123",
	} {
		var got string
		switch k {
		case "method":
			got = string(req.Header.Method())
		case "uri":
			got = req.URI().String()
		default:
			got = string(req.Header.Peek(k))
		}
		if got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestEncodeText(t *testing.T) {
	o := newOutbound(t)
	for _, text := range []string{
		"linha\nquebrada",
		"שלום עולם\nזו הודעה בעברית",
		"Olá! Ação concluída às 15h — obrigado.",
		"İstanbul'da güneşli bir gün: ğüşıöç ĞÜŞİÖÇ",
		"👍🏽 emoji 🇧🇷 and \"quotes\" \\ backslash\ttab\r\nCRLF",
		"\u2028line separator\u2029",
	} {
		_, body := encode(t, o, &canonical.Message{ID: "id-1", To: "5511900000000", Kind: canonical.KindText, Text: text})
		want := map[string]any{"destination": "5511900000000", "messageText": text, "correlationId": "id-1"}
		if !reflect.DeepEqual(body, want) {
			t.Errorf("body = %#v\nwant %#v", body, want)
		}
	}
}

func TestEncodeAllFields(t *testing.T) {
	o := newOutbound(t)
	m := &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", Dialect: Dialect, ClientRef: "order-1",
		To: "5511900000000", Channel: canonical.ChannelSMS, Kind: canonical.KindText, Text: "oi", Flash: true,
		FlowID: "flow-1", Vars: map[string]string{"name": "Ana"},
		NotBefore: time.Date(2023, 4, 27, 12, 0, 0, 0, time.UTC),
		ExpiresAt: time.Date(2023, 4, 28, 2, 59, 59, 0, time.UTC),
		Window:    &canonical.Window{Hours: []int{9, 18}, TimeZone: "America/Sao_Paulo"},
		Extra:     map[string]string{"extraInfo": "vip", "campaignAlias": "bf", "subAccount": "sp"}}
	_, body := encode(t, o, m)
	want := map[string]any{"destination": "5511900000000", "messageText": "oi",
		"correlationId": "00000000-0000-7000-8000-000000000001", "extraInfo": "vip", "campaignAlias": "bf",
		"subAccount": "sp", "timeWindow": []any{float64(9), float64(18)}, "timeZone": "America/Sao_Paulo",
		"expiresDate": "2023-04-27T23:59:59", "flashSMS": true, "flowId": "flow-1",
		"params": map[string]any{"name": "Ana"}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %#v\nwant %#v", body, want)
	}

	// Another dialect's Extra is not Wavy's; expiry alone is given in UTC.
	m = &canonical.Message{ID: "id-2", Dialect: "messageflow", To: "972501234567", Text: "x",
		ExpiresAt: time.Date(2023, 4, 28, 3, 0, 0, 0, time.UTC), Extra: map[string]string{"extraInfo": "no"}}
	_, body = encode(t, o, m)
	want = map[string]any{"destination": "972501234567", "messageText": "x", "correlationId": "id-2",
		"expiresDate": "2023-04-28T03:00:00", "timeZone": "UTC"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %#v\nwant %#v", body, want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	o := newOutbound(t)
	for name, m := range map[string]*canonical.Message{
		"no text":   {ID: "1", To: "5511900000000", Kind: canonical.KindMedia, Media: []canonical.Media{{URL: "https://x/y.png"}}},
		"no number": {ID: "1", Text: "x"},
		"bad zone":  {ID: "1", To: "5511900000000", Text: "x", Window: &canonical.Window{Hours: []int{1}, TimeZone: "Mars/Base"}},
	} {
		if err := o.Encode(m, &fasthttp.Request{}); err == nil {
			t.Errorf("%s: no error", name)
		} else if _, ok := err.(*canonical.Error); !ok {
			t.Errorf("%s: error is %T", name, err)
		}
	}
}

func TestEncodeBulk(t *testing.T) {
	o := newOutbound(t)
	ms := []*canonical.Message{
		{ID: "id-1", To: "5519900001111", Text: "primeira"},
		{ID: "id-2", To: "5519900002222", Text: "segunda", Flash: true},
	}
	req := &fasthttp.Request{}
	if err := o.EncodeBulk(ms, req); err != nil {
		t.Fatal(err)
	}
	if got := req.URI().String(); got != "https://api-messaging.wavy.global/v1/send-bulk-sms" {
		t.Errorf("uri = %s", got)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"messages": []any{
		map[string]any{"destination": "5519900001111", "messageText": "primeira", "correlationId": "id-1"},
		map[string]any{"destination": "5519900002222", "messageText": "segunda", "correlationId": "id-2", "flashSMS": true},
	}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %#v\nwant %#v", body, want)
	}
	// The pair agrees: our own inbound reads the bulk request back.
	b := &adapters.Batch{}
	if err := New(Options{}).Decode(&adapters.Call{Op: adapters.OpBulk, Req: req, Now: adaptertest.Now}, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 2 || b.Messages[1].Text != "segunda" || !b.Messages[1].Flash || b.Cred.User != "acme" {
		t.Errorf("decoded %+v", b)
	}
	if o.EncodeBulk(nil, req) == nil || o.EncodeBulk(make([]*canonical.Message, maxBulk+1), req) == nil {
		t.Error("EncodeBulk with 0 or 1001 messages: no error")
	}
}

// TestRoundTrip encodes canonical messages, as they may arrive from any dialect, and
// decodes the request with the Wavy inbound: the simulator for this vendor is built on
// the inbound, so the pair must agree.
func TestRoundTrip(t *testing.T) {
	o := newOutbound(t)
	in := New(Options{})
	for _, m := range []*canonical.Message{
		{ID: "00000000-0000-7000-8000-000000000001", Dialect: "messageflow", To: "972501234567",
			Channel: canonical.ChannelWhatsApp, Kind: canonical.KindText, Text: "שלום\nעולם 👋"},
		{ID: "00000000-0000-7000-8000-000000000002", Dialect: Dialect, To: "5511900000000", Channel: canonical.ChannelSMS,
			Kind: canonical.KindText, Text: "Olá, ação às 15h", Flash: true,
			ExpiresAt: time.Date(2023, 4, 28, 2, 59, 59, 0, time.UTC),
			Window:    &canonical.Window{Hours: []int{9, 10, 18}, TimeZone: "America/Sao_Paulo"},
			Extra:     map[string]string{"extraInfo": "vip", "campaignAlias": "bf", "subAccount": "sp"}},
		{ID: "00000000-0000-7000-8000-000000000003", Dialect: Dialect, To: "905321234567", Channel: canonical.ChannelSMS,
			Kind: canonical.KindFlow, FlowID: "flow-9", Vars: map[string]string{"isim": "Şükrü", "kod": "42"},
			ExpiresAt: time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "00000000-0000-7000-8000-000000000004", Dialect: "native", To: "5511900000000", Kind: canonical.KindText,
			Text: "window in UTC", Window: &canonical.Window{Hours: []int{0, 23}}},
	} {
		req := &fasthttp.Request{}
		if err := o.Encode(m, req); err != nil {
			t.Fatal(err)
		}
		var b adapters.Batch
		call := &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now}
		if _, ok := in.Credential(call); !ok {
			t.Fatal("inbound cannot read the credential Encode wrote")
		}
		if err := in.Decode(call, &b); err != nil {
			t.Fatalf("%s: decode: %v\n%s", m.ID, err, req.Body())
		}
		got := b.Messages[0]
		want := *m
		want.ID = ""
		want.ClientRef = m.ID // correlationId carries the gateway's id
		want.Dialect = Dialect
		want.Channel = canonical.ChannelSMS
		if m.Dialect != Dialect {
			want.Extra = nil
		}
		if w := want.Window; w != nil && w.TimeZone == "" {
			want.Window = &canonical.Window{Hours: w.Hours, TimeZone: "UTC"}
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v\nbody %s", m.ID, *got, want, req.Body())
		}
	}
}

func TestClassify(t *testing.T) {
	o := newOutbound(t)
	m := &canonical.Message{ID: "id-1"}
	for name, tc := range map[string]struct {
		resp *fasthttp.Response
		want adapters.Result
	}{
		"documented array": {adaptertest.Response(200, `[{"id":"9cb87d36-79af-11e5-89f3-1b0591cdf807","correlationId":"myId"}]`),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "9cb87d36-79af-11e5-89f3-1b0591cdf807"}},
		"live object": {adaptertest.Response(200, `{"id":"9cb87d36-79af-11e5-89f3-1b0591cdf807","correlationId":"myId"}`),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "9cb87d36-79af-11e5-89f3-1b0591cdf807"}},
		"2xx without id": {adaptertest.Response(202, `accepted`),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}},
		"bad credentials": {adaptertest.Response(401, `{"errorCode":401,"errorMessage":"`+authError+`"}`),
			adapters.Result{Outcome: adapters.Retry, Code: "401", Reason: authError}},
		"bad request": {adaptertest.Response(400, `{"errorCode":400,"errorMessage":"destination: is required"}`),
			adapters.Result{Outcome: adapters.Permanent, Code: "400", Reason: "destination: is required"}},
		"forbidden": {adaptertest.Response(403, `{"errorCode":403,"errorMessage":"Forbidden"}`),
			adapters.Result{Outcome: adapters.Retry, Code: "403", Reason: "Forbidden"}},
		"not found, no body": {adaptertest.Response(404, ``),
			adapters.Result{Outcome: adapters.Retry, Code: "404", Reason: "HTTP 404 Not Found"}},
		"rate limited": {adaptertest.Response(429, `{"errorCode":429,"errorMessage":"Too Many Requests"}`, "Retry-After", "30"),
			adapters.Result{Outcome: adapters.Retry, Code: "429", Reason: "Too Many Requests", RetryAfter: 30 * time.Second}},
		"server error": {adaptertest.Response(500, `{"errorCode":500,"errorMessage":"Internal Server Error"}`),
			adapters.Result{Outcome: adapters.Retry, Code: "500", Reason: "Internal Server Error"}},
		"unavailable": {adaptertest.Response(503, `{"errorCode":503,"errorMessage":"Service Unavailable"}`, "Retry-After", "5"),
			adapters.Result{Outcome: adapters.Retry, Code: "503", Reason: "Service Unavailable", RetryAfter: 5 * time.Second}},
		"gateway timeout, html": {adaptertest.Response(504, `<html>504</html>`),
			adapters.Result{Outcome: adapters.Retry, Code: "504", Reason: "HTTP 504 Gateway Timeout"}},
		"request timeout": {adaptertest.Response(408, ``),
			adapters.Result{Outcome: adapters.Retry, Code: "408", Reason: "HTTP 408 Request Timeout"}},
	} {
		if got := o.Classify(m, tc.resp); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, tc.want)
		}
	}
}

func TestClassifyBulk(t *testing.T) {
	o := newOutbound(t)
	ms := []*canonical.Message{{ID: "a"}, {ID: "b"}}
	got := o.ClassifyBulk(ms, adaptertest.Response(200, `{"id":"ce528d70-013b-11e7-98f2-e27c463c8809","messages":[{"id":"ce528d71-013b-11e7-98f2-e27c463c8809"},{"id":"ce528d72-013b-11e7-98f2-e27c463c8809"}]}`))
	if got[0].UpstreamID != "ce528d71-013b-11e7-98f2-e27c463c8809" || got[1].UpstreamID != "ce528d72-013b-11e7-98f2-e27c463c8809" ||
		got[0].Outcome != adapters.Sent || got[1].Outcome != adapters.Sent {
		t.Errorf("bulk success: %+v", got)
	}
	got = o.ClassifyBulk(ms, adaptertest.Response(400, `{"errorCode":400,"errorMessage":"messages: at least one message is required"}`))
	if got[0].Outcome != adapters.Permanent || got[1].Reason != "messages: at least one message is required" {
		t.Errorf("bulk failure: %+v", got)
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2023, 4, 26, 11, 11, 58, 0, time.UTC)
	if got := adapters.RetryAfter([]byte("Wed, 26 Apr 2023 11:12:58 GMT"), now); got != time.Minute {
		t.Errorf("HTTP date: %v", got)
	}
	if got := adapters.RetryAfter([]byte("soon"), now); got != 0 {
		t.Errorf("garbage: %v", got)
	}
}

// TestEncodeRefusesForeignFlows: a flow id belongs to its vendor; another dialect's flow
// with no text cannot travel as a Wavy flow.
func TestEncodeRefusesForeignFlows(t *testing.T) {
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "w", URL: "http://127.0.0.1:1", Credentials: map[string]string{"username": "u", "token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &canonical.Message{ID: "x", Dialect: "flowbot", To: "905321234567", Kind: canonical.KindFlow, FlowID: "f-orders"}
	if err := o.Encode(m, &fasthttp.Request{}); err == nil {
		t.Fatal("a FlowBot flow was encoded as a Wavy flow")
	}
	m.Text = "hello"
	req := &fasthttp.Request{}
	if err := o.Encode(m, req); err != nil || strings.Contains(string(req.Body()), "flowId") {
		t.Fatalf("text with a foreign flow id: %v %s", err, req.Body())
	}
}
