package http

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

func BenchmarkEncode(b *testing.B) {
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "hook", URL: "http://127.0.0.1:9000/messages", Credentials: map[string]string{"bearer": "t"}})
	if err != nil {
		b.Fatal(err)
	}
	m := &canonical.Message{ID: "0190a5e2-0000-7000-8000-000000000000", Tenant: "acme", To: "972501234567",
		Channel: canonical.ChannelWhatsApp, Kind: canonical.KindText, Text: "Your code is 123456"}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	b.ReportAllocs()
	for b.Loop() {
		req.Reset()
		if err := o.Encode(m, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "hook", URL: "http://127.0.0.1:9000/messages"})
	if err != nil {
		b.Fatal(err)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.SetBodyString(`{"id":"up-123","status":"accepted"}`)
	m := &canonical.Message{ID: "m"}
	b.ReportAllocs()
	for b.Loop() {
		if res := o.Classify(m, resp); res.UpstreamID != "up-123" {
			b.Fatal(res)
		}
	}
}
