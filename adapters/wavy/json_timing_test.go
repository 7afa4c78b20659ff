package wavy

import (
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// The hand-written answers, status record and request body against goccy/go-json writing
// the same bytes (adaptertest.CompareJSON).

var jsonMsg = &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", Seq: 1000, To: "5511900000000",
	ClientRef: "order-7731", Dialect: Dialect, Text: "Olá João! Seu pedido 7731 saiu para entrega.\nAcompanhe: https://example.com/t/7731",
	Extra: map[string]string{"extraInfo": "segment=vip", "carrierId": "5", "carrierName": "VIVO"}}

type goccySingle struct {
	ID            string `json:"id"`
	CorrelationID string `json:"correlationId,omitempty"`
}

func BenchmarkJSONAccepted(b *testing.B) {
	adaptertest.CompareJSON(b, adaptertest.Answer(New(Options{}), jsonMsg), func(dst []byte) []byte {
		return adaptertest.MarshalGoccy(dst, [1]goccySingle{{jsonMsg.ID, jsonMsg.ClientRef}})
	})
}

// goccyRecord is a status record, field for field; nil is null.
type goccyRecord struct {
	ID                  string  `json:"id"`
	CorrelationID       *string `json:"correlationId"`
	CarrierID           any     `json:"carrierId"`
	CarrierName         *string `json:"carrierName"`
	Destination         string  `json:"destination"`
	SentStatusCode      *int    `json:"sentStatusCode"`
	SentStatus          *string `json:"sentStatus"`
	SentStatusAt        *int64  `json:"sentStatusAt"`
	SentStatusDate      *string `json:"sentStatusDate"`
	DeliveredStatusCode *int    `json:"deliveredStatusCode"`
	DeliveredStatus     *string `json:"deliveredStatus"`
	DeliveredAt         *int64  `json:"deliveredAt"`
	DeliveredDate       *string `json:"deliveredDate"`
	CampaignID          any     `json:"campaignId"`
	ExtraInfo           *string `json:"extraInfo"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func numberOrString(s string) any {
	if _, ok := parseInt([]byte(s)); ok && s[0] != '+' && !(len(s) > 1 && s[0] == '0') {
		return json.Number(s)
	}
	return orNull(s)
}

func codeOf(code int) (*int, *string) {
	if code == 0 {
		return nil, nil
	}
	return &code, orNull(StatusName(code))
}

func atDate(t time.Time) (*int64, *string) {
	if t.IsZero() {
		return nil, nil
	}
	ms := t.UnixMilli()
	return &ms, orNull(t.UTC().Format(dateFormat))
}

func BenchmarkJSONStatusRecord(b *testing.B) {
	m := jsonMsg
	h := []canonical.Change{{Status: canonical.StatusQueued, At: adaptertest.Now},
		{Status: canonical.StatusSent, At: adaptertest.Now}, {Status: canonical.StatusDelivered, At: adaptertest.Now}}
	adaptertest.CompareJSON(b, func(dst []byte) []byte {
		return AppendStatusRecord(dst, m, h)
	}, func(dst []byte) []byte {
		s := statusOf(m, h)
		r := goccyRecord{ID: m.ID, CorrelationID: orNull(m.ClientRef), CarrierID: numberOrString(m.Extra["carrierId"]),
			CarrierName: orNull(m.Extra["carrierName"]), Destination: m.To, CampaignID: numberOrString(m.Extra["campaignId"]),
			ExtraInfo: orNull(m.Extra["extraInfo"])}
		r.SentStatusCode, r.SentStatus = codeOf(s.sentCode)
		r.SentStatusAt, r.SentStatusDate = atDate(s.sentAt)
		r.DeliveredStatusCode, r.DeliveredStatus = codeOf(s.deliveredCode)
		r.DeliveredAt, r.DeliveredDate = atDate(s.deliveredAt)
		return adaptertest.MarshalGoccy(dst, &r)
	})
}

// BenchmarkEncode is the single send's request, its body written by goccy: appending it by
// hand saved too little to stay (bench/RESULTS.md).
func BenchmarkEncode(b *testing.B) {
	o := adaptertest.Outbound[*Outbound](b, NewOutbound, upstreamCfg)
	var req fasthttp.Request
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Encode(jsonMsg, &req); err != nil {
			b.Fatal(err)
		}
	}
}
