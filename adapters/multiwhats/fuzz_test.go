package multiwhats

import (
	"os"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func FuzzDecodeSend(f *testing.F) {
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "POST", sendPath,
		map[string]string{"Content-Type": "application/json"},
		`{"from":"908503080335","to":"905374937766","message":"Hi \n","type":"button","buttons":["Yes","No"],"apikey":"k"}`,
		`{"from":"908503080335","to":"905374937766","message":"Hi","type":"list","options":["a","b"]}`,
		`{"from":"908503080335","to":"905374937766","type":"image","file_url":"https://a.example/x.png"}`,
		`{"from":"908503080335","to":"905374937766","message":"Hi","file_url":0,"apikey":5}`,
		`{"to":905374937766,"buttons":[1,{}],"message":null}`,
		`[]`, ``, `null`)
}

// FuzzClassify feeds arbitrary answers to Classify: it must never panic, and must always
// decide.
func FuzzClassify(f *testing.F) {
	doc, _ := os.ReadFile("testdata/doc_response.json")
	f.Add(200, string(doc), "")
	f.Add(422, `{"message":"The to field is required.","errors":{"to":["The to field is required."]}}`, "")
	f.Add(429, `{"message":"Too Many Attempts."}`, "60")
	f.Add(503, `<html>`, "Wed, 21 Oct 2015 07:28:00 GMT")
	out, _ := NewOutbound(adapters.UpstreamConfig{Credentials: map[string]string{"apikey": "k"}})
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		resp := &fasthttp.Response{}
		resp.SetStatusCode(status)
		resp.Header.Set("Retry-After", retry)
		resp.SetBody([]byte(body))
		r := out.Classify(&canonical.Message{}, resp)
		if r.Outcome > adapters.Permanent || r.RetryAfter < 0 || len(r.Reason) > maxReasonBytes {
			t.Fatalf("status %d: %+v", status, r)
		}
	})
}
