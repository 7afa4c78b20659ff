package flowbot

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

const (
	benchOutbound = `{"phone":"+972501234567","flowId":"a8b4ef2d-a8a4-4650-9414-ab6f335e01b4","templateGroupId":"YOUR_TEMPLATE_GROUP_ID","queue":true,` +
		`"data":{"customerName":"John Doe","templateLanguage":"he","templateParams":["123456"],"code":"123456","phoneNumberId":"YOUR_META_PHONE_NUMBER_ID","sourceRef":"crm-lead-90210","campaignId":"recruitment-march"}}`
	benchLead = `{"phone":"+972501234567","name":"John Doe","email":"[email protected]","source":"website","product":"Premium Plan"}`
)

func benchCall(op adapters.Op, method, uri, body string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig")
	req.SetBodyString(body)
	return &adapters.Call{Op: op, Req: req, Param: "FLOW_ID", Now: adaptertest.Now, Account: &adaptertest.TestAccount}
}

// benchDecode decodes and answers one request per iteration, reusing the batch and the
// answer buffer as the gateway does.
func benchDecode(b *testing.B, c *adapters.Call) {
	in := newTest()
	var batch adapters.Batch
	var dst []byte
	b.SetBytes(int64(len(c.Req.Body())))
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(c, &batch); err != nil {
			b.Fatal(err)
		}
		_, dst = in.Accepted(c, &batch, dst[:0])
	}
}

func BenchmarkOutbound(b *testing.B) {
	benchDecode(b, benchCall(adapters.OpOutbound, "POST", "/api/webhook/outbound", benchOutbound))
}

func BenchmarkLead(b *testing.B) {
	benchDecode(b, benchCall(adapters.OpLead, "POST", "/api/webhook/flow/FLOW_ID/lead", benchLead))
}

func BenchmarkBulk100(b *testing.B) {
	phones := make([]string, 100)
	for i := range phones {
		phones[i] = fmt.Sprintf(`"+9725012%05d"`, i)
	}
	body := `{"templateId":"template-uuid","flowId":"f","phoneNumberId":"p","phones":[` + strings.Join(phones, ",") + `]}`
	benchDecode(b, benchCall(adapters.OpBulk, "POST", "/api/templates/bulk-send", body))
}

func BenchmarkCheckSentGet(b *testing.B) {
	benchDecode(b, benchCall(adapters.OpCheckSent, "GET", "/api/templates/check-sent?phones=%2B972501234567,%2B972521234567&templateName=t", ""))
}

func BenchmarkParseTokenRequest(b *testing.B) {
	c := benchCall(adapters.OpToken, "POST", "/api/auth/api-token", `{"clientId":"YOUR_CLIENT_ID","apiKey":"YOUR_API_KEY","ttlSec":3600}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ParseTokenRequest(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyToken(b *testing.B) {
	tok, _ := IssueToken(testSecret, "aiflow_acme", "acme", time.Hour, adaptertest.Now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyToken(testSecret, tok, adaptertest.Now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckSignature(b *testing.B) {
	body := []byte(benchLead)
	sig := "sha256=3f8b2ed2b0a55a2b2b9e0a3c1d6e2f8b2ed2b0a55a2b2b9e0a3c1d6e2f8b2ed2"
	b.ReportAllocs()
	for b.Loop() {
		CheckSignature(body, sig, []byte("secret"))
	}
}

func BenchmarkEncodeAuthed(b *testing.B) {
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "fb", URL: "https://flowbot.example.com", Credentials: map[string]string{"client_id": "c", "api_key": "k", "flow_id": "f"}})
	if err != nil {
		b.Fatal(err)
	}
	a := o.(adapters.Authenticator)
	m := &canonical.Message{Dialect: Dialect, To: "972501234567", Kind: canonical.KindTemplate, FlowID: "a8b4ef2d-a8a4-4650-9414-ab6f335e01b4",
		Template: &canonical.Template{GroupID: "YOUR_TEMPLATE_GROUP_ID", Language: "he", Params: []string{"123456"}},
		Vars:     map[string]string{"customerName": "John Doe", "templateLanguage": "he", "code": "123456", "otpCode": "123456", "sourceRef": "crm-lead-90210"},
		Extra:    map[string]string{"queue": "true"}}
	req := &fasthttp.Request{}
	b.ReportAllocs()
	for b.Loop() {
		req.Reset()
		if err := a.EncodeAuthed(m, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig", req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	o, _ := NewOutbound(adapters.UpstreamConfig{Name: "fb", URL: "https://flowbot.example.com", Credentials: map[string]string{"token": "t"}})
	m := &canonical.Message{ID: "0190f5e2-0000-7000-8000-000000000001"}
	resp := &fasthttp.Response{}
	resp.SetBodyString(`{"success":true,"message":"Outbound flow triggered for +972501234567","flowId":"your-flow-uuid"}`)
	b.ReportAllocs()
	for b.Loop() {
		if r := o.Classify(m, resp); r.Outcome != adapters.Sent {
			b.Fatal(r)
		}
	}
}
