package flowbot

import (
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
)

var bearerHeaders = map[string]string{"Content-Type": "application/json", "Authorization": "Bearer FLOW_OUTBOUND_TOKEN_OR_JWT"}

func FuzzDecodeOutbound(f *testing.F) {
	adaptertest.Fuzz(f, newTest(), adapters.OpOutbound, "POST", "/api/webhook/outbound", bearerHeaders,
		`{"phone":"+972501234567","flowId":"flow-uuid","templateGroupId":"g","queue":true,"data":{"customerName":"John","templateLanguage":"he","templateParams":["123456"],"code":"123456"}}`,
		`{"phone":"0501234567","flowId":"f","data":{"templateId":"t","templateParams":[1,true,"x"],"n":{"a":[1,2]},"z":null}}`,
		`{"phone":"+972501234567","flowId":"f","data":{"templateParams":["1"],"\u05e9":"\ud83d\ude00"}}`,
		`{"phone":972501234567}`, `[]`, ``, `{"data":"x"}`)
}

func FuzzDecodeLead(f *testing.F) {
	adaptertest.Fuzz(f, newTest(), adapters.OpLead, "POST", "/api/webhook/flow/FLOW_ID/lead", bearerHeaders,
		`{"phone":"+972501234567","name":"John Doe","email":"[email protected]","source":"website","product":"Premium Plan"}`,
		`{"1":"a","phone":"0501234567","utm":{"s":"fb"},"n":null,"b":true,"x":1.5e3,"phone":"+972521234567"}`,
		`{"phone":null}`, `{}`, `"x"`)
}

func FuzzDecodeBulk(f *testing.F) {
	adaptertest.Fuzz(f, newTest(), adapters.OpBulk, "POST", "/api/templates/bulk-send", bearerHeaders,
		`{"templateId":"template-uuid","phones":["+972501234567","0521234567"],"flowId":"f","phoneNumberId":"p","allowMarketing":false,"forceSend":true}`,
		`{"templateName":"n","templateLanguage":"en","templateParams":["a",2],"phones":["+5511987654321"]}`,
		`{"templateGroupId":"g","phones":[]}`, `{"templateGroupId":"g","phones":[1]}`)
}

func FuzzDecodeToken(f *testing.F) {
	adaptertest.Fuzz(f, newTest(), adapters.OpToken, "POST", "/api/auth/api-token", map[string]string{"Content-Type": "application/json"},
		`{"clientId":"YOUR_CLIENT_ID","apiKey":"YOUR_API_KEY","ttlSec":3600}`, `{"clientId":"c","apiKey":"k","ttlSec":-1}`,
		`{"clientId":"c","apiKey":"k","ttlSec":1e99}`)
}

func FuzzDecodeCheckSent(f *testing.F) {
	// GET: the fuzzer's query string carries the request; the body is ignored.
	adaptertest.Fuzz(f, newTest(), adapters.OpCheckSent, "GET", "/api/templates/check-sent", bearerHeaders, ``)
}

func FuzzDecodeCheckSentPost(f *testing.F) {
	adaptertest.Fuzz(f, newTest(), adapters.OpCheckSent, "POST", "/api/templates/check-sent", bearerHeaders,
		`{"phones":["+972501234567","0521234567"],"templateName":"t","hours":48}`, `{"phones":["x"],"hours":"1"}`)
}

// FuzzScanner holds the body scanner to goccy/go-json: for any valid object, both must see
// the same members (last duplicate wins) with the same values.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,{"c":"]}"}],"a":"\"x\\"}`, ` { "k" : { "n" : null } } `, `{"\u0061":true,"":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		body := []byte(s)
		var want map[string]json.RawMessage
		if !json.Valid(body) || json.Unmarshal(body, &want) != nil || want == nil {
			return
		}
		got := map[string]string{}
		raw := trimValue(body)
		for it := members(raw); ; {
			k, v, ok := it.nextMember()
			if !ok {
				break
			}
			got[string(keyName(k))] = string(appendCompact(nil, v))
		}
		if len(got) != len(want) {
			t.Fatalf("scanner saw %d members, go-json %d: %s", len(got), len(want), s)
		}
		for k, v := range want {
			if got[k] != string(appendCompact(nil, v)) {
				t.Fatalf("member %q: scanner %s, go-json %s", k, got[k], v)
			}
		}
	})
}

// FuzzRoundTrip: whatever the outbound and lead endpoints accept, the FlowBot upstream
// sends on so that FlowBot (our own Inbound standing in) decodes the same message.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"phone":"+972501234567","flowId":"f","templateName":"t","queue":true,"data":{"templateLanguage":"he","templateParams":["1",2],"x":{"a":[1]}}}`,
		`{"phone":"0501234567","flowId":"f","data":{"templateId":5,"templateLanguage":7,"templateParams":["9"],"text":"hi"}}`,
		`{"phone":"+972501234567","flowId":"f","data":{"templateParams":["\u05e9"],"templateParams":null}}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	in := newTest()
	up, err := NewOutbound(adapters.UpstreamConfig{Name: "fb", URL: "https://flowbot.example.com", Credentials: map[string]string{"client_id": "c", "api_key": "k"}})
	if err != nil {
		f.Fatal(err)
	}
	a := up.(adapters.Authenticator)
	f.Fuzz(func(t *testing.T, body string, lead bool) {
		op, path := adapters.OpOutbound, "/api/webhook/outbound"
		if lead {
			op, path = adapters.OpLead, "/api/webhook/flow/FLOW_ID/lead"
		}
		req := &fasthttp.Request{}
		req.Header.SetMethod("POST")
		req.SetRequestURI(path)
		req.Header.Set("Authorization", "Bearer t")
		req.SetBodyString(body)
		var b adapters.Batch
		if in.Decode(&adapters.Call{Op: op, Req: req, Account: &adaptertest.TestAccount}, &b) != nil {
			return
		}
		want := b.Messages[0]
		out := &fasthttp.Request{}
		if err := a.EncodeAuthed(want, "t", out); err != nil {
			t.Fatalf("cannot encode a decoded message: %v", err)
		}
		var back adapters.Batch
		op = adapters.OpOutbound
		if strings.HasSuffix(string(out.URI().Path()), "/lead") {
			op = adapters.OpLead
		}
		if err := in.Decode(&adapters.Call{Op: op, Req: out, Account: &adaptertest.TestAccount}, &back); err != nil {
			t.Fatalf("cannot decode what was encoded: %v\n%s", err, out.Body())
		}
		if got := back.Messages[0]; !reflect.DeepEqual(comparable(got), comparable(want)) {
			t.Fatalf("round trip changed the message\n got %s\nwant %s\nsent %s", mustJSON(got), mustJSON(want), out.Body())
		}
	})
}

// FuzzClassify: Classify decides every answer.
func FuzzClassify(f *testing.F) {
	out, err := NewOutbound(adapters.UpstreamConfig{URL: "https://flowbot.example.com",
		Credentials: map[string]string{"client_id": "c", "api_key": "k", "flow_id": "f"}})
	if err != nil {
		f.Fatal(err)
	}
	adaptertest.FuzzClassify(f, out, `{"success":true,"message":"Outbound flow triggered for +972501234567","flowId":"f"}`,
		`{"error":"Human-readable error message"}`)
}
