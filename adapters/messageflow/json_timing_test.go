package messageflow

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// The hand-written answer and request body against goccy/go-json writing the same bytes
// (adaptertest.CompareJSON).

var jsonMsg = &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", Seq: 1000, To: "972501234567",
	From: "972521112222", Text: "שלום דנה! ההזמנה שלך מספר 7731 יצאה למשלוח.\nלמעקב: https://example.com/t/7731"}

func BenchmarkJSONAccepted(b *testing.B) {
	adaptertest.CompareJSON(b, adaptertest.Answer(New(Options{}), jsonMsg), func(dst []byte) []byte {
		return adaptertest.MarshalGoccy(dst, struct {
			Success bool   `json:"success"`
			ID      string `json:"id"`
		}{true, jsonMsg.ID})
	})
}

// goccyBody is the add_message body as goccy writes it: Message is the percent-encoded
// text, which holds nothing JSON escapes.
type goccyBody struct {
	UUID             string `json:"UUID"`
	ToMobileNumber   string `json:"ToMobileNumber"`
	FromMobileNumber string `json:"FromMobileNumber,omitempty"`
	Message          string `json:"Message"`
	DownloadLink     string `json:"DownloadLink,omitempty"`
}

func BenchmarkJSONEncode(b *testing.B) {
	o := adaptertest.Outbound[*Outbound](b, NewOutbound, adapters.UpstreamConfig{Name: "mf",
		URL: "https://api-messageflow.flow-il.com", Credentials: map[string]string{"uuid": testUUID}})
	var req fasthttp.Request
	adaptertest.CompareJSON(b, adaptertest.Encoded(b, o, jsonMsg, &req), adaptertest.GoccyEncoded(&req, o.writeRequest, func() any {
		text, link, err := content(jsonMsg)
		if err != nil {
			b.Fatal(err)
		}
		from := ""
		if isDigits(jsonMsg.From) {
			from = jsonMsg.From
		}
		return goccyBody{o.uuid, jsonMsg.To, from, string(percentEncode(make([]byte, 0, 3*len(text)), text)), link}
	}))
}
