package messageflow

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// The document's richest JSON example, with a Hebrew URL-encoded text.
const benchJSON = `{"UUID":"6a708fea-a4d0-4976-a180-9f3bdd3de52e","ToMobileNumber":"0501234567","ToCountryCode":"972",` +
	`"FromMobileNumber":"972521234567","DownloadLink":"https://www.dropbox.com/s/k3n9x2q7w1z5v8m/Logo.jpg?dl=1",` +
	`"Message":"%D7%A9%D7%9C%D7%95%D7%9D%20%D7%A8%D7%91%2C%0A%D7%9E%D7%A6%D7%95%D7%A8%D7%A3%20%D7%A7%D7%98%D7%9C%D7%95%D7%92%20%D7%94%D7%9E%D7%91%D7%A6%D7%A2%D7%99%D7%9D%20%D7%A9%D7%9C%D7%A0%D7%95."}`

// The document's most common link: UUID, full number, URL-encoded text.
const benchQuery = "UUID=6a708fea-a4d0-4976-a180-9f3bdd3de52e&ToMobileNumber=972501234567" +
	"&wapMessage=%D7%A9%D7%9C%D7%95%D7%9D%20%D7%93%D7%A0%D7%94%2C%0A%D7%94%D7%94%D7%96%D7%9E%D7%A0%D7%94%20%D7%A9%D7%9C%D7%9A%20%D7%9E%D7%95%D7%9B%D7%A0%D7%94."

func benchDecode(b *testing.B, method, uri, contentType, body string) {
	in := New(Options{})
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.SetBodyString(body)
	call := &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
	var batch adapters.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(uri) + len(body)))
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(call, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	benchDecode(b, "POST", "/add_message", "application/json", benchJSON)
}

func BenchmarkDecodeQuery(b *testing.B) {
	benchDecode(b, "GET", "/webhook/add_message?"+benchQuery, "", "")
}

func BenchmarkDecodeForm(b *testing.B) {
	benchDecode(b, "POST", "/webhook/add_message", "application/x-www-form-urlencoded", benchQuery)
}

func BenchmarkAccepted(b *testing.B) {
	in := New(Options{})
	batch := &adapters.Batch{Messages: []*canonical.Message{{ID: "0190a5b2-7c1e-7000-8000-00000000002a"}}}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		_, dst = in.Accepted(nil, batch, dst[:0])
	}
}

func BenchmarkError(b *testing.B) {
	in := New(Options{})
	err := canonical.Invalid("ToMobileNumber", "is required")
	call := &adapters.Call{Req: &fasthttp.Request{}}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		_, dst = in.Error(call, err, dst[:0])
	}
}

func BenchmarkEncode(b *testing.B) {
	o, err := NewOutbound(adapters.UpstreamConfig{URL: "https://api-messageflow.flow-il.com", Credentials: map[string]string{"uuid": "6a708fea-a4d0-4976-a180-9f3bdd3de52e"}})
	if err != nil {
		b.Fatal(err)
	}
	m := &canonical.Message{To: "972501234567", From: "972521234567", Kind: canonical.KindMedia,
		Text:  "שלום רב,\nמצורף קטלוג המבצעים שלנו.",
		Media: []canonical.Media{{URL: "https://www.dropbox.com/s/k3n9x2q7w1z5v8m/Logo.jpg?dl=1"}}}
	req := &fasthttp.Request{}
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Encode(m, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	o, _ := NewOutbound(adapters.UpstreamConfig{URL: "https://api-messageflow.flow-il.com", Credentials: map[string]string{"uuid": "u"}})
	resp := &fasthttp.Response{}
	resp.SetBodyString(`{"success":true,"id":"0190a5b2-7c1e-7000-8000-00000000002a"}`)
	m := &canonical.Message{}
	b.ReportAllocs()
	for b.Loop() {
		if r := o.Classify(m, resp); r.Outcome != adapters.Sent {
			b.Fatal(r)
		}
	}
}
