package whatsappcloud

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// The hand-written answer and request body against goccy/go-json writing the same bytes
// (adaptertest.CompareJSON).

var jsonMsg = &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", Seq: 1000, To: "5511900000000",
	Kind: canonical.KindText, Text: "Olá João! Seu pedido 7731 saiu para entrega.\nAcompanhe: https://example.com/t/7731"}

type goccyContact struct {
	Input string `json:"input"`
	WaID  string `json:"wa_id"`
}

type goccyID struct {
	ID            string `json:"id"`
	MessageStatus string `json:"message_status,omitempty"`
}

type goccyAnswer struct {
	MessagingProduct string         `json:"messaging_product"`
	Contacts         []goccyContact `json:"contacts"`
	Messages         []goccyID      `json:"messages"`
}

func BenchmarkJSONAccepted(b *testing.B) {
	adaptertest.CompareJSON(b, adaptertest.Answer(New(), jsonMsg), func(dst []byte) []byte {
		m := jsonMsg
		input := m.To
		if raw, ok := m.Extra["to"]; ok {
			input = raw
		}
		status := ""
		if m.Kind == canonical.KindTemplate {
			status = "accepted"
		}
		return adaptertest.MarshalGoccy(dst, goccyAnswer{"whatsapp", []goccyContact{{input, m.To}},
			[]goccyID{{string(appendWAMID(nil, m)), status}}})
	})
}

type goccyText struct {
	PreviewURL bool   `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

// goccySend is a text message of the messages request.
type goccySend struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    string    `json:"recipient_type"`
	To               string    `json:"to"`
	Type             string    `json:"type"`
	Text             goccyText `json:"text"`
	BizOpaque        string    `json:"biz_opaque_callback_data,omitempty"`
}

func BenchmarkJSONEncode(b *testing.B) {
	o := newOutbound(b, "", map[string]string{"token": "t", "phone_number_id": "123"})
	var req fasthttp.Request
	adaptertest.CompareJSON(b, adaptertest.Encoded(b, o, jsonMsg, &req), adaptertest.GoccyEncoded(&req, o.writeRequest, func() any {
		if strings.TrimSpace(jsonMsg.Text) == "" || runes(jsonMsg.Text) > maxTextChars {
			b.Fatal("bad text")
		}
		return goccySend{"whatsapp", "individual", jsonMsg.To, "text", goccyText{previewByDefault(jsonMsg.Text), jsonMsg.Text}, jsonMsg.ID}
	}))
}
