package gateway

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// flowbotToken gets a JWT for the test tenant from the gateway's own api-token endpoint.
func flowbotToken(t *testing.T, base string) map[string]string {
	t.Helper()
	status, body := post(t, base+"/api/auth/api-token", nil, `{"clientId":"aiflow_acme","apiKey":"sk_demo"}`)
	m := regexp.MustCompile(`"accessToken":"([^"]+)"`).FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("api-token: %d %s", status, body)
	}
	return map[string]string{"Authorization": "Bearer " + m[1]}
}

// Bytes that would not arrive as sent are refused in each dialect's own error shape with
// the field named, and the native API refuses data after its JSON object, as the other
// dialects do (#18 point 6).
func TestBadBytesRefusedInDialectShape(t *testing.T) {
	base := startGateway(t, sandboxRoute)
	fb := flowbotToken(t, base)
	const mfUUID = `"UUID":"6a708fea-a4d0-4976-a180-9f3bdd3de52e","ToMobileNumber":"0501234567","ToCountryCode":"972"`
	cases := []struct {
		name, uri string
		auth      map[string]string
		body      string
		status    int
		want      string // the answer contains this
	}{
		{"native trailing garbage", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"hi"}}}garbage`, 400, `"code":"invalid","message":"cannot parse JSON body: unexpected data after the JSON object`},
		{"native two objects", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"hi"}{"to":"+972501234567","text":"hi"}`, 400, `unexpected data after the JSON object`},
		{"native bad UTF-8", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"h` + "\xff" + `i"}`, 400, `"field":"text","message":"text: is not valid UTF-8`},
		{"native NUL", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"a\u0000b"}`, 400, `"field":"text","message":"text: contains a NUL character`},
		{"native NUL in a button", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"a","buttons":["x\u0000"]}`, 400, `"field":"buttons[0]"`},
		{"native lone surrogate", "/gateway/v1/messages", nativeAuth, `{"to":"+972501234567","text":"a\ud800"}`, 400, `lone surrogate`},
		{"messageflow bad UTF-8", "/add_message", nil, `{` + mfUUID + `,"Message":"h` + "\xc3" + `"}`, 400, `{"success":false,"error":"Message: is not valid UTF-8`},
		{"messageflow NUL", "/add_message", nil, `{` + mfUUID + `,"Message":"a\u0000b"}`, 400, `{"success":false,"error":"Message: contains a NUL character`},
		{"wavy bad UTF-8", "/v1/send-sms", wavyAuth, `{"destination":"5511987000001","messageText":"h` + "\xff" + `"}`, 400, `{"errorCode":400,"errorMessage":"messageText: is not valid UTF-8`},
		{"wavy bulk NUL", "/v1/send-bulk-sms", wavyAuth, `{"messages":[{"destination":"5511987000001","messageText":"ok"},{"destination":"5511987000002","messageText":"a\u0000"}]}`, 400, `"errorMessage":"messages[1].messageText: contains a NUL character`},
		{"multiwhats NUL", mwURI, nil, `{"from":"908503080335","to":"905374937766","message":"a\u0000b","type":"button","buttons":["Yes"]}`, 422, `{"message":"The message field contains a NUL character (U+0000).","errors":{"message":[`},
		{"flowbot bad UTF-8", "/api/webhook/outbound", fb, `{"phone":"+972501234567","flowId":"f1","data":{"name":"h` + "\xff" + `"}}`, 400, `{"error":"data.name is not valid UTF-8`},
		{"flowbot NUL", "/api/webhook/outbound", fb, `{"phone":"+972501234567","flowId":"f1","data":{"tags":["a","b\u0000"]}}`, 400, `{"error":"data.tags[1] contains a NUL character`},
	}
	for _, c := range cases {
		status, answer := post(t, base+c.uri, c.auth, c.body)
		if status != c.status || !strings.Contains(answer, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, status, answer, c.status, c.want)
		}
	}
	// The query and form entry points refuse NUL too (%00).
	q := url.Values{"UUID": {"6a708fea-a4d0-4976-a180-9f3bdd3de52e"}, "ToMobileNumber": {"0501234567"}, "ToCountryCode": {"972"}, "wapMessage": {"a\x00b"}}
	if status, answer := post(t, base+"/webhook/add_message?"+q.Encode(), nil, ""); status != 400 || !strings.Contains(answer, `"wapMessage: contains a NUL character`) {
		t.Errorf("messageflow query NUL: %d %s", status, answer)
	}
	// What is right still goes through: an escaped backslash before u0000 is text, and a
	// surrogate pair is one character.
	for _, body := range []string{`{"to":"+972501234567","text":"a\\u0000b"}`, `{"to":"+972501234567","text":"\ud83d\ude00"}` + "\n"} {
		if status, answer := post(t, base+"/gateway/v1/messages", nativeAuth, body); status >= 300 {
			t.Errorf("%s: %d %s, want it accepted", body, status, answer)
		}
	}
}
