package messageflow

import (
	"net/url"
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

const testUUID = "6a708fea-a4d0-4976-a180-9f3bdd3de52e"

func newOutbound(t *testing.T) adapters.Outbound {
	t.Helper()
	return adaptertest.Outbound[adapters.Outbound](t, NewOutbound, adapters.UpstreamConfig{Name: "mf",
		URL: "https://api-messageflow.flow-il.com", Credentials: map[string]string{"uuid": testUUID}})
}

func TestNewOutbound(t *testing.T) {
	for _, tc := range []struct {
		url, key, uri string
	}{
		{"https://api-messageflow.flow-il.com", "uuid", "https://api-messageflow.flow-il.com/add_message"},
		{"https://api-messageflow.flow-il.com/", "UUID", "https://api-messageflow.flow-il.com/add_message"},
		{"http://127.0.0.1:9001/mf/", "uuid", "http://127.0.0.1:9001/mf/add_message"},
		{"https://api-messageflow.flow-il.com/add_message", "uuid", "https://api-messageflow.flow-il.com/add_message"},
	} {
		o, err := NewOutbound(adapters.UpstreamConfig{Name: "mf", URL: tc.url, Credentials: map[string]string{tc.key: testUUID}})
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got := o.(*Outbound).uri; got != tc.uri {
			t.Errorf("%s: uri %s, want %s", tc.url, got, tc.uri)
		}
	}
	for _, cfg := range []adapters.UpstreamConfig{
		{URL: "", Credentials: map[string]string{"uuid": "u"}},
		{URL: "ftp://x.example", Credentials: map[string]string{"uuid": "u"}},
		{URL: "https://", Credentials: map[string]string{"uuid": "u"}},
		{URL: "https://x.example"},
		{URL: "https://x.example", Credentials: map[string]string{"uuid": " "}},
	} {
		if _, err := NewOutbound(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// sent is the request Encode wrote, read back.
type sent struct {
	method, uri, contentType string
	raw                      map[string]string // body fields as sent (Message still URL-encoded)
	text                     string            // Message URL-decoded the way a JavaScript server would
}

func encode(t *testing.T, o adapters.Outbound, m *canonical.Message) (*sent, *fasthttp.Request) {
	t.Helper()
	req := &fasthttp.Request{}
	if err := o.Encode(m, req); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	s := &sent{method: string(req.Header.Method()), uri: req.URI().String(), contentType: string(req.Header.ContentType())}
	if err := json.Unmarshal(req.Body(), &s.raw); err != nil {
		t.Fatalf("body is not a JSON object of strings: %v\n%s", err, req.Body())
	}
	// decodeURIComponent semantics: %XX only, '+' is a plus. url.PathUnescape does the same.
	text, err := url.PathUnescape(s.raw["Message"])
	if err != nil {
		t.Fatalf("Message %q is not URL-encoded: %v", s.raw["Message"], err)
	}
	s.text = text
	return s, req
}

func TestEncode(t *testing.T) {
	o := newOutbound(t)
	for _, tc := range []struct {
		name    string
		m       canonical.Message
		message string // Message exactly as sent
		text    string
		from    string
		link    string
	}{
		{name: "hebrew text with line breaks",
			m:       canonical.Message{To: "972501234567", Kind: canonical.KindText, Text: "שלום דנה,\nההזמנה מוכנה."},
			message: "%D7%A9%D7%9C%D7%95%D7%9D%20%D7%93%D7%A0%D7%94%2C%0A%D7%94%D7%94%D7%96%D7%9E%D7%A0%D7%94%20%D7%9E%D7%95%D7%9B%D7%A0%D7%94.",
			text:    "שלום דנה,\nההזמנה מוכנה."},
		{name: "portuguese",
			m:    canonical.Message{To: "5511987654321", Kind: canonical.KindText, Text: "Olá João!\r\nSua encomenda está a caminho."},
			text: "Olá João!\r\nSua encomenda está a caminho."},
		{name: "turkish and emoji",
			m:       canonical.Message{To: "905321234567", Kind: canonical.KindText, Text: "Şükrü, İyi günler 😊"},
			message: "%C5%9E%C3%BCkr%C3%BC%2C%20%C4%B0yi%20g%C3%BCnler%20%F0%9F%98%8A",
			text:    "Şükrü, İyi günler 😊"},
		{name: "plus, percent and quotes survive any URL decoder",
			m:       canonical.Message{To: "972501234567", Kind: canonical.KindText, Text: `2+2=4, 100% "sure" & <ok>`},
			message: "2%2B2%3D4%2C%20100%25%20%22sure%22%20%26%20%3Cok%3E",
			text:    `2+2=4, 100% "sure" & <ok>`},
		{name: "from line",
			m:    canonical.Message{To: "972501234567", From: "972521234567", Kind: canonical.KindText, Text: "hi"},
			text: "hi", from: "972521234567"},
		{name: "sender name is not a line",
			m:    canonical.Message{To: "972501234567", From: "ACME", Kind: canonical.KindText, Text: "hi"},
			text: "hi"},
		{name: "media by URL, text as caption",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia, Text: "מצורף הלוגו",
				Media: []canonical.Media{{URL: "https://www.dropbox.com/s/k3n9x2q7w1z5v8m/Logo.jpg?dl=1"}}},
			text: "מצורף הלוגו", link: "https://www.dropbox.com/s/k3n9x2q7w1z5v8m/Logo.jpg?dl=1"},
		{name: "local file",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia, Text: "חשבונית",
				Media: []canonical.Media{{URL: `C:\Users\moshe\Documents\"חשבונית".pdf`, Local: true}}},
			text: "חשבונית", link: `C:\Users\moshe\Documents\"חשבונית".pdf`},
		{name: "caption without text",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia,
				Media: []canonical.Media{{URL: "https://cdn.example.com/a.jpg", Caption: "Legenda da foto"}}},
			text: "Legenda da foto", link: "https://cdn.example.com/a.jpg"},
		{name: "caption joins the text",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia, Text: "Catalog",
				Media: []canonical.Media{{URL: "https://cdn.example.com/a.pdf", Caption: "Spring 2024", Filename: "a.pdf"}}},
			text: "Catalog\nSpring 2024", link: "https://cdn.example.com/a.pdf"},
		{name: "caption equal to the text is not repeated",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia, Text: "Catalog",
				Media: []canonical.Media{{URL: "https://cdn.example.com/a.pdf", Caption: "Catalog"}}},
			text: "Catalog", link: "https://cdn.example.com/a.pdf"},
		{name: "further attachments become links",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia, Text: "Files:",
				Media: []canonical.Media{{URL: "https://cdn.example.com/1.jpg"}, {URL: "https://cdn.example.com/2.jpg", Caption: "second"}}},
			text: "Files:\nsecond\nhttps://cdn.example.com/2.jpg", link: "https://cdn.example.com/1.jpg"},
		{name: "file name when there is no text",
			m: canonical.Message{To: "972501234567", Kind: canonical.KindMedia,
				Media: []canonical.Media{{URL: "https://cdn.example.com/x", Filename: "Invoice-03.pdf"}}},
			text: "Invoice-03.pdf", link: "https://cdn.example.com/x"},
		{name: "buttons already degraded to text",
			m:    canonical.Message{To: "972501234567", Kind: canonical.KindButtons, Text: "Choose:\n1. Yes\n2. No", Buttons: []string{"Yes", "No"}},
			text: "Choose:\n1. Yes\n2. No"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := encode(t, o, &tc.m)
			if s.method != "POST" || s.uri != "https://api-messageflow.flow-il.com/add_message" || s.contentType != "application/json" {
				t.Errorf("request line: %s %s (%s)", s.method, s.uri, s.contentType)
			}
			if s.raw["UUID"] != testUUID || s.raw["ToMobileNumber"] != tc.m.To {
				t.Errorf("UUID/To: %v", s.raw)
			}
			if _, ok := s.raw["ToCountryCode"]; ok {
				t.Errorf("ToCountryCode sent: %v", s.raw)
			}
			if got, ok := s.raw["FromMobileNumber"]; got != tc.from || ok != (tc.from != "") {
				t.Errorf("FromMobileNumber = %q (present %v), want %q", got, ok, tc.from)
			}
			if got, ok := s.raw["DownloadLink"]; got != tc.link || ok != (tc.link != "") {
				t.Errorf("DownloadLink = %q (present %v), want %q", got, ok, tc.link)
			}
			if tc.message != "" && s.raw["Message"] != tc.message {
				t.Errorf("Message sent as %q, want %q", s.raw["Message"], tc.message)
			}
			if s.text != tc.text {
				t.Errorf("text = %q, want %q", s.text, tc.text)
			}
			fields := 3 // UUID, ToMobileNumber, Message
			if tc.from != "" {
				fields++
			}
			if tc.link != "" {
				fields++
			}
			if len(s.raw) != fields {
				t.Errorf("unexpected fields: %v", s.raw)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	o := newOutbound(t)
	for name, m := range map[string]*canonical.Message{
		"no text":              {To: "972501234567", Kind: canonical.KindMedia, Media: []canonical.Media{{URL: "https://cdn.example.com/x"}}},
		"template only":        {To: "972501234567", Kind: canonical.KindTemplate, Template: &canonical.Template{Name: "otp"}},
		"second local file":    {To: "972501234567", Kind: canonical.KindMedia, Text: "x", Media: []canonical.Media{{URL: "https://a.example/1"}, {URL: "C:/a.jpg", Local: true}}},
		"blank text, no media": {To: "972501234567", Kind: canonical.KindText, Text: " \n "},
	} {
		err := o.Encode(m, &fasthttp.Request{})
		if _, ok := err.(*canonical.Error); !ok {
			t.Errorf("%s: Encode = %v, want a *canonical.Error", name, err)
		}
	}
}

// The simulator for MessageFlow is built on Inbound: whatever Outbound sends, Inbound must
// read back as the same message.
func TestRoundTrip(t *testing.T) {
	o := newOutbound(t)
	in := New(Options{})
	for _, m := range []*canonical.Message{
		{To: "972501234567", Kind: canonical.KindText, Text: "שלום דנה,\nההזמנה שלך מוכנה.\n\nתודה 🙏"},
		{To: "972501234567", From: "972521234567", Kind: canonical.KindText, Text: "Olá! Promoção: 50% + frete grátis (código %AB)"},
		{To: "905321234567", Kind: canonical.KindText, Text: "Günaydın Ağaoğlu\tİstanbul\r\n100%"},
		{To: "447911123456", Kind: canonical.KindMedia, Text: "Your invoice",
			Media: []canonical.Media{{URL: "https://cdn.example.com/inv.pdf?sig=a+b%2F&x=1"}}},
		{To: "972501234567", Kind: canonical.KindMedia, Text: "מצורף",
			Media: []canonical.Media{{URL: `C:\Users\moshe\Pictures\Logo "new".jpg`, Local: true}}},
		{To: "972501234567", Kind: canonical.KindText, Text: strings.Repeat("א", 3000)},
	} {
		m.Dialect, m.Channel = "wavy", canonical.ChannelWhatsApp
		if err := m.Validate(); err != nil {
			t.Fatalf("test message invalid: %v", err)
		}
		_, req := encode(t, o, m)
		var b adapters.Batch
		call := &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now}
		if err := in.Decode(call, &b); err != nil {
			t.Fatalf("Decode of Encode's request: %v\n%s", err, req.Body())
		}
		if b.Cred != (adapters.Credential{Scheme: adapters.SchemeUUID, Secret: testUUID}) {
			t.Errorf("credential %+v", b.Cred)
		}
		got := b.Messages[0]
		want := *m
		want.Dialect = Dialect
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, &want)
		}
	}
}

func TestClassify(t *testing.T) {
	o := newOutbound(t)
	m := &canonical.Message{To: "972501234567", Text: "x"}
	in := New(Options{})
	// Our own inbound's answers are the reference for the undocumented body.
	_, okBody := in.Accepted(nil, &adapters.Batch{Messages: []*canonical.Message{{ID: "0190a5b2-7c1e-7000-8000-00000000002a"}}}, nil)
	st400, badBody := in.Error(newCall("POST", "/add_message", "", ""), canonical.Invalid("ToMobileNumber", `"9725xxxxxxxx" is not a phone number`), nil)
	st401, authBody := in.Error(newCall("POST", "/add_message", "", ""), &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "unknown UUID"}, nil)
	st429, busyBody := in.Error(nil, &canonical.Error{Code: canonical.ErrTooMany}, nil)
	for _, tc := range []struct {
		name string
		resp *fasthttp.Response
		want adapters.Result
	}{
		{"accepted", adaptertest.Response(200, string(okBody)),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "0190a5b2-7c1e-7000-8000-00000000002a"}},
		{"numeric id", adaptertest.Response(200, `{"success":true,"id":12345}`),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "12345"}},
		{"2xx without a body", adaptertest.Response(200, ""),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}},
		{"2xx plain text", adaptertest.Response(201, "OK"),
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}},
		{"200 but success false", adaptertest.Response(200, `{"success":false,"error":"UUID not active"}`),
			adapters.Result{Outcome: adapters.Permanent, Code: "200", Reason: "UUID not active"}},
		{"invalid field", adaptertest.Response(st400, string(badBody)),
			adapters.Result{Outcome: adapters.Permanent, Code: "400", Reason: `ToMobileNumber: "9725xxxxxxxx" is not a phone number`}},
		{"unknown uuid", adaptertest.Response(st401, string(authBody)),
			adapters.Result{Outcome: adapters.Retry, Code: "401", Reason: "unknown UUID"}},
		{"not found, html", adaptertest.Response(404, "<html>Not Found</html>"),
			adapters.Result{Outcome: adapters.Retry, Code: "404", Reason: "<html>Not Found</html>"}},
		{"rate limited", adaptertest.Response(st429, string(busyBody), "Retry-After", "30"),
			adapters.Result{Outcome: adapters.Retry, Code: "429", Reason: "too many requests: try again later", RetryAfter: 30 * time.Second}},
		{"timeout", adaptertest.Response(408, ""),
			adapters.Result{Outcome: adapters.Retry, Code: "408", Reason: "Request Timeout"}},
		{"server error", adaptertest.Response(500, `{"message":"Internal Server Error"}`),
			adapters.Result{Outcome: adapters.Retry, Code: "500", Reason: "Internal Server Error"}},
		{"unavailable", adaptertest.Response(503, `{"success":false,"error":"queue full"}`, "Retry-After", "junk"),
			adapters.Result{Outcome: adapters.Retry, Code: "503", Reason: "queue full"}},
		{"redirect", adaptertest.Response(302, "", "Location", "https://elsewhere.example/"),
			adapters.Result{Outcome: adapters.Retry, Code: "302", Reason: "Found"}},
	} {
		if got := o.Classify(m, tc.resp); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	// An HTTP-date Retry-After.
	date := time.Now().Add(2 * time.Minute).UTC().Format(time.RFC1123)
	date = strings.Replace(date, "UTC", "GMT", 1)
	got := o.Classify(m, adaptertest.Response(503, "", "Retry-After", date))
	if got.Outcome != adapters.Retry || got.RetryAfter < time.Minute || got.RetryAfter > 2*time.Minute {
		t.Errorf("Retry-After date: %+v", got)
	}
	// A long unexpected body is cut.
	got = o.Classify(m, adaptertest.Response(400, strings.Repeat("x", 1000)))
	if len(got.Reason) != maxReason {
		t.Errorf("reason not bounded: %d bytes", len(got.Reason))
	}
}
