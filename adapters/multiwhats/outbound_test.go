package multiwhats

import (
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func newOutbound(t *testing.T, url string, creds map[string]string) *Outbound {
	t.Helper()
	return adaptertest.Outbound[*Outbound](t, NewOutbound, adapters.UpstreamConfig{Name: "mw", URL: url, Credentials: creds})
}

func TestNewOutbound(t *testing.T) {
	key := map[string]string{"apikey": "k 1&2"}
	for url, want := range map[string]string{
		"":                                   "https://api.multiwhats.app/api/v1/basic/whatsapp/send-dynamic?apikey=k+1%262",
		"https://api.multiwhats.app/api/v1/": "https://api.multiwhats.app/api/v1/basic/whatsapp/send-dynamic?apikey=k+1%262",
		"http://127.0.0.1:9001/":             "http://127.0.0.1:9001/api/v1/basic/whatsapp/send-dynamic?apikey=k+1%262",
		"http://sim.local/mw":                "http://sim.local/mw/api/v1/basic/whatsapp/send-dynamic?apikey=k+1%262",
	} {
		if got := newOutbound(t, url, key).uri; got != want {
			t.Errorf("url %q: request URI %q, want %q", url, got, want)
		}
	}
	for _, c := range []adapters.UpstreamConfig{
		{Name: "nokey", URL: "https://api.multiwhats.app"},
		{Name: "ftp", URL: "ftp://api.multiwhats.app", Credentials: key},
		{Name: "query", URL: "https://api.multiwhats.app/?x=1", Credentials: key},
		{Name: "relative", URL: "api.multiwhats.app", Credentials: key},
	} {
		if _, err := NewOutbound(c); err == nil {
			t.Errorf("%s: no error", c.Name)
		}
	}
}

// encodeCases are canonical messages of every kind MultiWhats carries, as other dialects
// produce them, with the exact body each must be sent as.
var encodeCases = []struct {
	name string
	m    canonical.Message
	body string
}{
	{"text_turkish", canonical.Message{Dialect: "messageflow", To: "905374937766", From: "908503080335", Kind: canonical.KindText,
		Text: "Merhaba Ayşe,\nsiparişiniz yola çıktı. Iğdır'a teslim: ÇĞİÖŞÜ"},
		`{"from":"908503080335","to":"905374937766","message":"Merhaba Ayşe,\nsiparişiniz yola çıktı. Iğdır'a teslim: ÇĞİÖŞÜ","type":"text"}`},
	{"text_hebrew_kind_inferred", canonical.Message{Dialect: "flowbot", To: "972501234567", From: "972509999999",
		Text: "שלום רב,\r\nההזמנה שלך \"נשלחה\" ✅"},
		`{"from":"972509999999","to":"972501234567","message":"שלום רב,\r\nההזמנה שלך \"נשלחה\" ✅","type":"text"}`},
	{"buttons_portuguese", canonical.Message{Dialect: "wavy", To: "5511987654321", From: "5511900000000", Kind: canonical.KindButtons,
		Text: "Olá João! Confirma a entrega?\n\n📦", Buttons: []string{"✅ Sim", "❌ Não", "Falar com atendente"}},
		`{"from":"5511900000000","to":"5511987654321","message":"Olá João! Confirma a entrega?\n\n📦","type":"button","buttons":["✅ Sim","❌ Não","Falar com atendente"]}`},
	{"list", canonical.Message{Dialect: "native", To: "905374937766", From: "908503080335", Kind: canonical.KindList,
		Text: "Randevu günü seçin:", Options: []string{"Pazartesi", "Salı", "Çarşamba"}},
		`{"from":"908503080335","to":"905374937766","message":"Randevu günü seçin:","type":"list","options":["Pazartesi","Salı","Çarşamba"]}`},
	{"media_with_text", canonical.Message{Dialect: "messageflow", To: "972501234567", From: "972509999999", Kind: canonical.KindMedia,
		Text: "החשבונית שלך מצורפת", Media: []canonical.Media{{URL: "https://cdn.example.com/inv.pdf?id=1&x=2"}}},
		`{"from":"972509999999","to":"972501234567","message":"החשבונית שלך מצורפת","type":"media","file_url":"https://cdn.example.com/inv.pdf?id=1&x=2"}`},
	{"media_caption_only", canonical.Message{Dialect: "native", To: "905374937766", From: "908503080335", Kind: canonical.KindMedia,
		Media: []canonical.Media{{URL: "https://cdn.example.com/a.jpg", Caption: "Kampanya 🎉"}}},
		`{"from":"908503080335","to":"905374937766","message":"Kampanya 🎉","type":"media","file_url":"https://cdn.example.com/a.jpg"}`},
	{"media_no_text", canonical.Message{Dialect: "native", To: "905374937766", From: "908503080335", Kind: canonical.KindMedia,
		Media: []canonical.Media{{URL: "http://cdn.example.com/a.pdf"}}},
		`{"from":"908503080335","to":"905374937766","type":"media","file_url":"http://cdn.example.com/a.pdf"}`},
	{"buttons_with_media_header", canonical.Message{Dialect: "native", To: "905374937766", From: "908503080335", Kind: canonical.KindButtons,
		Text: "Beğendiniz mi?", Buttons: []string{"👍", "👎"}, Media: []canonical.Media{{URL: "https://cdn.example.com/u.png"}}},
		`{"from":"908503080335","to":"905374937766","message":"Beğendiniz mi?","type":"button","buttons":["👍","👎"],"file_url":"https://cdn.example.com/u.png"}`},
	{"multiwhats_image_type_kept", canonical.Message{Dialect: Dialect, To: "905374937766", From: "908503080335", Kind: canonical.KindMedia,
		Text: "Yeni ürün", Media: []canonical.Media{{URL: "https://cdn.example.com/u.jpg"}}, Extra: map[string]string{"type": "image"}},
		`{"from":"908503080335","to":"905374937766","message":"Yeni ürün","type":"image","file_url":"https://cdn.example.com/u.jpg"}`},
	{"foreign_extra_type_ignored", canonical.Message{Dialect: "flowbot", To: "905374937766", From: "908503080335", Kind: canonical.KindText,
		Text: "Hi", Extra: map[string]string{"type": "whatever"}},
		`{"from":"908503080335","to":"905374937766","message":"Hi","type":"text"}`},
}

func TestEncode(t *testing.T) {
	out := newOutbound(t, "http://127.0.0.1:9001", map[string]string{"apikey": "mw-demo-key"})
	for _, c := range encodeCases {
		t.Run(c.name, func(t *testing.T) {
			req := &fasthttp.Request{}
			req.Header.Set("X-Stale", "from the previous use")
			if err := out.Encode(&c.m, req); err != nil {
				t.Fatal(err)
			}
			if got := string(req.Header.Method()); got != "POST" {
				t.Errorf("method %s", got)
			}
			if got := req.URI().String(); got != "http://127.0.0.1:9001/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key" {
				t.Errorf("uri %s", got)
			}
			if got := string(req.Header.ContentType()); got != "application/json" {
				t.Errorf("content type %s", got)
			}
			if got := string(req.Header.Peek("Accept")); got != "application/json" {
				t.Errorf("accept %s", got)
			}
			if len(req.Header.Peek("X-Stale")) != 0 {
				t.Error("a header of the request's previous use is kept")
			}
			if got := string(req.Body()); got != c.body {
				t.Errorf("body\n got %s\nwant %s", got, c.body)
			}
			var fields map[string]any
			if err := json.Unmarshal(req.Body(), &fields); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if text := c.m.Text; text != "" && fields["message"] != text {
				t.Errorf("message %q, want %q", fields["message"], text)
			}
		})
	}
}

func TestEncodeSenderFromCredentials(t *testing.T) {
	out := newOutbound(t, "", map[string]string{"apikey": "k", "from": "908503080335"})
	req := &fasthttp.Request{}
	m := canonical.Message{Dialect: "wavy", To: "5511987654321", Kind: canonical.KindText, Text: "Oi"}
	if err := out.Encode(&m, req); err != nil {
		t.Fatal(err)
	}
	if want := `{"from":"908503080335","to":"5511987654321","message":"Oi","type":"text"}`; string(req.Body()) != want {
		t.Errorf("body %s, want %s", req.Body(), want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	out := newOutbound(t, "", map[string]string{"apikey": "k"})
	base := canonical.Message{To: "905374937766", From: "908503080335", Text: "Hi"}
	for name, edit := range map[string]func(m *canonical.Message){
		"template": func(m *canonical.Message) {
			m.Kind, m.Template = canonical.KindTemplate, &canonical.Template{Name: "t"}
		},
		"flow":       func(m *canonical.Message) { m.Kind, m.FlowID = canonical.KindFlow, "f1" },
		"local file": func(m *canonical.Message) { m.Media = []canonical.Media{{URL: "C:/a.pdf", Local: true}} },
		"two files":  func(m *canonical.Message) { m.Media = []canonical.Media{{URL: "https://a/1"}, {URL: "https://a/2"}} },
		"no sender":  func(m *canonical.Message) { m.From = "" },
	} {
		m := base
		edit(&m)
		err := out.Encode(&m, &fasthttp.Request{})
		if e, ok := err.(*canonical.Error); !ok || e.Code != canonical.ErrInvalid {
			t.Errorf("%s: got %v, want an ErrInvalid", name, err)
		}
	}
}

// TestRoundTrip encodes each message, decodes the request with this package's Inbound (on which
// the MultiWhats simulator is built), and checks that the pair agree on the content; then it
// classifies the Inbound's answer and finds the queue id in it.
func TestRoundTrip(t *testing.T) {
	out := newOutbound(t, "http://127.0.0.1:9001", map[string]string{"apikey": "mw-demo-key"})
	in := New(Options{})
	for _, c := range encodeCases {
		t.Run(c.name, func(t *testing.T) {
			req := &fasthttp.Request{}
			if err := out.Encode(&c.m, req); err != nil {
				t.Fatal(err)
			}
			call := &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now}
			if cred, ok := in.Credential(call); !ok || cred.Secret != "mw-demo-key" {
				t.Fatalf("credential %+v %v", cred, ok)
			}
			call.Account = &adaptertest.TestAccount
			var b adapters.Batch
			if err := in.Decode(call, &b); err != nil {
				t.Fatal(err)
			}
			got := b.Messages[0]
			want := c.m
			want.Media = append([]canonical.Media(nil), c.m.Media...) // the table is shared by other tests
			want.InferKind()
			if want.Text == "" && len(want.Media) == 1 {
				want.Text = want.Media[0].Caption
			}
			for i := range want.Media {
				want.Media[i].Caption = ""
			}
			if want.Dialect != Dialect {
				want.Extra = nil
			}
			if got.To != want.To || got.From != want.From || got.Kind != want.Kind || got.Text != want.Text ||
				got.Channel != canonical.ChannelWhatsApp || !reflect.DeepEqual(got.Buttons, want.Buttons) ||
				!reflect.DeepEqual(got.Options, want.Options) || !reflect.DeepEqual(got.Media, want.Media) ||
				!reflect.DeepEqual(got.Extra, want.Extra) {
				t.Errorf("decoded\n%+v\nwant\n%+v", *got, want)
			}

			got.Seq, got.CreatedAt = 53687, adaptertest.Now
			status, body := in.Accepted(call, &b, nil)
			resp := &fasthttp.Response{}
			resp.SetStatusCode(status)
			resp.SetBody(body)
			if r := out.Classify(&c.m, resp); r.Outcome != adapters.Sent || r.UpstreamID != "53687" || r.Status != canonical.StatusSent {
				t.Errorf("classify the simulator's answer: %+v", r)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	out := newOutbound(t, "", map[string]string{"apikey": "k"})
	in := New(Options{})
	doc, err := os.ReadFile("testdata/doc_response.json")
	if err != nil {
		t.Fatal(err)
	}
	errBody := func(e *canonical.Error) []byte {
		_, body := in.Error(&adapters.Call{Req: &fasthttp.Request{}}, e, nil)
		return body
	}
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name   string
		status int
		header string
		body   []byte
		want   adapters.Result
	}{
		{"documented success", 200, "", doc, adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "3664"}},
		{"created", 201, "", []byte(`{"id": 7, "status": "pending"}`), adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "7"}},
		{"success without record", 200, "", []byte(`<html>ok</html>`), adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}},
		{"unauthenticated", 401, "", []byte(`{"message":"Unauthenticated."}`),
			adapters.Result{Outcome: adapters.Retry, Code: "401", Reason: "Unauthenticated."}},
		{"validation", 422, "", []byte(`{"message":"The to field is required. (and 1 more error)","errors":{"to":["The to field is required."],"message":["The message field is required."]}}`),
			adapters.Result{Outcome: adapters.Permanent, Code: "422", Reason: "The to field is required. (and 1 more error)"}},
		{"validation from the simulator", 422, "", errBody(invalid("buttons.1", "must be a string")),
			adapters.Result{Outcome: adapters.Permanent, Code: "422", Reason: "The buttons.1 field must be a string."}},
		{"not found", 404, "", []byte(`{"message":"The route api/v1/x could not be found."}`),
			adapters.Result{Outcome: adapters.Retry, Code: "404", Reason: "The route api/v1/x could not be found."}},
		{"rate limited", 429, "30", []byte(`{"message":"Too Many Attempts."}`),
			adapters.Result{Outcome: adapters.Retry, Code: "429", Reason: "Too Many Attempts.", RetryAfter: 30 * time.Second}},
		{"timeout", 408, "", nil, adapters.Result{Outcome: adapters.Retry, Code: "408", Reason: "Request Timeout"}},
		{"server error", 500, "", []byte(`{"message":"Server Error"}`), adapters.Result{Outcome: adapters.Retry, Code: "500", Reason: "Server Error"}},
		{"bad gateway html", 502, "", []byte(`<html><body>502 Bad Gateway</body></html>`), adapters.Result{Outcome: adapters.Retry, Code: "502", Reason: "Bad Gateway"}},
		{"redirect", 302, "", nil, adapters.Result{Outcome: adapters.Retry, Code: "302", Reason: "Found"}},
	}
	for _, c := range cases {
		resp := &fasthttp.Response{}
		resp.SetStatusCode(c.status)
		if c.header != "" {
			resp.Header.Set("Retry-After", c.header)
		}
		resp.SetBody(c.body)
		if got := out.Classify(&canonical.Message{}, resp); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}

	resp := &fasthttp.Response{}
	resp.SetStatusCode(503)
	resp.Header.Set("Retry-After", date)
	resp.SetBody(errBody(canonical.Errorf(canonical.ErrUnavailable, "full")))
	r := out.Classify(&canonical.Message{}, resp)
	if r.Outcome != adapters.Retry || r.Reason != "Service Unavailable" || r.RetryAfter < 80*time.Second || r.RetryAfter > 90*time.Second {
		t.Errorf("503 with an HTTP date: %+v", r)
	}
}
