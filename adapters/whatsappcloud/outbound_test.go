package whatsappcloud

import (
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

const testPhoneID = "106540352242922"

var testCreds = map[string]string{"token": "EAAG-test-token", "phone_number_id": testPhoneID}

func newOutbound(t testing.TB, url string, creds map[string]string) *Outbound {
	t.Helper()
	return adaptertest.Outbound[*Outbound](t, NewOutbound, adapters.UpstreamConfig{Name: "meta", URL: url, Credentials: creds})
}

func TestNewOutbound(t *testing.T) {
	withVersion := map[string]string{"token": "t", "phone_number_id": "123", "version": "v19.0"}
	for _, c := range []struct {
		url   string
		creds map[string]string
		want  string
	}{
		{"", testCreds, "https://graph.facebook.com/v21.0/106540352242922/messages"},
		{"https://graph.facebook.com/", testCreds, "https://graph.facebook.com/v21.0/106540352242922/messages"},
		{"http://127.0.0.1:9101", testCreds, "http://127.0.0.1:9101/v21.0/106540352242922/messages"},
		{"http://127.0.0.1:9101", withVersion, "http://127.0.0.1:9101/v19.0/123/messages"},
	} {
		o := newOutbound(t, c.url, c.creds)
		if o.uri != c.want {
			t.Errorf("url %q: request URI %q, want %q", c.url, o.uri, c.want)
		}
		if o.language != defaultLanguage {
			t.Errorf("default language %q", o.language)
		}
	}
	if o := newOutbound(t, "", map[string]string{"token": "t", "phone_number_id": "1", "language": "pt_BR"}); o.language != "pt_BR" {
		t.Errorf("language credential ignored: %q", o.language)
	}
	for name, c := range map[string]adapters.UpstreamConfig{
		"no token":        {URL: "https://graph.facebook.com", Credentials: map[string]string{"phone_number_id": "1"}},
		"no number":       {URL: "https://graph.facebook.com", Credentials: map[string]string{"token": "t"}},
		"number not id":   {Credentials: map[string]string{"token": "t", "phone_number_id": "+972501234567"}},
		"token with a LF": {Credentials: map[string]string{"token": "t\n", "phone_number_id": "1"}},
		"bad version":     {Credentials: map[string]string{"token": "t", "phone_number_id": "1", "version": "21"}},
		"ftp":             {URL: "ftp://graph.facebook.com", Credentials: testCreds},
		"query":           {URL: "https://graph.facebook.com/?x=1", Credentials: testCreds},
		"relative":        {URL: "graph.facebook.com", Credentials: testCreds},
	} {
		if _, err := NewOutbound(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCaps(t *testing.T) {
	want := adapters.Caps{Text: true, Media: true, Buttons: true, List: true, Template: true, MaxText: 4096}
	if got := newOutbound(t, "", testCreds).Caps(); got != want {
		t.Errorf("caps = %+v, want %+v", got, want)
	}
}

// head is the start every request body shares, up to the recipient.
func head(to string) string {
	return `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + to + `"`
}

// encodeCases are canonical messages of every kind the Cloud API carries, as other dialects
// produce them, with the exact body each must be sent as.
var encodeCases = []struct {
	name string
	m    canonical.Message
	body string
}{
	{"text_hebrew_crlf", canonical.Message{Dialect: "messageflow", To: "972501234567", Kind: canonical.KindText,
		Text: "שלום רב,\r\nההזמנה שלך \"נשלחה\" ✅"},
		head("972501234567") + `,"type":"text","text":{"body":"שלום רב,\r\nההזמנה שלך \"נשלחה\" ✅"}}`},
	{"text_portuguese_link_previews", canonical.Message{Dialect: "wavy", To: "5511987654321",
		Text: "Olá João! Seu pedido saiu para entrega.\nAcompanhe: https://loja.example.com.br/p?id=1&x=ção"},
		head("5511987654321") + `,"type":"text","text":{"preview_url":true,"body":"Olá João! Seu pedido saiu para entrega.\nAcompanhe: https://loja.example.com.br/p?id=1&x=ção"}}`},
	{"text_turkish_tab_control", canonical.Message{Dialect: "multiwhats", To: "905374937766", Kind: canonical.KindText,
		Text: "Merhaba Ayşe,\tsiparişiniz yola çıktı. Iğdır'a teslim: ÇĞİÖŞÜ \\ \u0001 \u2028"},
		head("905374937766") + `,"type":"text","text":{"body":"Merhaba Ayşe,\tsiparişiniz yola çıktı. Iğdır'a teslim: ÇĞİÖŞÜ \\ \u0001 \u2028"}}`},
	{"image_caption_from_text", canonical.Message{Dialect: "messageflow", To: "972501234567", Kind: canonical.KindMedia,
		Text: "החשבונית שלך 🧾\nתודה!", Media: []canonical.Media{{URL: "https://cdn.example.com/inv.JPG?sig=a%20b"}}},
		head("972501234567") + `,"type":"image","image":{"link":"https://cdn.example.com/inv.JPG?sig=a%20b","caption":"החשבונית שלך 🧾\nתודה!"}}`},
	{"image_own_caption", canonical.Message{Dialect: "native", To: "905374937766",
		Media: []canonical.Media{{URL: "https://cdn.example.com/a.webp", Caption: "Kampanya 🎉"}}},
		head("905374937766") + `,"type":"image","image":{"link":"https://cdn.example.com/a.webp","caption":"Kampanya 🎉"}}`},
	{"image_text_and_caption", canonical.Message{Dialect: "native", To: "905374937766",
		Text: "Yeni ürün", Media: []canonical.Media{{URL: "https://cdn.example.com/a.png", Caption: "Kampanya 🎉"}}},
		head("905374937766") + `,"type":"image","image":{"link":"https://cdn.example.com/a.png","caption":"Yeni ürün\n\nKampanya 🎉"}}`},
	{"video_no_caption", canonical.Message{Dialect: "native", To: "5511987654321",
		Media: []canonical.Media{{URL: "http://cdn.example.com/v/clip.mp4#t=1"}}},
		head("5511987654321") + `,"type":"video","video":{"link":"http://cdn.example.com/v/clip.mp4#t=1"}}`},
	{"audio", canonical.Message{Dialect: "native", To: "5511987654321",
		Media: []canonical.Media{{URL: "https://cdn.example.com/voz.ogg"}}},
		head("5511987654321") + `,"type":"audio","audio":{"link":"https://cdn.example.com/voz.ogg"}}`},
	{"audio_with_text_goes_as_document", canonical.Message{Dialect: "multiwhats", To: "5511987654321",
		Text: "Ouça a mensagem", Media: []canonical.Media{{URL: "https://cdn.example.com/voz.mp3"}}},
		head("5511987654321") + `,"type":"document","document":{"link":"https://cdn.example.com/voz.mp3","caption":"Ouça a mensagem","filename":"voz.mp3"}}`},
	{"document_filename_from_url", canonical.Message{Dialect: "messageflow", To: "972501234567",
		Text: "המסמך המבוקש", Media: []canonical.Media{{URL: "https://cdn.example.com/docs/%D7%97%D7%95%D7%96%D7%94.pdf?dl=1"}}},
		head("972501234567") + `,"type":"document","document":{"link":"https://cdn.example.com/docs/%D7%97%D7%95%D7%96%D7%94.pdf?dl=1","caption":"המסמך המבוקש","filename":"חוזה.pdf"}}`},
	{"document_own_filename_picks_type", canonical.Message{Dialect: "native", To: "972501234567",
		Media: []canonical.Media{{URL: "https://cdn.example.com/download?id=7", Filename: "foto.jpeg"}}},
		head("972501234567") + `,"type":"image","image":{"link":"https://cdn.example.com/download?id=7"}}`},
	{"document_no_name", canonical.Message{Dialect: "native", To: "972501234567",
		Media: []canonical.Media{{URL: "https://cdn.example.com/download?id=7"}}},
		head("972501234567") + `,"type":"document","document":{"link":"https://cdn.example.com/download?id=7"}}`},
	{"buttons_portuguese_emoji", canonical.Message{Dialect: "wavy", To: "5511987654321", Kind: canonical.KindButtons,
		Text: "Olá João! Confirma a entrega?\n\n📦", Buttons: []string{"✅ Sim", "❌ Não", "Falar com atendente"}},
		head("5511987654321") + `,"type":"interactive","interactive":{"type":"button","body":{"text":"Olá João! Confirma a entrega?\n\n📦"},"action":{"buttons":[` +
			`{"type":"reply","reply":{"id":"btn-1","title":"✅ Sim"}},{"type":"reply","reply":{"id":"btn-2","title":"❌ Não"}},` +
			`{"type":"reply","reply":{"id":"btn-3","title":"Falar com atendente"}}]}}}`},
	{"buttons_with_image_header", canonical.Message{Dialect: "multiwhats", To: "905374937766", Kind: canonical.KindButtons,
		Text: "Beğendiniz mi?", Buttons: []string{"👍", "👎"}, Media: []canonical.Media{{URL: "https://cdn.example.com/u.png"}}},
		head("905374937766") + `,"type":"interactive","interactive":{"type":"button","header":{"type":"image","image":{"link":"https://cdn.example.com/u.png"}},` +
			`"body":{"text":"Beğendiniz mi?"},"action":{"buttons":[{"type":"reply","reply":{"id":"btn-1","title":"👍"}},{"type":"reply","reply":{"id":"btn-2","title":"👎"}}]}}}`},
	{"buttons_with_document_header", canonical.Message{Dialect: "native", To: "972501234567", Kind: canonical.KindButtons,
		Text: "לאשר את ההצעה?", Buttons: []string{"כן", "לא"}, Media: []canonical.Media{{URL: "https://cdn.example.com/offer.pdf"}}},
		head("972501234567") + `,"type":"interactive","interactive":{"type":"button","header":{"type":"document","document":{"link":"https://cdn.example.com/offer.pdf","filename":"offer.pdf"}},` +
			`"body":{"text":"לאשר את ההצעה?"},"action":{"buttons":[{"type":"reply","reply":{"id":"btn-1","title":"כן"}},{"type":"reply","reply":{"id":"btn-2","title":"לא"}}]}}}`},
	{"four_buttons_go_as_list", canonical.Message{Dialect: "multiwhats", To: "905374937766", Kind: canonical.KindButtons,
		Text: "Randevu günü?", Buttons: []string{"Pazartesi", "Salı", "Çarşamba", "Perşembe"}},
		head("905374937766") + `,"type":"interactive","interactive":{"type":"list","body":{"text":"Randevu günü?"},"action":{"button":"Options","sections":[{"rows":[` +
			`{"id":"btn-1","title":"Pazartesi"},{"id":"btn-2","title":"Salı"},{"id":"btn-3","title":"Çarşamba"},{"id":"btn-4","title":"Perşembe"}]}]}}}`},
	{"long_button_title_goes_as_list", canonical.Message{Dialect: "wavy", To: "5511987654321", Kind: canonical.KindButtons,
		Text: "Como prefere?", Buttons: []string{"Sim", "Falar com um atendente humano agora mesmo, por favor"}},
		head("5511987654321") + `,"type":"interactive","interactive":{"type":"list","body":{"text":"Como prefere?"},"action":{"button":"Options","sections":[{"rows":[` +
			`{"id":"btn-1","title":"Sim"},{"id":"btn-2","title":"Falar com um atendente…","description":"Falar com um atendente humano agora mesmo, por favor"}]}]}}}`},
	{"list_hebrew", canonical.Message{Dialect: "native", To: "972501234567", Kind: canonical.KindList,
		Text: "בחרו סניף:", Options: []string{"תל אביב", "ירושלים", "חיפה – מרכז הכרמל והסביבה הקרובה"}},
		head("972501234567") + `,"type":"interactive","interactive":{"type":"list","body":{"text":"בחרו סניף:"},"action":{"button":"Options","sections":[{"rows":[` +
			`{"id":"opt-1","title":"תל אביב"},{"id":"opt-2","title":"ירושלים"},{"id":"opt-3","title":"חיפה – מרכז הכרמל והסבי…","description":"חיפה – מרכז הכרמל והסביבה הקרובה"}]}]}}}`},
	{"list_with_media_links_it", canonical.Message{Dialect: "multiwhats", To: "905374937766", Kind: canonical.KindList,
		Text: "Menü", Options: []string{"Çay", "Kahve"}, Media: []canonical.Media{{URL: "https://cdn.example.com/menu.jpg"}}},
		head("905374937766") + `,"type":"interactive","interactive":{"type":"list","body":{"text":"Menü\n\nhttps://cdn.example.com/menu.jpg"},"action":{"button":"Options","sections":[{"rows":[` +
			`{"id":"opt-1","title":"Çay"},{"id":"opt-2","title":"Kahve"}]}]}}}`},
	{"long_body_buttons_go_as_numbered_text", canonical.Message{Dialect: "multiwhats", To: "905374937766", Kind: canonical.KindButtons,
		Text: strings.Repeat("ş", 1025), Buttons: []string{"Evet", "Hayır"}},
		head("905374937766") + `,"type":"text","text":{"body":"` + strings.Repeat("ş", 1025) + `\n\n1. Evet\n2. Hayır"}}`},
	{"template_params", canonical.Message{Dialect: "flowbot", To: "972501234567", Kind: canonical.KindTemplate,
		Template: &canonical.Template{Name: "order_update", Language: "he", Params: []string{"דנה", "#1234 📦"}}},
		head("972501234567") + `,"type":"template","template":{"name":"order_update","language":{"code":"he"},"components":[{"type":"body","parameters":[` +
			`{"type":"text","text":"דנה"},{"type":"text","text":"#1234 📦"}]}]}}`},
	{"template_no_params_default_language", canonical.Message{Dialect: "flowbot", To: "5511987654321",
		Template: &canonical.Template{Name: "hello_world"}},
		head("5511987654321") + `,"type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`},
	{"template_params_flattened", canonical.Message{Dialect: "native", To: "5511987654321", Kind: canonical.KindTemplate,
		Template: &canonical.Template{Name: "aviso", Language: "pt_BR", Params: []string{"linha 1\nlinha 2\tfim", "a      b"}}},
		head("5511987654321") + `,"type":"template","template":{"name":"aviso","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[` +
			`{"type":"text","text":"linha 1 linha 2 fim"},{"type":"text","text":"a    b"}]}]}}`},
	{"long_caption_goes_as_text_with_link", canonical.Message{Dialect: "messageflow", To: "972501234567",
		Text: strings.Repeat("א", 1025), Media: []canonical.Media{{URL: "https://cdn.example.com/a.jpg"}}},
		head("972501234567") + `,"type":"text","text":{"preview_url":true,"body":"` + strings.Repeat("א", 1025) + `\n\nhttps://cdn.example.com/a.jpg"}}`},
}

func TestEncode(t *testing.T) {
	o := newOutbound(t, "http://127.0.0.1:9101/", testCreds)
	for _, c := range encodeCases {
		t.Run(c.name, func(t *testing.T) {
			var req fasthttp.Request
			req.Header.Set("X-Stale", "from a previous use")
			if err := o.Encode(&c.m, &req); err != nil {
				t.Fatal(err)
			}
			if got := string(req.Header.Method()); got != "POST" {
				t.Errorf("method %s", got)
			}
			if got := req.URI().String(); got != "http://127.0.0.1:9101/v21.0/106540352242922/messages" {
				t.Errorf("URI %s", got)
			}
			if got := string(req.Header.Peek("Authorization")); got != "Bearer EAAG-test-token" {
				t.Errorf("Authorization %q", got)
			}
			if got := string(req.Header.ContentType()); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if len(req.Header.Peek("X-Stale")) != 0 {
				t.Error("Encode kept a header of the request's previous use")
			}
			if got := string(req.Body()); got != c.body {
				t.Errorf("body:\n got %s\nwant %s", got, c.body)
			}
			var v map[string]any
			if err := json.Unmarshal(req.Body(), &v); err != nil {
				t.Errorf("body is not JSON: %v", err)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	o := newOutbound(t, "", testCreds)
	for _, c := range []struct {
		name, field string
		m           canonical.Message
	}{
		{"flow", "kind", canonical.Message{To: "972501234567", Kind: canonical.KindFlow, FlowID: "f1"}},
		{"two files", "media", canonical.Message{To: "972501234567", Text: "x",
			Media: []canonical.Media{{URL: "https://a/1.jpg"}, {URL: "https://a/2.jpg"}}}},
		{"local file", "media.url", canonical.Message{To: "972501234567", Text: "x", Media: []canonical.Media{{URL: "C:/a.jpg", Local: true}}}},
		{"template by id", "template.name", canonical.Message{To: "972501234567", Template: &canonical.Template{ID: "42"}}},
		{"template by group", "template.name", canonical.Message{To: "972501234567", Template: &canonical.Template{GroupID: "g"}}},
		{"eleven options", "options", canonical.Message{To: "972501234567", Text: "x", Kind: canonical.KindList,
			Options: strings.Split("1 2 3 4 5 6 7 8 9 10 11", " ")}},
		{"buttons without text", "text", canonical.Message{To: "972501234567", Kind: canonical.KindButtons, Buttons: []string{"a"},
			Media: []canonical.Media{{URL: "https://a/1.jpg"}}}},
		{"text over 4096 characters", "text", canonical.Message{To: "972501234567", Text: strings.Repeat("ü", 4097)}},
		{"numbered text over 4096", "text", canonical.Message{To: "972501234567", Kind: canonical.KindButtons,
			Text: strings.Repeat("a", 4090), Buttons: []string{"yes", "no"}}},
		{"no recipient", "to", canonical.Message{Text: "x"}},
		{"empty template parameter", "template.params", canonical.Message{To: "972501234567",
			Template: &canonical.Template{Name: "aviso", Params: []string{"a", " "}}}},
	} {
		var req fasthttp.Request
		err := o.Encode(&c.m, &req)
		ce, ok := err.(*canonical.Error)
		if !ok || ce.Code != canonical.ErrInvalid || ce.Field != c.field {
			t.Errorf("%s: error %#v, want ErrInvalid on %s", c.name, err, c.field)
		}
	}
	// Exactly 4096 characters of a 2-byte script fit.
	var req fasthttp.Request
	if err := o.Encode(&canonical.Message{To: "972501234567", Text: strings.Repeat("ü", 4096)}, &req); err != nil {
		t.Errorf("4096 characters: %v", err)
	}
}

func TestMediaType(t *testing.T) {
	for url, want := range map[string]string{
		"https://x.example/a.jpg": "image", "https://x.example/a.JPEG": "image", "https://x.example/a.png?x=1": "image",
		"https://x.example/a.webp#f": "image", "https://x.example/a.mp4": "video", "https://x.example/a.3gp": "video",
		"https://x.example/a.mp3": "audio", "https://x.example/a.ogg": "audio", "https://x.example/a.amr": "audio",
		"https://x.example/a.aac": "audio", "https://x.example/a.m4a": "audio", "https://x.example/a.pdf": "document",
		"https://x.example/a": "document", "https://x.example/": "document", "https://x.example": "document",
		"https://x.example/a.jpg/download": "document", "https://x.example.jpg": "document",
		"https://x.example/file.tar.gz": "document", "https://x.example/dir.v2/a": "document",
	} {
		if got := mediaType(&canonical.Media{URL: url}); got != want {
			t.Errorf("%s: %s, want %s", url, got, want)
		}
	}
}
