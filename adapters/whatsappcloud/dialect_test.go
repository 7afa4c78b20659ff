package whatsappcloud

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func TestGolden(t *testing.T) {
	adaptertest.RunGolden(t, New(), "testdata/golden")
}

func TestErrors(t *testing.T) {
	adaptertest.CheckErrors(t, New())
}

func TestRoutes(t *testing.T) {
	in := New()
	if in.Dialect() != "whatsappcloud" {
		t.Errorf("dialect %q", in.Dialect())
	}
	rs := in.Routes()
	if len(rs) != 1 || rs[0].Path != "/{version}/{phoneNumberId}/messages" || rs[0].Op != adapters.OpSend ||
		len(rs[0].Methods) != 1 || rs[0].Methods[0] != "POST" {
		t.Errorf("routes %+v", rs)
	}
}

func TestParsePath(t *testing.T) {
	for path, want := range map[string]string{
		"/v21.0/106540352242922/messages": "106540352242922",
		"/v9.1/1/messages":                "1",
	} {
		if _, id, ok := parsePath([]byte(path)); !ok || string(id) != want {
			t.Errorf("%s: %q %v", path, id, ok)
		}
	}
	for _, path := range []string{"", "/", "/v21.0/1/messages/", "/v21.0/1/message", "/v21.0//messages",
		"/21.0/1/messages", "/v21/1/messages", "/v.0/1/messages", "/v21.0/+1/messages", "/x/v21.0/1/messages",
		"v21.0/1/messages", "/v21.0/1/2/messages"} {
		if _, _, ok := parsePath([]byte(path)); ok {
			t.Errorf("%q parsed", path)
		}
	}
}

func TestCredential(t *testing.T) {
	in := New()
	for _, c := range []struct {
		header, query, want string
	}{
		{"Bearer abc", "", "abc"},
		{"bearer  abc ", "", "abc"},
		{"OAuth abc", "", "abc"},
		{"", "access_token=q1", "q1"},
		{"Bearer h1", "access_token=q1", "h1"},
		{"Basic abc", "", ""},
		{"Bearer ", "", ""},
		{"", "", ""},
	} {
		req := &fasthttp.Request{}
		req.SetRequestURI("/v21.0/1/messages?" + c.query)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		cred, ok := in.Credential(&adapters.Call{Req: req})
		if ok != (c.want != "") || cred.Secret != c.want || (ok && cred.Scheme != adapters.SchemeBearer) {
			t.Errorf("%q %q: %+v %v, want %q", c.header, c.query, cred, ok, c.want)
		}
	}
	if _, ok := in.Credential(&adapters.Call{}); ok {
		t.Error("credential without a request")
	}
}

func TestWAMID(t *testing.T) {
	m := &canonical.Message{ID: "0190c8e1-2f3a-7b4c-9d5e-6f708192a3b4", To: "16505076520"}
	id := WAMID(m)
	if !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("%q", id)
	}
	raw, err := base64.StdEncoding.DecodeString(id[len("wamid."):])
	if err != nil {
		t.Fatal(err)
	}
	want := "\x1c\x18\x0b16505076520\x15\x02\x00\x11\x18\x200190C8E12F3A7B4C9D5E6F708192A3B4\x00"
	if string(raw) != want {
		t.Errorf("record %q, want %q", raw, want)
	}
	if WAMID(m) != id {
		t.Error("not deterministic")
	}
	other := *m
	other.ID = "0190c8e1-2f3a-7b4c-9d5e-6f708192a3b5"
	if WAMID(&other) == id {
		t.Error("two messages share a wamid")
	}
	bySeq := WAMID(&canonical.Message{Seq: 0xbeef, To: "972501234567"})
	raw, _ = base64.StdEncoding.DecodeString(bySeq[len("wamid."):])
	if !strings.Contains(string(raw), "\x18\x04BEEF\x00") {
		t.Errorf("seq wamid record %q", raw)
	}
}

// TestRoundTrip encodes canonical messages with the Outbound and decodes the requests with
// the Inbound the simulator is built on: the pair must agree on every message they share.
func TestRoundTrip(t *testing.T) {
	o := newOutbound(t, "http://127.0.0.1:9101", testCreds)
	in := New()
	for _, c := range encodeCases {
		t.Run(c.name, func(t *testing.T) {
			var req fasthttp.Request
			if err := o.Encode(&c.m, &req); err != nil {
				t.Fatal(err)
			}
			call := &adapters.Call{Op: adapters.OpSend, Req: &req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
			var b adapters.Batch
			if err := in.Decode(call, &b); err != nil {
				t.Fatalf("decode: %v\n%s", err, req.Body())
			}
			if b.Cred.Secret != "EAAG-test-token" || len(b.Messages) != 1 {
				t.Fatalf("cred %+v, %d messages", b.Cred, len(b.Messages))
			}
			got, want := b.Messages[0], readBack(c.name, &c.m)
			if got.Extra["phone_number_id"] != testPhoneID {
				t.Errorf("phone_number_id %q", got.Extra["phone_number_id"])
			}
			delete(got.Extra, "phone_number_id")
			if len(got.Extra) == 0 {
				got.Extra = nil
			}
			if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
				t.Errorf("decoded\n got %s\nwant %s", g, w)
			}
		})
	}
}

// readBack is the message the Inbound must read back from m as the Outbound sends it: the
// same content, in this dialect, unless the Outbound had to change its form (roundTripBack).
func readBack(name string, m *canonical.Message) *canonical.Message {
	w, ok := roundTripBack[name]
	if !ok {
		w = canonical.Message{To: m.To, Kind: m.Kind, Text: m.Text, Media: m.Media, Buttons: m.Buttons,
			Options: m.Options, Template: m.Template}
		w.InferKind()
	}
	w.Dialect, w.Channel = Dialect, canonical.ChannelWhatsApp
	return &w
}

// roundTripBack lists the encode cases whose form the Outbound changes, with what the
// recipient gets: the caption is the message's text, documents carry the file name they are
// shown with, buttons that do not fit reply buttons become list options, and degraded
// messages are the text they were sent as.
var roundTripBack = map[string]canonical.Message{
	"image_own_caption": {To: "905374937766", Kind: canonical.KindMedia, Text: "Kampanya 🎉",
		Media: []canonical.Media{{URL: "https://cdn.example.com/a.webp"}}},
	"image_text_and_caption": {To: "905374937766", Kind: canonical.KindMedia, Text: "Yeni ürün\n\nKampanya 🎉",
		Media: []canonical.Media{{URL: "https://cdn.example.com/a.png"}}},
	"audio_with_text_goes_as_document": {To: "5511987654321", Kind: canonical.KindMedia, Text: "Ouça a mensagem",
		Media: []canonical.Media{{URL: "https://cdn.example.com/voz.mp3", Filename: "voz.mp3"}}},
	"document_filename_from_url": {To: "972501234567", Kind: canonical.KindMedia, Text: "המסמך המבוקש",
		Media: []canonical.Media{{URL: "https://cdn.example.com/docs/%D7%97%D7%95%D7%96%D7%94.pdf?dl=1", Filename: "חוזה.pdf"}}},
	"document_own_filename_picks_type": {To: "972501234567", Kind: canonical.KindMedia,
		Media: []canonical.Media{{URL: "https://cdn.example.com/download?id=7"}}},
	"buttons_with_document_header": {To: "972501234567", Kind: canonical.KindButtons, Text: "לאשר את ההצעה?",
		Buttons: []string{"כן", "לא"}, Media: []canonical.Media{{URL: "https://cdn.example.com/offer.pdf", Filename: "offer.pdf"}}},
	"four_buttons_go_as_list": {To: "905374937766", Kind: canonical.KindList, Text: "Randevu günü?",
		Options: []string{"Pazartesi", "Salı", "Çarşamba", "Perşembe"}},
	"long_button_title_goes_as_list": {To: "5511987654321", Kind: canonical.KindList, Text: "Como prefere?",
		Options: []string{"Sim", "Falar com um atendente…"},
		Extra:   map[string]string{"options.2.description": "Falar com um atendente humano agora mesmo, por favor"}},
	"list_hebrew": {To: "972501234567", Kind: canonical.KindList, Text: "בחרו סניף:",
		Options: []string{"תל אביב", "ירושלים", "חיפה – מרכז הכרמל והסבי…"},
		Extra:   map[string]string{"options.3.description": "חיפה – מרכז הכרמל והסביבה הקרובה"}},
	"list_with_media_links_it": {To: "905374937766", Kind: canonical.KindList, Text: "Menü\n\nhttps://cdn.example.com/menu.jpg",
		Options: []string{"Çay", "Kahve"}},
	"long_body_buttons_go_as_numbered_text": {To: "905374937766", Kind: canonical.KindText,
		Text: strings.Repeat("ş", 1025) + "\n\n1. Evet\n2. Hayır"},
	"template_no_params_default_language": {To: "5511987654321", Kind: canonical.KindTemplate,
		Template: &canonical.Template{Name: "hello_world", Language: "en_US"}},
	"template_params_flattened": {To: "5511987654321", Kind: canonical.KindTemplate,
		Template: &canonical.Template{Name: "aviso", Language: "pt_BR", Params: []string{"linha 1 linha 2 fim", "a    b"}}},
	"long_caption_goes_as_text_with_link": {To: "972501234567", Kind: canonical.KindText,
		Text: strings.Repeat("א", 1025) + "\n\nhttps://cdn.example.com/a.jpg"},
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLocalNumberNeedsCountryCode(t *testing.T) {
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v21.0/1/messages")
	req.Header.Set("Authorization", "Bearer t")
	req.SetBodyString(`{"messaging_product":"whatsapp","to":"0501234567","text":{"body":"x"}}`)
	var b adapters.Batch
	err := New().Decode(&adapters.Call{Op: adapters.OpSend, Req: req}, &b)
	if ce, ok := err.(*canonical.Error); !ok || ce.Field != "to" || len(b.Messages) != 0 {
		t.Errorf("local number without a country code: %v", err)
	}
}
