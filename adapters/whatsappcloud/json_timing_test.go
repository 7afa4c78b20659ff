package whatsappcloud

import (
	"testing"

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
