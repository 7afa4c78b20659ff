package whatsappcloud

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

const (
	benchText    = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"972501234567","type":"text","text":{"body":"שלום רב,\nההזמנה שלך נשלחה ✅ Acompanhe: https://loja.example.com/p?id=1"}}`
	benchButtons = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"905374937766","type":"interactive","interactive":{"type":"button","body":{"text":"Randevunuzu onaylıyor musunuz?\n\n📅 Salı 14:00"},"action":{"buttons":[{"type":"reply","reply":{"id":"btn-1","title":"✅ Evet"}},{"type":"reply","reply":{"id":"btn-2","title":"❌ Hayır"}},{"type":"reply","reply":{"id":"btn-3","title":"Başka gün"}}]}}}`
	benchTmpl    = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"5511987654321","type":"template","template":{"name":"pedido_enviado","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"text","text":"João"},{"type":"text","text":"#1234 📦"}]}]}}`
)

func benchCall(body string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI(fuzzPath)
	req.Header.Set("Authorization", "Bearer EAAJB-meta-demo-token")
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	return &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
}

func benchDecode(b *testing.B, body string, wantErr bool) {
	in := New()
	c := benchCall(body)
	var batch adapters.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(c, &batch); (err != nil) != wantErr {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeText(b *testing.B)     { benchDecode(b, benchText, false) }
func BenchmarkDecodeButtons(b *testing.B)  { benchDecode(b, benchButtons, false) }
func BenchmarkDecodeTemplate(b *testing.B) { benchDecode(b, benchTmpl, false) }
func BenchmarkDecodeInvalid(b *testing.B) {
	benchDecode(b, `{"messaging_product":"whatsapp","to":"972501234567","type":"text","text":{"body":42}}`, true)
}

func BenchmarkAccepted(b *testing.B) {
	in := New()
	c := benchCall(benchText)
	var batch adapters.Batch
	if err := in.Decode(c, &batch); err != nil {
		b.Fatal(err)
	}
	adaptertest.PlayQueue(&batch)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		_, dst = in.Accepted(c, &batch, dst[:0])
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkError(b *testing.B) {
	in := New()
	c := benchCall(benchButtons)
	err := errValue("interactive['action']['buttons']", "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		_, dst = in.Error(c, err, dst[:0])
	}
}

func benchEncode(b *testing.B, m *canonical.Message) {
	o := newOutbound(b, "http://127.0.0.1:9101", testCreds)
	var req fasthttp.Request
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Encode(m, &req); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(req.Body())))
}

func BenchmarkEncodeText(b *testing.B) {
	benchEncode(b, &canonical.Message{To: "972501234567", Kind: canonical.KindText, Text: "שלום רב,\nההזמנה שלך נשלחה ✅"})
}

func BenchmarkEncodeButtons(b *testing.B) {
	benchEncode(b, &canonical.Message{To: "905374937766", Kind: canonical.KindButtons,
		Text: "Randevunuzu onaylıyor musunuz?\n\n📅 Salı 14:00", Buttons: []string{"✅ Evet", "❌ Hayır", "Başka gün"}})
}

func BenchmarkEncodeTemplate(b *testing.B) {
	benchEncode(b, &canonical.Message{To: "5511987654321", Kind: canonical.KindTemplate,
		Template: &canonical.Template{Name: "pedido_enviado", Language: "pt_BR", Params: []string{"João", "#1234 📦"}}})
}

func BenchmarkClassifySent(b *testing.B) {
	o := newOutbound(b, "", testCreds)
	var resp fasthttp.Response
	resp.SetStatusCode(200)
	resp.SetBodyString(`{"messaging_product":"whatsapp","contacts":[{"input":"972501234567","wa_id":"972501234567"}],"messages":[{"id":"wamid.HBgMOTcyNTAxMjM0NTY3FQIAERggMDAwMDAwMDAwMDAwNzAwMDgwMDAwMDAwMDAwMDAwMDEA"}]}`)
	m := &canonical.Message{}
	b.ReportAllocs()
	for b.Loop() {
		if r := o.Classify(m, &resp); r.Outcome != adapters.Sent {
			b.Fatal(r)
		}
	}
}

func BenchmarkParseStatusWebhook(b *testing.B) {
	body := []byte(metaWebhook)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseStatusWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendStatusWebhook(b *testing.B) {
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendStatusWebhook(dst[:0], "106540352242922", metaStatuses)
	}
}

func BenchmarkCheckSignature(b *testing.B) {
	body, secret := []byte(metaWebhook), []byte("app-secret-123")
	sig := Signature(body, secret)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !CheckSignature(body, sig, secret) {
			b.Fatal("refused")
		}
	}
}
