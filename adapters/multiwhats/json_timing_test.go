package multiwhats

import (
	"testing"

	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// The hand-written answer and request body against goccy/go-json writing the same bytes
// (adaptertest.CompareJSON).

var jsonMsg = &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", Seq: 1000, To: "5511900000000",
	From: "5511911112222", Kind: canonical.KindText, CreatedAt: adaptertest.Now,
	Text: "Olá João! Seu pedido 7731 saiu para entrega.\nAcompanhe: https://example.com/t/7731"}

// goccyExtra is a queue record's extra_data.
type goccyExtra struct {
	Buttons        []string `json:"buttons"`
	Options        []string `json:"options"`
	SelectedItemID *string  `json:"selectedItemId"`
}

type goccyTarget struct {
	ID               uint64     `json:"id"`
	UserID           int        `json:"user_id"`
	QueueID          uint64     `json:"queue_id"`
	TargetIdentifier string     `json:"target_identifier"`
	Message          *string    `json:"message"`
	Status           string     `json:"status"`
	ExtraData        goccyExtra `json:"extra_data"`
	CreatedAt        string     `json:"created_at"`
	UpdatedAt        string     `json:"updated_at"`
}

// goccyRecord is the queue record Accepted writes, field for field.
type goccyRecord struct {
	UserID               int           `json:"user_id"`
	SocialMediaAccountID int           `json:"social_media_account_id"`
	Platform             string        `json:"platform"`
	FromIdentifier       string        `json:"from_identifier"`
	Message              *string       `json:"message"`
	FileURL              any           `json:"file_url"`
	QueueType            string        `json:"queue_type"`
	MessageType          string        `json:"message_type"`
	TotalCredit          int           `json:"total_credit"`
	TargetCount          int           `json:"target_count"`
	PendingCount         int           `json:"pending_count"`
	SentCount            int           `json:"sent_count"`
	DeliveredCount       int           `json:"delivered_count"`
	NotDeliveredCount    int           `json:"not_delivered_count"`
	SeenCount            int           `json:"seen_count"`
	Status               string        `json:"status"`
	SendAt               string        `json:"send_at"`
	CreatedAt            string        `json:"created_at"`
	UpdatedAt            string        `json:"updated_at"`
	ExtraData            goccyExtra    `json:"extra_data"`
	ID                   uint64        `json:"id"`
	Targets              []goccyTarget `json:"targets"`
}

func BenchmarkJSONAccepted(b *testing.B) {
	adaptertest.CompareJSON(b, adaptertest.Answer(New(Options{}), jsonMsg), func(dst []byte) []byte {
		m, acct := jsonMsg, &adaptertest.TestAccount
		ts := m.CreatedAt.UTC().Format(timeLayout)
		var text *string
		if m.Text != "" {
			text = &m.Text
		}
		var file any = 0
		if len(m.Media) > 0 {
			file = m.Media[0].URL
		}
		typ := m.Extra["type"]
		if typ == "" {
			typ = typeOf(m.Kind)
		}
		return adaptertest.MarshalGoccy(dst, goccyRecord{UserID: acct.UserID, SocialMediaAccountID: acct.AccountID,
			Platform: "whatsapp", FromIdentifier: m.From, Message: text, FileURL: file, QueueType: "normal",
			MessageType: typ, TotalCredit: 1, TargetCount: 1, SentCount: 1, Status: "done",
			SendAt: ts, CreatedAt: ts, UpdatedAt: ts, ExtraData: goccyExtra{Buttons: m.Buttons, Options: m.Options},
			ID: m.Seq, Targets: []goccyTarget{{ID: m.Seq, UserID: acct.UserID, QueueID: m.Seq, TargetIdentifier: m.To,
				Status: "sent", CreatedAt: ts, UpdatedAt: ts}}})
	})
}
