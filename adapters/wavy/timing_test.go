package wavy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func benchRequest(method, uri, body string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.Set("username", "acme")
	req.Header.Set("authenticationtoken", "wavy-demo-token")
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	return req
}

// benchDecode decodes and answers one request per iteration, as the send path does.
func benchDecode(b *testing.B, op adapters.Op, req *fasthttp.Request) {
	in := New(Options{})
	call := &adapters.Call{Op: op, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
	var batch adapters.Batch
	var out []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(req.Body()) + len(req.URI().QueryString())))
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(call, &batch); err != nil {
			b.Fatal(err)
		}
		for i, m := range batch.Messages {
			m.ID = "00000000-0000-7000-8000-000000000001"
			m.Seq = uint64(i)
		}
		_, out = in.Accepted(call, &batch, out[:0])
	}
}

func BenchmarkDecodeSendJSON(b *testing.B) {
	benchDecode(b, adapters.OpSend, benchRequest("POST", "/v1/send-sms",
		`{"destination": "5511900000000" , "messageText": "linha\nquebrada", "correlationId": "myId"}`))
}

func BenchmarkDecodeSendJSONAllFields(b *testing.B) {
	benchDecode(b, adapters.OpSend, benchRequest("POST", "/v1/send-sms",
		`{"destination":"5511900000000","messageText":"Olá João!\nSeu código é 1234.","correlationId":"order-7731",
		"extraInfo":"segment=vip","timeWindow":[9,10,11,18],"expiresDate":"2023-04-28T23:59:59",
		"scheduledDate":"2023-04-27T09:30:00","timeZone":"America/Sao_Paulo","campaignAlias":"black-friday",
		"flashSMS":true,"subAccount":"filial-sp"}`))
}

func BenchmarkDecodeSendQuery(b *testing.B) {
	benchDecode(b, adapters.OpSend, benchRequest("GET",
		"/v1/send-sms?destination=5511900000000&messageText=linha%0Aquebrada&correlationId=myId", ""))
}

func BenchmarkDecodeBulk100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"timeZone":"America/Sao_Paulo","defaultValues":{"messageText":"Default message"},"messages":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"destination":"55199%08d","correlationId":"c-%d"}`, i, i)
	}
	sb.WriteString("]}")
	benchDecode(b, adapters.OpBulk, benchRequest("POST", "/v1/send-bulk-sms", sb.String()))
}

func BenchmarkStatusRecord(b *testing.B) {
	m := &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", ClientRef: "myId", To: "5511900000000",
		Extra: map[string]string{"extraInfo": "segment=vip"}}
	h := []canonical.Change{{Status: canonical.StatusQueued, At: adaptertest.Now},
		{Status: canonical.StatusSent, At: adaptertest.Now}, {Status: canonical.StatusDelivered, At: adaptertest.Now}}
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		out = AppendStatusRecord(out[:0], m, h)
	}
}
