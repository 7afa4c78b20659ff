package multiwhats

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

const benchBody = `{ "from": "908503080335", "to": "905374937766", "message": "Hi, dear guest 👤 \n\nWe want to send message to you.\n\nDo you allow us for sending message to you? \n\n 📨", "type": "button", "buttons": [ "👍 Yes", "⛔ No" ] }`

func benchDecode(b *testing.B, uri, body string) {
	in := New(Options{})
	c := sendCall(uri, body)
	var batch adapters.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(c, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeButtonAPIKeyQuery(b *testing.B) {
	benchDecode(b, sendPath+"?apikey=mw-demo-key", benchBody)
}

func BenchmarkDecodeButtonAPIKeyBody(b *testing.B) {
	benchDecode(b, sendPath, benchBody[:len(benchBody)-1]+`, "apikey": "mw-demo-key" }`)
}

func BenchmarkDecodeText(b *testing.B) {
	benchDecode(b, sendPath+"?apikey=mw-demo-key",
		`{"from":"908503080335","to":"905374937766","message":"Merhaba Ayşe, siparişiniz yola çıktı.\nTeşekkürler!","type":"text"}`)
}

func BenchmarkDecodeInvalid(b *testing.B) {
	in := New(Options{})
	body := `{"from":"908503080335","to":"905374937766","message":"Hi","type":"button","buttons":"Yes"}`
	c := sendCall(sendPath+"?apikey=mw-demo-key", body)
	var batch adapters.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(c, &batch); err == nil {
			b.Fatal("decoded an invalid request")
		}
	}
}

func BenchmarkAccepted(b *testing.B) {
	in := New(Options{})
	c := sendCall(sendPath+"?apikey=mw-demo-key", benchBody)
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

func BenchmarkError422(b *testing.B) {
	in := New(Options{})
	c := &adapters.Call{Op: adapters.OpSend, Req: &fasthttp.Request{}}
	err := invalid("buttons.1", "must be a string")
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		_, dst = in.Error(c, err, dst[:0])
	}
}

func BenchmarkNormalizePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonical.NormalizePhone("905374937766", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	out, err := NewOutbound(adapters.UpstreamConfig{URL: "http://127.0.0.1:9001", Credentials: map[string]string{"apikey": "mw-demo-key"}})
	if err != nil {
		b.Fatal(err)
	}
	m := &canonical.Message{Dialect: "wavy", To: "905374937766", From: "908503080335", Kind: canonical.KindButtons,
		Text: "Hi, dear guest 👤 \n\nDo you allow us for sending message to you? \n\n 📨", Buttons: []string{"👍 Yes", "⛔ No"}}
	req := &fasthttp.Request{}
	b.ReportAllocs()
	for b.Loop() {
		if err := out.Encode(m, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyDocumentedSuccess(b *testing.B) {
	out, err := NewOutbound(adapters.UpstreamConfig{Credentials: map[string]string{"apikey": "mw-demo-key"}})
	if err != nil {
		b.Fatal(err)
	}
	in := New(Options{})
	c := sendCall(sendPath+"?apikey=mw-demo-key", benchBody)
	var batch adapters.Batch
	if err := in.Decode(c, &batch); err != nil {
		b.Fatal(err)
	}
	adaptertest.PlayQueue(&batch)
	_, body := in.Accepted(c, &batch, nil)
	resp := &fasthttp.Response{}
	resp.SetBody(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if r := out.Classify(batch.Messages[0], resp); r.UpstreamID != "1000" {
			b.Fatal(r)
		}
	}
}
