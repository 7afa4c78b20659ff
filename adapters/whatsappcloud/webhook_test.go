package whatsappcloud

import (
	"reflect"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// metaWebhook is a status webhook as Meta posts it: a delivered receipt with its
// conversation and pricing, a read receipt and a failure, in two changes of one entry, and
// an incoming message that carries no status.
const metaWebhook = `{
  "object": "whatsapp_business_account",
  "entry": [{
    "id": "102290129340398",
    "changes": [{
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{
          "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
          "status": "delivered",
          "timestamp": "1750263773",
          "recipient_id": "16505551234",
          "conversation": {"id": "6ceb9d929c1a4ac4b8e3e4ab1d5cdf0e", "origin": {"type": "marketing"}},
          "pricing": {"billable": true, "pricing_model": "CBP", "category": "marketing"}
        }, {
          "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
          "status": "read",
          "timestamp": "1750263780",
          "recipient_id": "16505551234"
        }]
      },
      "field": "messages"
    }, {
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{
          "id": "wamid.HBgMOTcyNTAxMjM0NTY3FQIAERgSQzVGOTlFMzExQ0VCQTg0MUFCAA==",
          "status": "failed",
          "timestamp": "1750263800",
          "recipient_id": "972501234567",
          "errors": [{
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
          }]
        }, {
          "id": "wamid.other",
          "status": "deleted",
          "timestamp": "1750263801",
          "recipient_id": "972501234567"
        }]
      },
      "field": "messages"
    }, {
      "value": {"messaging_product": "whatsapp", "messages": [{"from": "16505551234", "id": "wamid.in", "timestamp": "1750263802", "type": "text", "text": {"body": "hi"}}]},
      "field": "messages"
    }, {
      "value": {"event": "FLAGGED"},
      "field": "phone_number_quality_update"
    }]
  }]
}`

var metaStatuses = []Status{
	{MessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", RecipientID: "16505551234",
		Status: canonical.StatusDelivered, At: time.Unix(1750263773, 0).UTC()},
	{MessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", RecipientID: "16505551234",
		Status: canonical.StatusRead, At: time.Unix(1750263780, 0).UTC()},
	{MessageID: "wamid.HBgMOTcyNTAxMjM0NTY3FQIAERgSQzVGOTlFMzExQ0VCQTg0MUFCAA==", RecipientID: "972501234567",
		Status: canonical.StatusFailed, At: time.Unix(1750263800, 0).UTC(), Code: "131026",
		Reason: "Message undeliverable: Message Undeliverable."},
}

func TestParseStatusWebhook(t *testing.T) {
	got, err := ParseStatusWebhook([]byte(metaWebhook))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, metaStatuses) {
		t.Errorf("got  %+v\nwant %+v", got, metaStatuses)
	}
	none, err := ParseStatusWebhook([]byte(`{"object":"whatsapp_business_account","entry":[]}`))
	if err != nil || len(none) != 0 {
		t.Errorf("empty webhook: %v %v", none, err)
	}
	// A sent receipt, with the timestamp as a number.
	sent, err := ParseStatusWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",` +
		`"value":{"statuses":[{"id":"wamid.x","status":"sent","timestamp":1700000000,"recipient_id":"5511987654321"}]}}]}]}`))
	if err != nil || len(sent) != 1 || sent[0].Status != canonical.StatusSent || !sent[0].At.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("sent: %+v %v", sent, err)
	}
	for name, body := range map[string]string{
		"not JSON":       `{"object":`,
		"other object":   `{"object":"page","entry":[]}`,
		"no object":      `{"entry":[]}`,
		"bad timestamp":  `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"sent","timestamp":"yesterday"}]}}]}]}`,
		"no id":          `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"sent","timestamp":"1"}]}}]}]}`,
		"entry a string": `{"object":"whatsapp_business_account","entry":"x"}`,
	} {
		_, err := ParseStatusWebhook([]byte(body))
		if ce, ok := err.(*canonical.Error); !ok || ce.Code != canonical.ErrInvalid {
			t.Errorf("%s: error %#v", name, err)
		}
	}
}

func TestAppendStatusWebhook(t *testing.T) {
	body := AppendStatusWebhook(nil, "106540352242922", metaStatuses)
	want := `{"object":"whatsapp_business_account","entry":[{"id":"106540352242922","changes":[{"value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"106540352242922","phone_number_id":"106540352242922"},"statuses":[` +
		`{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234"},` +
		`{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"read","timestamp":"1750263780","recipient_id":"16505551234"},` +
		`{"id":"wamid.HBgMOTcyNTAxMjM0NTY3FQIAERgSQzVGOTlFMzExQ0VCQTg0MUFCAA==","status":"failed","timestamp":"1750263800","recipient_id":"972501234567",` +
		`"errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."}}]}` +
		`]},"field":"messages"}]}]}`
	if string(body) != want {
		t.Errorf("body:\n got %s\nwant %s", body, want)
	}
	back, err := ParseStatusWebhook(body)
	if err != nil || !reflect.DeepEqual(back, metaStatuses) {
		t.Errorf("round trip: %+v %v", back, err)
	}
	// A failure without a reason or a numeric code still renders Meta's shape.
	odd := AppendStatusWebhook([]byte("x"), "1", []Status{{MessageID: "wamid.1", Status: canonical.StatusFailed, At: time.Unix(5, 0), Code: "E1"}})
	var v map[string]any
	if err := json.Unmarshal(odd[1:], &v); err != nil || odd[0] != 'x' {
		t.Fatalf("%s: %v", odd, err)
	}
	back, _ = ParseStatusWebhook(odd[1:])
	if len(back) != 1 || back[0].Code != "131000" || back[0].Reason != failedTitle {
		t.Errorf("odd failure: %+v", back)
	}
}

func TestCheckSignature(t *testing.T) {
	secret := []byte("app-secret-123")
	body := []byte(metaWebhook)
	sig := Signature(body, secret)
	if len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q", sig)
	}
	if !CheckSignature(body, sig, secret) {
		t.Error("own signature refused")
	}
	if !CheckSignature(body, " "+sig+" ", secret) {
		t.Error("surrounding spaces refused")
	}
	upper := "sha256=" + string(bytesToUpper([]byte(sig[7:])))
	if !CheckSignature(body, upper, secret) {
		t.Error("upper-case hex refused")
	}
	for name, c := range map[string]struct {
		body   []byte
		header string
		secret []byte
	}{
		"other body":   {append([]byte(nil), append(body, ' ')...), sig, secret},
		"other secret": {body, sig, []byte("app-secret-124")},
		"no prefix":    {body, sig[7:], secret},
		"sha1 prefix":  {body, "sha1=" + sig[7:], secret},
		"short":        {body, sig[:len(sig)-2], secret},
		"not hex":      {body, "sha256=" + string(make([]byte, 64)), secret},
		"empty":        {body, "", secret},
		"empty secret": {body, Signature(body, nil), nil},
	} {
		if CheckSignature(c.body, c.header, c.secret) {
			t.Errorf("%s: accepted", name)
		}
	}
	// A known vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
	const fox = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if !CheckSignature([]byte("The quick brown fox jumps over the lazy dog"), fox, []byte("key")) {
		t.Error("known test vector refused")
	}
}

func bytesToUpper(b []byte) []byte {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

func TestVerifyChallenge(t *testing.T) {
	if got, ok := VerifyChallenge("subscribe", "vt-1", "1158201444", "vt-1"); !ok || got != "1158201444" {
		t.Errorf("handshake: %q %v", got, ok)
	}
	for _, c := range [][4]string{
		{"subscribe", "vt-2", "1", "vt-1"},
		{"unsubscribe", "vt-1", "1", "vt-1"},
		{"", "vt-1", "1", "vt-1"},
		{"subscribe", "", "1", ""},
		{"subscribe", "vt-1", "1", ""},
	} {
		if got, ok := VerifyChallenge(c[0], c[1], c[2], c[3]); ok || got != "" {
			t.Errorf("%q: %q %v", c, got, ok)
		}
	}
}

// TestCallbackData: Encode sends the message id as biz_opaque_callback_data, the simulator
// reads it back, and a status webhook carrying it parses back to the id.
func TestCallbackData(t *testing.T) {
	o := newOutbound(t, "http://127.0.0.1:9101", testCreds)
	m := canonical.Message{ID: "01a1f0e2-0000-7000-8000-000000000001", To: "5511987654321", Text: "oi"}
	var req fasthttp.Request
	if err := o.Encode(&m, &req); err != nil {
		t.Fatal(err)
	}
	want := head("5511987654321") + `,"type":"text","text":{"body":"oi"},"biz_opaque_callback_data":"` + m.ID + `"}`
	if got := string(req.Body()); got != want {
		t.Fatalf("body:\n got %s\nwant %s", got, want)
	}
	var b adapters.Batch
	call := &adapters.Call{Op: adapters.OpSend, Req: &req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
	if err := New().Decode(call, &b); err != nil || b.Messages[0].Extra["biz_opaque_callback_data"] != m.ID {
		t.Fatalf("decoded: %+v %v", b.Messages, err)
	}
	st := []Status{{MessageID: "wamid.x", RecipientID: m.To, Status: canonical.StatusDelivered, At: time.Unix(1750263773, 0).UTC(), CallbackData: m.ID}}
	got, err := ParseStatusWebhook(AppendStatusWebhook(nil, testPhoneID, st))
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}
