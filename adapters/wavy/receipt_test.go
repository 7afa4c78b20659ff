package wavy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

var receiptNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseReceipts(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []adapters.Receipt
		err        string
	}{
		{"sent callback", `{"id":"v-1","correlationId":"our-1","carrierId":1,"carrierName":"VIVO","destination":"5511900000001",
			"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentAt":1740830400000,"sentDate":"2025-03-01T12:00:00Z","campaignId":null,"extraInfo":null}`,
			[]adapters.Receipt{{ID: "our-1", UpstreamID: "v-1", Change: canonical.Change{Status: canonical.StatusSent, At: receiptNow}}}, ""},
		{"delivery receipt", `{"id":"v-1","correlationId":"our-1","sentStatusCode":2,"sentStatus":"SENT_SUCCESS",
			"sentStatusAt":1740830400000,"deliveredStatusCode":4,"deliveredStatus":"DELIVERED_SUCCESS","deliveredAt":1740830405000}`,
			[]adapters.Receipt{{ID: "our-1", UpstreamID: "v-1", Change: canonical.Change{Status: canonical.StatusDelivered, At: receiptNow.Add(5 * time.Second)}}}, ""},
		{"not delivered, codes as strings", `{"id":"v-2","sentStatusCode":"2","deliveredStatusCode":"104","deliveredStatus":"NOT_DELIVERED"}`,
			[]adapters.Receipt{{UpstreamID: "v-2", Change: canonical.Change{Status: canonical.StatusFailed, At: receiptNow, Code: "104", Reason: "NOT_DELIVERED"}}}, ""},
		{"carrier refused, no name", `[{"correlationId":"our-3","sentStatusCode":202,"deliveredStatusCode":null}]`,
			[]adapters.Receipt{{ID: "our-3", Change: canonical.Change{Status: canonical.StatusFailed, At: receiptNow, Code: "202", Reason: "INVALID_DESTINATION_NUMBER"}}}, ""},
		{"expired", `{"id":"v-4","sentStatusCode":101,"sentStatus":"EXPIRED"}`,
			[]adapters.Receipt{{UpstreamID: "v-4", Change: canonical.Change{Status: canonical.StatusExpired, At: receiptNow, Code: "101", Reason: "EXPIRED"}}}, ""},
		{"no ids", `{"sentStatusCode":2}`, nil, "id or correlationId"},
		{"no codes", `{"id":"v-5"}`, nil, "status code"},
		{"not json", `id=1`, nil, "cannot parse"},
		{"empty", ``, nil, "empty"},
		{"empty array", `[]`, nil, "no receipt"},
	} {
		got, err := ParseReceipts([]byte(tc.body), receiptNow)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(got, tc.want, adapters.Receipt.Equal) {
			t.Errorf("%s: %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestParseReceiptsRoundTrip: what the Wavy adapter renders as callbacks (and the simulator
// posts) parses back to the statuses it came from.
func TestParseReceiptsRoundTrip(t *testing.T) {
	m := &canonical.Message{ID: "v-9", ClientRef: "our-9", To: "5511900000009", Dialect: Dialect}
	hist := []canonical.Change{{Status: canonical.StatusSent, At: receiptNow}, {Status: canonical.StatusDelivered, At: receiptNow.Add(time.Second)}}
	for _, tc := range []struct {
		body []byte
		want canonical.Status
		at   time.Time
	}{
		{AppendSentCallback(nil, m, hist[:1]), canonical.StatusSent, receiptNow},
		{AppendDeliveryCallback(nil, m, hist), canonical.StatusDelivered, receiptNow.Add(time.Second)},
	} {
		got, err := ParseReceipts(tc.body, time.Time{})
		if err != nil || len(got) != 1 || got[0].ID != "our-9" || got[0].UpstreamID != "v-9" ||
			got[0].Change.Status != tc.want || !got[0].Change.At.Equal(tc.at) {
			t.Errorf("%s: %+v %v", tc.body, got, err)
		}
	}
}
